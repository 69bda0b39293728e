import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAvroContainer, writeAvroContainer } from '../../datasets/index.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';

/**
 * Folders as Fink delivers them (Data Transfer part files with their `avro_schema_*.json` beside them,
 * ../shared/data/lsst and ztf/fink_avro), and Fink's older multi-alert Avro files (fink-client's
 * datatest/avro_multi_alerts.avro), through the CLI.
 */
const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-folders-'));
const db = path.join(tmp, 'folders.db');

function sieve(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function fink(module: string, from: string[]): { lines: Array<Record<string, unknown>>; stderr: string } {
  const out = path.join(tmp, `${module}-${path.basename(from[0])}.jsonl`);
  const r = sieve(['score', '--module', module, '--db', db, '--from', ...from, '--to', out, '--format', 'fink']);
  expect(r.status, r.stderr).toBe(0);
  return { lines: readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>), stderr: r.stderr };
}

beforeAll(() => {
  const made = sieve(['ingest', sharedPath('lsst'), sharedPath('ztf', 'fink_avro'), '--db', db]);
  expect(made.status, made.stderr).toBe(0);
  expect(made.stdout).toMatch(/46 alerts stored, 0 already there \(10 file\(s\)\)/);
  // each file of the folders is named: read, or skipped with the reason
  expect(made.stdout).toMatch(/skipped .*lsst\/avro_schema_ftransfer_lsst_2026-03-18_803281\.json: an Avro schema/);
  expect(made.stdout).toMatch(/skipped .*fink_avro\/avro_schema_ftransfer_ztf_2026-03-23_11487\.json: an Avro schema/);
  expect(made.stdout).toMatch(/skipped .*fink_avro\/README\.md: not Avro, Parquet or JSON lines/);
  for (const [module, file] of [['early-snia', ['ztf', 'models', 'early-snia.pkl']], ['early-snia-rubin', ['rubin', 'models', 'early-snia-rubin.pkl']]] as const) {
    const r = sieve(['import', 'sklearn', sharedPath('fink', ...file), '--module', module, '--db', db, '--deploy']);
    expect(r.status, r.stderr).toBe(0);
  }
}, 120_000);

describe('folders of Fink Data Transfer files', () => {
  it('ingests every alert file of a folder and skips the schema files beside them', () => {
    // the same folders again: everything is already there, nothing fails on the schema files
    const again = sieve(['ingest', sharedPath('lsst'), '--db', db]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 alerts stored, 7 already there \(1 file\(s\)\)/);
    const none = sieve(['ingest', path.join(REPO_ROOT, 'docs'), '--db', path.join(tmp, 'none.db')]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^sieve: ingest: \S*docs: no alert files there \(Avro, Parquet or JSON lines\)$/m);
    expect(existsSync(path.join(tmp, 'none.db'))).toBe(false);
  });

  it('scores a Data Transfer folder: the schema file is skipped, not read as 5,587 bad JSON lines', () => {
    const { lines, stderr } = fink('early-snia-rubin', [sharedPath('lsst')]);
    expect(stderr).toMatch(/scorer: skipped .*avro_schema_ftransfer_lsst_2026-03-18_803281\.json: an Avro schema/);
    expect(stderr).toMatch(/7 alerts .* 0 bad record\(s\)/);
    expect(lines).toHaveLength(7);
    // Fink's Rubin early SN Ia writes -1.0 for alerts outside its selection, as in the file's own column
    const own = readAvroContainer(readFileSync(sharedPath('lsst', 'part-2-918301.avro')), 'lsst').records.map((r) => r.value);
    expect(own.map((r) => (r.clf as Record<string, unknown>).earlySNIa_score)).toEqual(lines.map(() => -1));
    expect(lines.map((l) => l.earlySNIa_score)).toEqual(lines.map(() => -1));
  });
});

describe("Fink's older multi-alert Avro files", () => {
  /**
   * fink-client's datatest/avro_multi_alerts.avro (commit 24249d9b) holds full ZTF packets with Fink's
   * intermediate columns at the top level (its schema's fields besides the packet's, copied here): ra and
   * dec only inside `candidate`. The file itself is not in ../shared; the same layout is built from a real
   * alert of the same repository (ztf/fink_avro/ZTF19acihgng.avro).
   */
  const EXTRA_FIELDS = [
    { name: 'topic', type: ['string', 'null'] }, { name: 'cdsxmatch', type: ['string', 'null'] }, { name: 'rfscore', type: ['double', 'null'] },
    { name: 'hour', type: ['int', 'null'] }, { name: 'cjd', type: [{ type: 'array', items: ['double', 'null'] }, 'null'] },
    { name: 'cfid', type: [{ type: 'array', items: ['int', 'null'] }, 'null'] }, { name: 'cmagpsf', type: [{ type: 'array', items: ['float', 'null'] }, 'null'] },
    { name: 'csigmapsf', type: [{ type: 'array', items: ['float', 'null'] }, 'null'] }, { name: 'cmagnr', type: [{ type: 'array', items: ['float', 'null'] }, 'null'] },
    { name: 'csigmagnr', type: [{ type: 'array', items: ['float', 'null'] }, 'null'] }, { name: 'cmagzpsci', type: [{ type: 'array', items: ['float', 'null'] }, 'null'] },
    { name: 'cisdiffpos', type: [{ type: 'array', items: ['string', 'null'] }, 'null'] }, { name: 'snn', type: ['double', 'null'] },
  ];

  it('writes candid, ra and dec from the candidate with --format fink, not null', () => {
    const src = readAvroContainer(readFileSync(sharedPath('ztf', 'fink_avro', 'ZTF19acihgng.avro')), 'ZTF19acihgng.avro');
    const schema = { ...(src.schema as Record<string, unknown>) };
    schema.fields = [...(schema.fields as unknown[]), ...EXTRA_FIELDS];
    const records = src.records.map(({ value }) => {
      const prv = (value.prv_candidates as Array<Record<string, unknown>> | null) ?? [];
      const points = [...prv, value.candidate as Record<string, unknown>];
      const col = (k: string) => points.map((p) => p[k] ?? null);
      return {
        ...value, topic: 'fink_simulator_ZTF201911', cdsxmatch: 'Unknown', rfscore: 0, hour: 15, cjd: col('jd'), cfid: col('fid'), cmagpsf: col('magpsf'),
        csigmapsf: col('sigmapsf'), cmagnr: col('magnr'), csigmagnr: col('sigmagnr'), cmagzpsci: col('magzpsci'), cisdiffpos: col('isdiffpos'), snn: 0,
      };
    });
    const file = path.join(tmp, 'avro_multi_alerts.avro');
    writeFileSync(file, writeAvroContainer(schema, records));
    const { lines } = fink('early-snia', [file]);
    const c = src.records[0].value.candidate as Record<string, unknown>;
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ objectId: 'ZTF19acihgng', candid: String(c.candid), ra: c.ra, dec: c.dec });
  });

  it.skipIf(!process.env.SIEVE_FINK_CLIENT)("reads fink-client's own file (SIEVE_FINK_CLIENT: a fink-client checkout)", () => {
    const file = path.join(process.env.SIEVE_FINK_CLIENT!, 'datatest', 'avro_multi_alerts.avro');
    const own = readAvroContainer(readFileSync(file), file).records.map((r) => r.value.candidate as Record<string, unknown>);
    const { lines } = fink('early-snia', [file]);
    expect(lines).toHaveLength(own.length);
    lines.forEach((l, i) => expect(l).toMatchObject({ candid: String(own[i].candid), ra: own[i].ra, dec: own[i].dec }));
  });
});
