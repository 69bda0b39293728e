import fs from 'node:fs';

/** The file operations the JSONL sink needs (a test can make one fail like a full disk). */
export interface SinkFileOps {
  openSync: typeof fs.openSync;
  writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number;
  fsyncSync: typeof fs.fsyncSync;
  ftruncateSync: typeof fs.ftruncateSync;
  fstatSync: typeof fs.fstatSync;
  readSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number;
  closeSync: typeof fs.closeSync;
}

/**
 * Cuts a file back to its last newline: what a crash mid-write leaves after it is a partial line, which a
 * resumed run must not extend into a corrupt one. Returns the new size.
 */
export function cutPartialLastLine(fd: number, ops: Pick<SinkFileOps, 'fstatSync' | 'readSync' | 'ftruncateSync'> = fs): number {
  const size = ops.fstatSync(fd).size;
  const buf = new Uint8Array(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - buf.length);
    const n = ops.readSync(fd, buf, 0, end - start, start);
    for (let i = n - 1; i >= 0; i--) if (buf[i] === 0x0a) {
      const keep = start + i + 1;
      if (keep !== size) ops.ftruncateSync(fd, keep);
      return keep;
    }
    end = start;
  }
  if (size !== 0) ops.ftruncateSync(fd, 0);
  return 0;
}
