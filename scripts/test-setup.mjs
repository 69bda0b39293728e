// `npm test` set-up: the tests need Debian's chromium (browser tests) and python3 with scikit-learn and scipy
// (independent cross-checks). Installs what is missing when run as root (apt-get), otherwise stops with the
// exact command to run. Never a dependency of Sieve itself: only its tests use them.
// `--bench` (npm run bench): the Python baselines also need pandas; without root the bench still runs and
// its rows say "baseline unavailable".
import { spawnSync } from 'node:child_process';

const bench = process.argv.includes('--bench');
const who = bench ? 'sieve bench' : 'sieve tests';
const have = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const missing = [];
if (!have('chromium', ['--version'])) missing.push('chromium');
// the fink-science comparison (test/finkScience, when its checkouts are named) runs Fink's code as well
const finkScience = !!process.env.SIEVE_FINK_SCIENCE;
if ((bench || finkScience) && !have('/usr/bin/python3', ['-c', 'import pandas'])) missing.push('python3-pandas');
// the Rainbow baseline (light-curve's RainbowFit minimises with iminuit's Migrad)
if ((bench || finkScience) && !have('/usr/bin/python3', ['-c', 'import iminuit'])) missing.push('python3-iminuit');
// Debian's own python3 (the one on PATH may be another, e.g. pyenv's, without Debian's packages)
if (!have('/usr/bin/python3', ['-c', 'import sklearn'])) missing.push('python3-sklearn');
if (!have('/usr/bin/python3', ['-c', 'import scipy'])) missing.push('python3-scipy');
if (missing.length === 0) process.exit(0);
const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
if (process.getuid?.() !== 0) {
  process.stderr.write(`${who}: missing ${missing.join(', ')}; install them first: sudo ${command}\n`);
  process.exit(bench ? 0 : 1);
}
process.stderr.write(`${who}: installing ${missing.join(', ')} (Debian packages) …\n`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...missing]]) {
  const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (r.status !== 0) {
    process.stderr.write(`${who}: 'apt-get ${args.join(' ')}' failed (status ${r.status}); run it by hand: ${command}\n`);
    process.exit(1);
  }
}
