import type pg from 'pg';
import type { DpopReplayCache } from './dpop.js';

/**
 * The DPoP replay cache in PostgreSQL (`dpop_proofs_seen`), shared by all instances: one
 * INSERT per proof. A jti is new when no live row has it; an expired row is taken over.
 * Expired rows are swept now and then by whichever instance notices it is time.
 */
export class PostgresReplayCache implements DpopReplayCache {
  private lastSweep = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly sweepIntervalMs = 10_000,
  ) {}

  async remember(jti: string, expiresAt: Date): Promise<boolean> {
    // Named: prepared once per connection (this runs for every request with a DPoP proof).
    const { rowCount } = await this.pool.query({
      name: 'fpi_dpop_remember',
      text: `INSERT INTO dpop_proofs_seen (jti, expires_at) VALUES ($1, $2)
         ON CONFLICT (jti) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE dpop_proofs_seen.expires_at < now()`,
      values: [jti, expiresAt],
    });
    // `>=`: with an interval of 0 every call sweeps, also two calls in the same millisecond.
    if (Date.now() - this.lastSweep >= this.sweepIntervalMs) {
      this.lastSweep = Date.now();
      void this.pool.query('DELETE FROM dpop_proofs_seen WHERE expires_at < now()').catch(() => undefined);
    }
    return rowCount === 1;
  }
}
