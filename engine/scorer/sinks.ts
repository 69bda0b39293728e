import { createWriteStream, type WriteStream } from 'node:fs';
import { Store } from '../store/store.ts';
import type { UnitResult } from './processUnit.ts';

/** Where results go. write() resolves once the results are durable enough to acknowledge the source. */
export interface ResultSink {
  write(r: UnitResult): Promise<void>;
  close(): Promise<void>;
}

/** JSON lines to a file (or stdout with '-'), honouring the stream's backpressure. */
export class JsonlSink implements ResultSink {
  private readonly out: WriteStream | NodeJS.WriteStream;

  constructor(readonly target: string) {
    this.out = target === '-' ? process.stdout : createWriteStream(target, { flags: 'w' });
  }

  async write(r: UnitResult): Promise<void> {
    if (!r.lines) return;
    if (!this.out.write(r.lines)) await new Promise<void>((resolve) => this.out.once('drain', () => resolve()));
  }

  async close(): Promise<void> {
    if (this.out === process.stdout) return;
    await new Promise<void>((resolve, reject) => (this.out as WriteStream).end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}

/** Results into the store's scores table, one transaction per unit. */
export class StoreSink implements ResultSink {
  private readonly store: Store;
  private readonly insert;

  constructor(dbPath: string) {
    this.store = Store.open(dbPath);
    this.insert = this.store.db.prepare(`INSERT INTO scores (candid, object_id, module, version, scores_json, tags, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(candid, object_id, module, version) DO UPDATE SET scores_json = excluded.scores_json, tags = excluded.tags, scored_at = excluded.scored_at`);
  }

  async write(r: UnitResult): Promise<void> {
    if (!r.lines) return;
    const at = new Date().toISOString();
    this.store.db.transaction(() => {
      for (const line of r.lines.split('\n')) {
        if (!line) continue;
        const x = JSON.parse(line) as { candid: string | null; objectId: string; module?: string; version?: number; scores?: unknown; tags: string[]; sieve_versions?: Record<string, number> };
        if (x.module === undefined) throw new Error('the store sink takes --format results');
        this.insert.run(x.candid ?? '', x.objectId, x.module, x.version, JSON.stringify(x.scores), x.tags.join(','), at);
      }
    })();
  }

  async close(): Promise<void> {
    this.store.close();
  }
}
