import { Command, InvalidArgumentError } from 'commander';
import { featuresCommand } from './features.ts';
import { simulateCommand } from './simulate.ts';
import { basisCommand } from './basis.ts';
import { demoCommand } from './demo.ts';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`'${v}' is not a positive integer`);
  return n;
}

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`'${v}' is not an integer`);
  return n;
}

const program = new Command();
program.name('sieve').description('Active-learning and anomaly-detection workbench for alert brokers').showHelpAfterError();

program
  .command('simulate')
  .description('write a seeded, reproducible set of simulated ZTF-like light curves (Sieve JSON lines; .gz compresses)')
  .requiredOption('--out <file>', 'output file (.jsonl or .jsonl.gz)')
  .option('--n <count>', 'number of objects', positiveInt, 1000)
  .option('--seed <seed>', 'random seed', int, 1)
  .option('--classes <list>', 'comma-separated classes to draw from (default: all)')
  .option('--workers <count>', 'worker threads (default: all cores)', positiveInt)
  .option('--no-progress', 'no progress line on stderr')
  .action(simulateCommand);

program
  .command('features')
  .description('compute features for every alert of a file (.jsonl, .parquet, .avro, detected by content) into CSV')
  .requiredOption('--extractor <name>', 'early-snia | anomaly | kilonova')
  .requiredOption('--in <file...>', 'alert file(s)')
  .requiredOption('--out <file>', 'output CSV')
  .action(featuresCommand);

program
  .command('basis')
  .description('learn the kilonova PCA basis from noise-free simulations and write it as JSON')
  .requiredOption('--out <file>', 'output JSON')
  .option('--seed <seed>', 'random seed', int)
  .action(basisCommand);

program
  .command('demo')
  .description('the main job: features for the given alert files, or for a simulated demo night when none are given')
  .option('--in <file...>', 'alert files (.jsonl, .parquet, .avro); default: a simulated night')
  .option('--n <count>', 'objects in the simulated night', positiveInt, 2000)
  .option('--seed <seed>', 'random seed of the simulated night', int, 1)
  .option('--out <dir>', 'where the feature tables go', 'out/demo')
  .action(demoCommand);

await program.parseAsync(process.argv);
