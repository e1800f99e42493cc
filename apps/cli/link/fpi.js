#!/usr/bin/env node
// Runs the compiled CLI (the root package's `prepare` script builds it on npm install).
await import('../../../dist/apps/cli/src/main.js');
