// Jest set-up file after the framework (jest.config.js `setupFilesAfterEnv`). pg 8 queues a
// query sent to a client that is still busy with others, with a deprecation warning; pg 9
// refuses it. Such a query anywhere in a test file's process fails that file: the check is
// pg's own (`client.js`, before its `queryQueueLengthDeprecationNotice`).
import pg from 'pg';

type Busy = pg.Client & { _queryQueue: unknown[]; pipeline?: boolean };
const concurrent: string[] = [];
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: Busy, ...args: unknown[]) {
  if (this._queryQueue.length > 0 && !this.pipeline) concurrent.push(new Error('a query sent to a pg client busy with another').stack!);
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

afterAll(() => {
  expect(concurrent).toEqual([]);
});
