/**
 * A Map that holds at most `capacity` entries: setting a key makes it the newest, and the oldest
 * is evicted past the capacity (the insertion order of a Map). The containers' bounded caches
 * (build-trigger's recent uploads and repository descriptions) keep their entries in one of these.
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Sets `key` as the newest entry, evicting the oldest one past the capacity. */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next();
      // Stryker disable next-line ConditionalExpression: past the capacity the map has an oldest entry
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }
}
