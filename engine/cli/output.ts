import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';

/**
 * A file written in order (gzipped when it ends in .gz) whose failures — a full disk, a folder removed meanwhile
 * — surface from write() or end() as one error naming the file, never as an unhandled 'error' event.
 */
export class OutputFile {
  private readonly file: Writable;
  private readonly sink: Writable;
  private failure: Error | null = null;
  /** Rejects at the first error of the file or the gzip stream (observed through `failure` by every call). */
  private readonly failed: Promise<never>;

  constructor(readonly path: string) {
    this.file = createWriteStream(path);
    this.sink = path.endsWith('.gz') ? createGzip({ level: 1 }) : this.file;
    this.failed = new Promise<never>((_, reject) => {
      const fail = (e: Error) => {
        this.failure ??= new Error(`cannot write ${path}: ${e.message}`);
        reject(this.failure);
      };
      this.file.on('error', fail);
      if (this.sink !== this.file) this.sink.on('error', fail);
    });
    // read through write() and end(), which rethrow it; never an unhandled rejection of its own
    this.failed.catch(() => undefined);
    if (this.sink !== this.file) this.sink.pipe(this.file);
  }

  async write(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.sink.write(text)) await Promise.race([once(this.sink, 'drain'), this.failed]);
  }

  async end(): Promise<void> {
    if (this.failure) throw this.failure;
    this.sink.end();
    await Promise.race([once(this.file, 'finish'), this.failed]);
  }
}
