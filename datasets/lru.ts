/**
 * A map that keeps at most `maxEntries` entries and `maxWeight` total weight (e.g. the bytes of a schema
 * text), dropping the least recently used first. Caches keyed by what arrives over the network (schema
 * texts, message keys) use it, so that a stream of distinct keys cannot grow memory without bound.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private weight = 0;

  constructor(readonly maxEntries: number, readonly maxWeight = Infinity) {}

  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    // re-inserting moves the entry to the end: Map iterates in insertion order, oldest first
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  set(key: K, value: V, weight = 1): void {
    const old = this.entries.get(key);
    if (old) {
      this.weight -= old.weight;
      this.entries.delete(key);
    }
    this.entries.set(key, { value, weight });
    this.weight += weight;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.weight <= this.maxWeight) break;
      if (k === key) continue;
      this.entries.delete(k);
      this.weight -= e.weight;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Total weight of the entries held. */
  get totalWeight(): number {
    return this.weight;
  }
}
