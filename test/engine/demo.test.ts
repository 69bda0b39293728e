import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoCommand } from '../../engine/cli/demo.ts';
import { Store } from '../../engine/index.ts';

describe('the demo a newcomer runs (issue 22, point 5)', () => {
  it("builds early-snia's first version from the classified archive and half the night: it finds SN Ia on its held-out objects", async () => {
    const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-demo-')), 'demo.db');
    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(' '));
    try {
      // the defaults of `sieve demo` (--n 2000 --seed 1, the real samples of ../shared/data)
      await demoCommand({ db, n: 2000, seed: 1, serve: false });
    } finally {
      console.log = log;
    }
    const store = Store.open(db);
    try {
      expect(store.deployedVersion('early-snia')).toBe(1);
      const v1 = store.getModel('early-snia', 1);
      // main's first version found 0 of 14 held-out SN Ia (fom 0)
      expect(v1.metrics.tp).toBeGreaterThan(0);
      expect(v1.metrics.fom).toBeGreaterThan(0);
      expect(v1.gate!.degenerate).toBeNull();
      const line = lines.find((l) => l.startsWith('early-snia: '))!;
      expect(line).toMatch(/^early-snia: \d+ seed labels \(\d+ from the archive\); v1: deployed \(provisional\): first version, fom [\d.]+ cross-validated; held-out: fom [\d.]+, [1-9]\d* of \d+ SN Ia found/);
      process.stdout.write(`demo (--n 2000 --seed 1): ${line}\n`);
    } finally {
      store.close();
    }
  }, 900_000);
});
