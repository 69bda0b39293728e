import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { demoCommand } from '../../engine/cli/demo.ts';
import { sharedPath } from '../shared.ts';

/**
 * A small demo store: 300 simulated objects plus the real ZTF sample (with its stamps) and the TNS-labelled
 * alerts, seed labels from the known classes and the first version of every module deployed, exactly as
 * `sieve demo` builds it.
 */
export async function demoStore(n = 300): Promise<string> {
  const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-api-')), 'demo.db');
  const log = console.log;
  console.log = () => {};
  try {
    await demoCommand({ db, n, seed: 1, serve: false, in: [sharedPath('ztf', 'alerts.jsonl'), sharedPath('tns', 'fink_cross_tns_nov2019.parquet'), sharedPath('tns', 'fink_cross_tns_202001.parquet')] });
  } finally {
    console.log = log;
  }
  return db;
}
