import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** ../shared/ next to the repository: real data that CI has too (see ../shared/README.md). */
export const SHARED = path.resolve(fileURLToPath(new URL('../../shared', import.meta.url)));
export const SHARED_DATA = path.join(SHARED, 'data');

export function sharedPath(...parts: string[]): string {
  const p = path.join(SHARED_DATA, ...parts);
  if (!existsSync(p)) throw new Error(`shared data missing: ${p} (the tests need ../shared/ beside the repository)`);
  return p;
}

export const REPO_ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
