import { createReadStream, existsSync, readdirSync, readFileSync, appendFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { detectFormat } from '../../datasets/index.ts';
import { cutPartialLastLine } from './lineFiles.ts';
import type { AlertSource, SourceUnit } from './units.ts';



export interface PathSourceOptions {
  /** Keep watching directories for new files until stop() is called. */
  watch?: boolean;
  pollMs?: number;
  /** JSON lines per unit (bounded memory per unit). */
  linesPerUnit?: number;
  /** A file listing finished files, so that a restarted scorer does not score them again. */
  stateFile?: string;
  /** Small files (one ZTF alert each) travel to a scorer thread this many at a time. */
  filesPerUnit?: number;
}

/** Files below this size are grouped into one unit; larger ones are a unit each. */
const SMALL_FILE_BYTES = 1 << 20;

function headOf(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, 64, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

const isCandidate = (name: string) => !name.startsWith('.') && !name.endsWith('.tmp') && !name.endsWith('.part') && !name.endsWith('.md');

/**
 * Alert files and directories (Avro, Parquet, JSON lines, gzipped or not). A directory is read in name
 * order; with `watch`, files that arrive later are picked up once their size has stopped changing.
 * JSON lines are streamed in runs of `linesPerUnit`, so a file of any size is scored in bounded memory.
 */
export class PathSource implements AlertSource {
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly done = new Set<string>();

  constructor(private readonly paths: readonly string[], private readonly o: PathSourceOptions = {}) {
    if (o.stateFile && existsSync(o.stateFile)) {
      // a crash while appending can leave a partial last name: cut it, so the next name starts a line
      const fd = openSync(o.stateFile, 'r+');
      try {
        cutPartialLastLine(fd);
      } finally {
        closeSync(fd);
      }
      for (const l of readFileSync(o.stateFile, 'utf8').split('\n')) if (l) this.done.add(l);
    }
    for (const p of paths) if (!existsSync(p)) throw new Error(`scorer source: ${p} does not exist`);
  }

  /** Ends a watching source after the files already found. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private list(): string[] {
    const out: string[] = [];
    for (const p of this.paths) {
      if (statSync(p).isDirectory()) {
        for (const e of readdirSync(p, { withFileTypes: true })) if (e.isFile() && isCandidate(e.name)) out.push(path.join(p, e.name));
        out.sort();
      } else out.push(p);
    }
    return out;
  }

  private markDone(file: string): void {
    this.done.add(file);
    if (this.o.stateFile) appendFileSync(this.o.stateFile, `${file}\n`);
  }

  private async *fileUnits(file: string): AsyncIterable<SourceUnit> {
    const head = headOf(file);
    const gz = head[0] === 0x1f && head[1] === 0x8b;
    let format: string;
    try {
      format = gz ? (file.replace(/\.gz$/, '').endsWith('.jsonl') || file.replace(/\.gz$/, '').endsWith('.json') ? 'jsonl' : 'file') : detectFormat(head, file);
    } catch {
      format = 'file'; // let the worker report what is wrong with it
    }
    if (format !== 'jsonl') {
      yield { unit: { kind: 'file', path: file }, ack: () => this.markDone(file) };
      return;
    }
    const per = this.o.linesPerUnit ?? 2000;
    // pipeline() forwards a read error (a file removed meanwhile) into the gunzip stream, where the line reader
    // below sees it and rejects; its own callback has nothing left to report
    const input = gz ? pipeline(createReadStream(file), createGunzip(), () => undefined) : createReadStream(file);
    const rl = createInterface({ input, crlfDelay: Infinity });
    let lines: string[] = [];
    let first = 1;
    let lineNo = 0;
    let pending: SourceUnit | null = null;
    for await (const line of rl) {
      lineNo++;
      lines.push(line);
      if (lines.length >= per) {
        if (pending) yield pending;
        pending = { unit: { kind: 'lines', origin: file, firstLine: first, text: lines.join('\n') } };
        lines = [];
        first = lineNo + 1;
      }
    }
    if (lines.length) {
      if (pending) yield pending;
      pending = { unit: { kind: 'lines', origin: file, firstLine: first, text: lines.join('\n') } };
    }
    // the file is finished when its last unit is written
    if (pending) yield { ...pending, ack: () => this.markDone(file) };
  }

  async *units(): AsyncIterable<SourceUnit> {
    const sizes = new Map<string, number>();
    const perUnit = this.o.filesPerUnit ?? 32;
    let group: string[] = [];
    const flush = (): SourceUnit | null => {
      if (!group.length) return null;
      const paths = group;
      group = [];
      return { unit: paths.length === 1 ? { kind: 'file', path: paths[0] } : { kind: 'files', paths }, ack: () => paths.forEach((p) => this.markDone(p)) };
    };
    const take = async function* (this: PathSource, file: string, size: number): AsyncIterable<SourceUnit> {
      this.done.add(file);
      const jsonl = this.isJsonLines(file);
      if (!jsonl && size < SMALL_FILE_BYTES) {
        group.push(file);
        if (group.length >= perUnit) yield flush()!;
        return;
      }
      const pending = flush();
      if (pending) yield pending;
      yield* this.fileUnits(file);
    }.bind(this);
    for (;;) {
      for (const file of this.list()) {
        if (this.done.has(file)) continue;
        const size = statSync(file).size;
        if (this.o.watch && sizes.get(file) !== size) {
          // still being written, or first seen: take it at the next poll if its size holds
          sizes.set(file, size);
          continue;
        }
        yield* take(file, size);
      }
      // a watched folder that went quiet: score what is grouped rather than wait for more
      const pending = flush();
      if (pending) yield pending;
      if (!this.o.watch || this.stopped) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.pollMs ?? 500);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      if (this.stopped) {
        // one last pass for files that landed just before stop()
        for (const file of this.list()) if (!this.done.has(file)) yield* take(file, statSync(file).size);
        const last = flush();
        if (last) yield last;
        return;
      }
    }
  }

  private isJsonLines(file: string): boolean {
    // by name when the name says it (a ZTF night is ~10^5 files: no extra open per file), else by content
    if (/\.(avro|parquet)$/i.test(file)) return false;
    if (/\.(jsonl|json)(\.gz)?$/i.test(file)) return true;
    const head = headOf(file);
    if (head[0] === 0x1f && head[1] === 0x8b) return false;
    try {
      return detectFormat(head, file) === 'jsonl';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.stop();
  }
}
