import fs from 'node:fs';
import { Store } from '../core/store/store.ts';
import { cutPartialLastLine, type SinkFileOps } from './lineFiles.ts';
import type { ResultSink, UnitResult } from './units.ts';



export interface JsonlSinkOptions {
  /** Keep what the file holds (a resumed run), after cutting a partial last line left by a crash. */
  append?: boolean;
  /** fsync after every unit, before the unit is acknowledged (a state file or Kafka offset follows it). */
  durable?: boolean;
  fileOps?: SinkFileOps;
}

/** A write that failed: the file holds only the whole lines written before it. */
export class SinkWriteError extends Error {
  constructor(readonly file: string, override readonly cause: NodeJS.ErrnoException) {
    super(`cannot write ${file}: ${cause.code === 'ENOSPC' ? 'no space left on device' : cause.message} (${cause.code ?? 'error'}); ` +
      'it holds only whole lines of acknowledged units: free space and run the same command again to resume');
    this.name = 'SinkWriteError';
  }
}


/**
 * JSON lines to a file (or stdout with '-'). A unit's lines are written whole or not at all: a failed write
 * (a full disk) truncates the file back to the end of the last whole unit and raises SinkWriteError.
 */
export class JsonlSink implements ResultSink {
  private readonly ops: SinkFileOps;
  private readonly fd: number | null;
  private offset = 0;
  private readonly durable: boolean;

  constructor(readonly target: string, o: JsonlSinkOptions = {}) {
    this.ops = o.fileOps ?? fs;
    this.durable = o.durable ?? false;
    if (target === '-') {
      this.fd = null;
      return;
    }
    try {
      this.fd = this.ops.openSync(target, o.append ? fs.constants.O_RDWR | fs.constants.O_CREAT : 'w');
      if (o.append) this.offset = cutPartialLastLine(this.fd, this.ops);
    } catch (e) {
      throw new SinkWriteError(target, e as NodeJS.ErrnoException);
    }
  }

  async write(r: UnitResult): Promise<void> {
    if (!r.lines) return;
    if (this.fd === null) {
      if (!process.stdout.write(r.lines)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
      return;
    }
    const bytes = Buffer.from(r.lines, 'utf8');
    const at = this.offset;
    try {
      let done = 0;
      while (done < bytes.length) done += this.ops.writeSync(this.fd, bytes, done, bytes.length - done, at + done);
      if (this.durable) this.ops.fsyncSync(this.fd);
    } catch (e) {
      // leave only whole lines: take back whatever part of this unit reached the file
      try {
        this.ops.ftruncateSync(this.fd, at);
      } catch (cut) {
        throw new SinkWriteError(this.target, Object.assign(e as NodeJS.ErrnoException, { message: `${(e as Error).message}; truncating back also failed: ${(cut as Error).message}` }));
      }
      throw new SinkWriteError(this.target, e as NodeJS.ErrnoException);
    }
    this.offset = at + bytes.length;
  }

  async close(): Promise<void> {
    if (this.fd === null) return;
    this.ops.closeSync(this.fd);
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
