import { writeFileSync } from 'node:fs';
import { DEFAULT_BASIS_TRAINING, learnPcaBasis } from '../../features/index.ts';

export function basisCommand(opts: { out: string; seed?: number }): void {
  const basis = learnPcaBasis({ ...DEFAULT_BASIS_TRAINING, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
  writeFileSync(opts.out, JSON.stringify(basis, null, 1) + '\n');
  process.stderr.write(`basis ${basis.version} (sha256 ${basis.sha256.slice(0, 12)}…) written to ${opts.out}\n`);
}
