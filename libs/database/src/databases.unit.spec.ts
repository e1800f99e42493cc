import { parseDatabaseSettings } from './databases.js';

describe('FPI_DATABASES', () => {
  it('reads names to URLs, or to a primary and a read replica', () => {
    const parsed = parseDatabaseSettings(JSON.stringify({ 'kommune-b': 'postgres://b/fpi', oslo: { url: 'postgresql://o/fpi', readUrl: 'postgres://o-replica/fpi' } }));
    expect([...parsed]).toEqual([
      ['kommune-b', { url: 'postgres://b/fpi', readUrl: undefined }],
      ['oslo', { url: 'postgresql://o/fpi', readUrl: 'postgres://o-replica/fpi' }],
    ]);
    expect(parseDatabaseSettings(undefined).size).toBe(0);
    expect(parseDatabaseSettings('  ').size).toBe(0);
  });

  it.each([
    ['not json', /JSON object/],
    ['[]', /JSON object/],
    ['{"default": "postgres://x/y"}', /"default" is not a database name/],
    ['{"Big Name": "postgres://x/y"}', /not a database name/],
    ['{"b": "mysql://x/y"}', /FPI_DATABASES.b: url must be a postgres:\/\/ URL/],
    ['{"b": {"url": "postgres://x/y", "readUrl": 5}}', /FPI_DATABASES.b: readUrl/],
  ])('refuses %s with a message naming the problem', (value, message) => {
    expect(() => parseDatabaseSettings(value)).toThrow(message);
  });
});
