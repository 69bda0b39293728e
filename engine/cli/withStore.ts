import { Store } from '../core/store/store.ts';

/** Runs f on an existing store (Store.open refuses a missing file) and closes it, whatever f does. */
export function withStore<T>(db: string, f: (s: Store) => T): T {
  const store = Store.open(db);
  try {
    return f(store);
  } finally {
    store.close();
  }
}
