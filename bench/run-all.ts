// `npm run bench`: every benchmark in bench/, one after another, each on its own embedded server.
await import('./append/append.bench.js');
await import('./receive/receive.bench.js');
await import('./content/content.bench.js');
await import('./peer/emmett-append.bench.js');
