import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';

/** A mistake in how a command was called: exit status 2, like commander's own usage errors. */
export class UsageError extends InvalidArgumentError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!/^\s*\+?\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`'${v}' is not a positive integer`);
  return n;
}

export function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\s*\+?\d+\s*$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`'${v}' is not a whole number >= 0`);
  return n;
}

export function int(v: string): number {
  const n = Number(v);
  if (!/^\s*[-+]?\d+\s*$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`'${v}' is not an integer`);
  return n;
}

export function port(v: string): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError(`'${v}' is not a TCP port (1-65535)`);
  return n;
}

export function finiteNumber(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new InvalidArgumentError(`'${v}' is not a number`);
  return x;
}

export function nonNegativeNumber(v: string): number {
  const x = finiteNumber(v);
  if (x < 0) throw new InvalidArgumentError(`'${v}' is negative`);
  return x;
}

export function fraction(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !(x > 0 && x < 1)) throw new InvalidArgumentError(`'${v}' is not a fraction in (0, 1)`);
  return x;
}

/** A count (>= 1) or a fraction in (0, 1). */
export function samples(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !(x > 0) || (x >= 1 && !Number.isInteger(x))) throw new InvalidArgumentError(`'${v}' is not a positive count or a fraction in (0, 1)`);
  return x;
}

export function nonEmpty(v: string): string {
  if (!v.trim()) throw new InvalidArgumentError('an empty path names no file');
  return v;
}

/** A comma-separated list whose every item is one of `known`. */
export function commaList<T extends string>(known: readonly T[]): (v: string) => T[] {
  return (v: string) => {
    const items = v.split(',').map((s) => s.trim()).filter(Boolean);
    if (!items.length) throw new InvalidArgumentError(`is empty (choose from ${known.join(', ')})`);
    for (const s of items) if (!(known as readonly string[]).includes(s)) throw new InvalidArgumentError(`'${s}' is not one of ${known.join(', ')}`);
    return items as T[];
  };
}

/** Input paths must exist before any work starts. */
export function requireFiles(option: string, paths: readonly string[]): void {
  for (const p of paths) if (!existsSync(p)) throw new UsageError(`${option} ${p}: no such file or folder`);
}

/** The nearest folder on the way up from `p` that exists. */
function existingAncestor(p: string): string {
  let dir = path.resolve(p);
  while (!existsSync(dir)) dir = path.dirname(dir);
  return dir;
}

/**
 * An output file must be writable before any work starts: its folder exists and may be written, and the path
 * is not a folder. One line naming the option and the path otherwise.
 */
export function requireWritableFile(option: string, file: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) throw new UsageError(`${option} ${file}: is a folder, not a file`);
  const dir = path.dirname(path.resolve(file));
  if (!existsSync(dir)) throw new UsageError(`${option} ${file}: no such folder ${dir}`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${option} ${file}: ${dir} is not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`${option} ${file}: folder ${dir} is not writable`);
  }
}

/** An output folder is created as needed: the nearest existing folder on its way must be writable. */
export function requireWritableFolder(option: string, dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`${option} ${dir}: is a file, not a folder`);
  const base = existingAncestor(dir);
  if (!statSync(base).isDirectory()) throw new UsageError(`${option} ${dir}: ${base} is a file, not a folder`);
  try {
    accessSync(base, constants.W_OK);
  } catch {
    throw new UsageError(`${option} ${dir}: folder ${base} is not writable`);
  }
}

/** commander parsers: an output file or folder checked when the option is read, before any work. */
export const outFile = (option: string) => (v: string): string => (requireWritableFile(option, v), v);
export const outFolder = (option: string) => (v: string): string => (requireWritableFolder(option, v), v);
