import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { simulate, stringifyJsonExact, toSieveRecord } from '../../datasets/index.ts';
import { Store } from '../../engine/index.ts';
import { FolderProvider, PathSource, RegistryProvider, runScorer, StoreSink, type ResultSink, type UnitResult } from '../../engine/scorer/index.ts';
import { storeWithEarlySnia } from '../hostileStore.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-hostile-scorer-'));
const db = path.join(tmp, 'store.db');
let bundles: string[] = [];

/** A store with early-snia v1 then v2 deployed. */
beforeAll(() => {
  bundles = storeWithEarlySnia(db, 2);
});

describe('bundle corruption never stops the scorer (issue 23, point 7)', () => {
  it('--db: a corrupt deployed bundle falls back to the version deployed before it, with a line saying so', () => {
    const copy = path.join(tmp, 'corrupt.db');
    const s = Store.open(db);
    s.db.exec(`VACUUM INTO '${copy}'`);
    s.close();
    const c = Store.open(copy);
    c.db.prepare("UPDATE models SET bundle_json = '{\"manifest\": {\"schema\": \"sieve-bundle/1\"' WHERE module = 'early-snia' AND version = 2").run();
    c.close();
    const logs: string[] = [];
    const provider = new RegistryProvider(copy, ['early-snia'], (l) => logs.push(l));
    expect(provider.poll().map((v) => v.version)).toEqual([1]);
    provider.close();
    expect(logs).toEqual([
      expect.stringMatching(/^scorer: REFUSED early-snia v2 from registry .*corrupt\.db: early-snia v2: not JSON \(.*\); trying the next usable version$/),
      expect.stringMatching(/^scorer: early-snia v1 in force from registry .*corrupt\.db$/),
      expect.stringMatching(/^scorer: early-snia: deployed v2 is unusable, scoring with v1, the last usable version deployed before it \(.*corrupt\.db\)$/),
    ]);
    // nothing usable at all: the line names the registry and each version with why
    const c2 = Store.open(copy);
    c2.db.prepare("UPDATE models SET bundle_json = 'garbage' WHERE module = 'early-snia' AND version = 1").run();
    c2.close();
    const none = new RegistryProvider(copy, ['early-snia'], () => {});
    expect(() => none.poll()).toThrow(/^scorer: no usable deployed version of early-snia in registry .*corrupt\.db: v2 from registry .*corrupt\.db refused \(early-snia v2: not JSON .*\); v1 from registry .*corrupt\.db refused \(early-snia v1: not JSON/);
    none.close();
  });

  it('--bundles: a newest file that is not JSON is skipped with a line naming it, and the next one down scores', () => {
    const dir = path.join(tmp, 'folder');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'early-snia_v1.json'), bundles[0]);
    writeFileSync(path.join(dir, 'early-snia_v2.json'), bundles[1].slice(0, 500));
    const logs: string[] = [];
    const provider = new FolderProvider(dir, ['early-snia'], (l) => logs.push(l));
    expect(provider.poll().map((v) => v.version)).toEqual([1]);
    expect(logs[0]).toMatch(/^scorer: skipped .*early-snia_v2\.json: not a bundle \(not JSON: .*\)$/);
    // said once: the next poll of the same file says nothing more
    provider.poll();
    expect(logs.filter((l) => l.includes('early-snia_v2.json'))).toHaveLength(1);
    // a folder with nothing usable names the files
    const bare = path.join(tmp, 'bare');
    mkdirSync(bare);
    writeFileSync(path.join(bare, 'early-snia_v9.json'), 'not json');
    expect(() => new FolderProvider(bare, ['early-snia'], () => {}).poll()).toThrow(/^scorer: no usable deployed version of early-snia in bundle folder .*bare: .*early-snia_v9\.json is not a readable bundle$/);
  });
});

describe('write failures name the file they are about (issue 23, point 7)', () => {
  // 300 alerts: more than the one page the full store may still take (alerts are ~1.8 KB in 32 KB pages)
  const alerts = () => {
    const file = path.join(tmp, `alerts-${Math.random().toString(36).slice(2)}.jsonl`);
    writeFileSync(file, [...simulate(300, 4)].map((o) => stringifyJsonExact(toSieveRecord(o.alert))).join('\n'));
    return file;
  };
  const nowhere: ResultSink = { write: async (_r: UnitResult) => {}, close: async () => {} };

  it('a state file that cannot be written stops the run with a line naming it and the file it was recording', async () => {
    const stateDir = path.join(tmp, 'state-dir');
    mkdirSync(stateDir);
    const file = alerts();
    const source = new PathSource([file], { stateFile: path.join(stateDir, 'state.txt') });
    rmSync(stateDir, { recursive: true });
    await expect(runScorer({ source, sink: nowhere, provider: new RegistryProvider(db, ['early-snia'], () => {}), workers: 0, log: () => {} }))
      .rejects.toThrow(new RegExp(`^cannot record ${file.replace(/[.\\]/g, '\\$&')} as done in the state file .*state-dir/state\\.txt: .*\\(ENOENT\\); its results are written; a restart scores it again`));
  });

  it('a full store (ingest, and scores into the store) is a line naming the store, and stores nothing', async () => {
    const full = path.join(tmp, 'full.db');
    const store = Store.create(full);
    try {
      // SQLite's page cap: the same SQLITE_FULL as a full disk, without filling one
      const pages = (store.db.pragma('page_count', { simple: true }) as number) + 1;
      store.db.pragma(`max_page_count = ${pages}`);
      await expect(store.importFiles([alerts()])).rejects.toThrow(/^store .*full\.db: the disk \(or the database\) is full \(SQLITE_FULL: database or disk is full\); this write stored nothing$/);
      expect(store.countAlerts()).toBe(0);
    } finally {
      store.close();
    }
    const sink = new StoreSink(db);
    (sink as unknown as { store: Store }).store.db.pragma(`max_page_count = ${(sink as unknown as { store: Store }).store.db.pragma('page_count', { simple: true }) as number}`);
    const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ candid: String(i), objectId: `o${i}`, module: 'early-snia', version: 1, scores: { x: i }, tags: ['t'.repeat(200)] })).join('\n');
    await expect(sink.write({ lines, keys: [], alerts: 2000, errors: [], skipped: [], versions: {} })).rejects.toThrow(/^store .*store\.db: the disk \(or the database\) is full \(SQLITE_FULL/);
    await sink.close();
  });
});
