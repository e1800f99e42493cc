import { PartitionStatistics } from './partition-statistics.js';

/** A pool that records its statements and settles each when told. */
function recordingPool(fail = false) {
  const statements: string[] = [];
  const settle: (() => void)[] = [];
  const pool = {
    query: (text: string) => {
      statements.push(text);
      return new Promise((resolve, reject) => settle.push(() => (fail ? reject(new Error('must be owner of table')) : resolve({ rows: [] }))));
    },
  };
  const flush = async () => {
    for (const s of settle.splice(0)) s();
    await new Promise((r) => setImmediate(r));
  };
  return { pool: pool as never, statements, flush };
}

describe('PartitionStatistics: ANALYZE a fast-growing partition at 1,000, 10,000, 100,000 … appended events', () => {
  it('analyses at each step of ten and not in between, per tenant', async () => {
    const { pool, statements, flush } = recordingPool();
    const stats = new PartitionStatistics(pool);
    for (let i = 0; i < 999; i++) stats.appended('974760673', 1);
    expect(statements).toEqual([]);
    stats.appended('974760673', 1);
    expect(statements).toEqual(['ANALYZE "events_974760673"']);
    await flush();
    stats.appended('974760673', 8_999);
    stats.appended('313231593', 500);
    expect(statements).toHaveLength(1);
    stats.appended('974760673', 500); // 10,500 ≥ 10,000
    stats.appended('313231593', 500); // the other tenant's first 1,000
    expect(statements).toEqual(['ANALYZE "events_974760673"', 'ANALYZE "events_974760673"', 'ANALYZE "events_313231593"']);
    await flush();
    stats.appended('974760673', 90_000); // 100,500 < 105,000: the step is ten times the count at the last ANALYZE
    expect(statements).toHaveLength(3);
    stats.appended('974760673', 4_500);
    expect(statements).toHaveLength(4);
  });

  it('runs one ANALYZE at a time per tenant, takes a step passed meanwhile on the next append, and ignores a failed one', async () => {
    const { pool, statements, flush } = recordingPool(true);
    const stats = new PartitionStatistics(pool, 10, 2);
    stats.appended('974760673', 10);
    stats.appended('974760673', 100); // past the next step, but the first is still running
    expect(statements).toHaveLength(1);
    await flush(); // rejected: no unhandled rejection
    // The step passed while the first ran (20) is taken by the next append.
    stats.appended('974760673', 1);
    expect(statements).toHaveLength(2);
  });
});
