import { BoundedMap } from '../shared/bounded-map.ts';

/** A bounded set of recently seen strings, oldest evicted first. */
export class RecentSet {
  readonly #items: BoundedMap<string, true>;

  constructor(readonly capacity: number) {
    this.#items = new BoundedMap(capacity);
  }

  has(item: string): boolean {
    return this.#items.has(item);
  }

  add(item: string): void {
    // Stryker disable next-line BooleanLiteral: has() looks at the keys only; the value is never read
    this.#items.set(item, true);
  }
}
