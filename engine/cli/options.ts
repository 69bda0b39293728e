import { existsSync } from 'node:fs';
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

export function oneOf<T extends string>(what: string, value: string, known: readonly T[]): T {
  if (!(known as readonly string[]).includes(value)) throw new UsageError(`${what} '${value}' is not one of ${known.join(', ')}`);
  return value as T;
}
