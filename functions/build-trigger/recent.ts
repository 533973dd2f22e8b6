/** A bounded set of recently seen strings, oldest evicted first (insertion order of a Map). */
export class RecentSet {
  readonly #items = new Map<string, true>();

  constructor(readonly capacity: number) {}

  has(item: string): boolean {
    return this.#items.has(item);
  }

  add(item: string): void {
    this.#items.delete(item);
    this.#items.set(item, true);
    if (this.#items.size > this.capacity) {
      const oldest = this.#items.keys().next();
      if (!oldest.done) this.#items.delete(oldest.value);
    }
  }
}
