import { Store } from '../core/store/store.ts';

export function userAddCommand(name: string, opts: { db: string; role: string }): void {
  const store = Store.open(opts.db);
  try {
    const { user, token } = store.addUser(name, opts.role as 'expert' | 'admin', 'cli');
    console.log(`${user.name} (${user.role}) token: ${token}`);
    console.log('Keep it: only its hash is stored. Running `sieve user add` again for the same name replaces it.');
  } finally {
    store.close();
  }
}

export function userListCommand(opts: { db: string }): void {
  const store = Store.open(opts.db);
  try {
    for (const u of store.listUsers()) console.log(`${u.name}\t${u.role}\t${u.createdAt}${u.disabled ? '\tdisabled' : ''}`);
  } finally {
    store.close();
  }
}

export function userDisableCommand(name: string, opts: { db: string }): void {
  const store = Store.open(opts.db);
  try {
    store.disableUser(name, 'cli');
    console.log(`${name} disabled`);
  } finally {
    store.close();
  }
}
