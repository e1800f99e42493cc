import { checkpointOfColumns, compareCheckpoints, formatCheckpoint, InvalidCheckpointError, parseCheckpoint, START } from './checkpoint.js';
import { tenantId, InvalidTenantIdError } from '#libs/tenancy';
import { UpcasterRegistry } from './upcasting.js';

describe('checkpoint', () => {
  it('round-trips through its string form, including transaction ids beyond 2^53', () => {
    const c = { transactionId: 18446744073709551615n, globalPosition: 42 };
    expect(parseCheckpoint(formatCheckpoint(c))).toEqual(c);
    expect(formatCheckpoint(START)).toBe('0-0');
  });

  it.each(['', '1', '1-', '-1', 'a-1', '1-2-3', '1:2', ' 1-2', '1-99999999999999999'])('rejects %j', (value) => {
    expect(() => parseCheckpoint(value)).toThrow(InvalidCheckpointError);
  });

  it('reads stored columns as pg gives them (xid8 and bigint as strings), exactly beyond 2^53', () => {
    expect(checkpointOfColumns('18446744073709551615', '9007199254740991')).toEqual({ transactionId: 18446744073709551615n, globalPosition: 9007199254740991 });
    expect(formatCheckpoint(checkpointOfColumns('74012', '812'))).toBe('74012-812');
  });

  it('orders by transaction id first, then global position', () => {
    const a = { transactionId: 10n, globalPosition: 500 };
    const b = { transactionId: 11n, globalPosition: 3 };
    expect(compareCheckpoints(a, b)).toBeLessThan(0);
    expect(compareCheckpoints(b, a)).toBeGreaterThan(0);
    expect(compareCheckpoints(a, { ...a })).toBe(0);
    expect(compareCheckpoints(a, { transactionId: 10n, globalPosition: 501 })).toBeLessThan(0);
  });
});

describe('tenantId', () => {
  it('accepts a 9-digit organisation number and nothing else', () => {
    expect(tenantId('313231593')).toBe('313231593');
    for (const bad of ['31323159', '3132315930', '31323159x', '']) expect(() => tenantId(bad)).toThrow(InvalidTenantIdError);
  });
});

describe('UpcasterRegistry', () => {
  const registry = new UpcasterRegistry([
    { type: 'A', fromVersion: 1, upcast: (d) => ({ ...d, v2: true }) },
    { type: 'A', fromVersion: 2, upcast: (d) => ({ ...d, v3: true }) },
  ]);

  it('chains upcasters from the stored version', () => {
    expect(registry.apply('A', 1, {})).toEqual({ schemaVersion: 3, data: { v2: true, v3: true } });
    expect(registry.apply('A', 2, {})).toEqual({ schemaVersion: 3, data: { v3: true } });
  });

  it('leaves other types and current versions alone', () => {
    expect(registry.apply('B', 1, { x: 1 })).toEqual({ schemaVersion: 1, data: { x: 1 } });
    expect(registry.apply('A', 3, { x: 1 })).toEqual({ schemaVersion: 3, data: { x: 1 } });
  });

  it('refuses two upcasters for the same step', () => {
    expect(() => registry.register({ type: 'A', fromVersion: 1, upcast: (d) => d })).toThrow(/already registered/);
  });
});
