/**
 * Stored events keep the schema version they were written with; readers get the newest
 * shape through registered upcasters (v1 → v2 → ...). Stored history is never rewritten.
 */
export type Upcast = (data: Record<string, unknown>) => Record<string, unknown>;

export interface Upcaster {
  type: string;
  fromVersion: number;
  upcast: Upcast;
}

export class UpcasterRegistry {
  private readonly byKey = new Map<string, Upcast>();

  constructor(upcasters: Upcaster[] = []) {
    for (const u of upcasters) this.register(u);
  }

  register(u: Upcaster): this {
    const key = `${u.type}@${u.fromVersion}`;
    if (this.byKey.has(key)) throw new Error(`an upcaster for ${key} is already registered`);
    this.byKey.set(key, u.upcast);
    return this;
  }

  /** Applies the chain of upcasters starting at `schemaVersion` until none is registered. */
  apply(type: string, schemaVersion: number, data: Record<string, unknown>): { schemaVersion: number; data: Record<string, unknown> } {
    let version = schemaVersion;
    let current = data;
    for (let step = this.byKey.get(`${type}@${version}`); step; step = this.byKey.get(`${type}@${version}`)) {
      current = step(current);
      version += 1;
    }
    return { schemaVersion: version, data: current };
  }

  get isEmpty(): boolean {
    return this.byKey.size === 0;
  }
}
