import { Command, InvalidArgumentError } from 'commander';
import { featuresCommand } from './features.ts';
import { simulateCommand } from './simulate.ts';
import { basisCommand } from './basis.ts';
import { demoCommand } from './demo.ts';
import { experimentAnomalyCommand } from './experiment.ts';
import { exportCommand } from './export.ts';

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

function fraction(v: string): number {
  const x = Number(v);
  if (!(x > 0 && x < 1)) throw new InvalidArgumentError(`'${v}' is not a fraction in (0, 1)`);
  return x;
}

function samples(v: string): number {
  const x = Number(v);
  if (!(x > 0)) throw new InvalidArgumentError(`'${v}' is not a positive count or fraction`);
  return x;
}

const experiment = program.command('experiment').description('reproducible experiments');
experiment
  .command('anomaly')
  .description('isolation forest vs AAD with a simulated expert: rare objects found among the first alerts shown')
  .requiredOption('--out <dir>', 'output directory (summary.json, curves.csv, discovery.png)')
  .option('--seeds <count>', 'number of seeds (1..count)', positiveInt, 5)
  .option('--n <count>', 'simulated objects per seed', positiveInt, 5000)
  .option('--rare-fraction <f>', 'fraction of rare objects', fraction, 0.01)
  .option('--rare-classes <list>', "comma-separated simulated classes the expert hunts (default: 'eclipsing binary')")
  .option('--budget <count>', 'alerts shown to the expert', positiveInt, 100)
  .option('--trees <count>', 'trees per forest', positiveInt, 150)
  .option('--max-samples <n>', 'rows per tree (count, or fraction of N as Fink trains with 0.5)', samples, 256)
  .option('--data <table.csv>', 'a labelled feature table instead of simulations')
  .option('--label-column <name>', 'label column of --data')
  .option('--positive <value>', 'label value of the rare objects in --data')
  .option('--positive-fraction <f>', 'subsample the positives of --data to this fraction (seeded)', fraction)
  .action(experimentAnomalyCommand);

program
  .command('export')
  .description('export a trained module: <module> is a bundle file until the model registry lands')
  .argument('<module>', 'bundle file')
  .requiredOption('--format <format>', 'bundle | onnx | fink-anomaly-zip')
  .requiredOption('--out <path>', 'output file')
  .option('--name <name>', "model name inside a Fink zip (forest_g_AAD_<name>.onnx)")
  .action(exportCommand);

await program.parseAsync(process.argv);
