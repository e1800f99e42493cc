export * from './database.js';
export * from './database.module.js';
export * from './embedded-postgres.js';
export * from './migrate.js';
export * from './package-root.js';
export * from './transaction.js';
export * from './runtime-file.js';
export * from './databases.js';
