import { Command, InvalidArgumentError } from 'commander';
import { featuresCommand } from './features.ts';
import { simulateCommand } from './simulate.ts';
import { basisCommand } from './basis.ts';
import { demoCommand } from './demo.ts';
import { experimentAlCommand, experimentAnomalyCommand } from './experiment.ts';
import { exportCommand } from './export.ts';
import { scoreCommand } from './score.ts';
import { serveCommand, userAddCommand, userDisableCommand, userListCommand } from './serveCommands.ts';
import {
  DEFAULT_DB, backupCommand, deployCommand, exportFromStore, ingestCommand, labelCommand, modelsCommand, queueCommand, rollbackCommand,
  storeFeaturesCommand, trainCommand,
} from './storeCommands.ts';

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
  .description('features of every alert of a file into CSV (--extractor, --in, --out), or of every stored alert (--db)')
  .option('--extractor <name>', 'early-snia | anomaly | kilonova')
  .option('--in <file...>', 'alert file(s) (.jsonl, .parquet, .avro, detected by content)')
  .option('--out <file>', 'output CSV')
  .option('--db <file>', 'compute into the store instead, for every module (or --module)')
  .option('--module <name>', 'with --db: only this module')
  .action((opts: { extractor?: string; in?: string[]; out?: string; db?: string; module?: string }) => {
    if (opts.db && !opts.in) return storeFeaturesCommand({ db: opts.db, ...(opts.module ? { module: opts.module } : {}) });
    if (!opts.extractor || !opts.in || !opts.out) throw new InvalidArgumentError('features needs --extractor, --in and --out (or --db)');
    return featuresCommand({ extractor: opts.extractor, in: opts.in, out: opts.out });
  });

program.command('ingest').description('store alert files (all-or-nothing: a bad record stores nothing)')
  .argument('<files...>').option('--db <file>', 'store', DEFAULT_DB).option('--actor <name>', 'who imports', 'cli').action(ingestCommand);
program.command('train').description('retrain a module from its labels in a worker; deploy it if the gate passes')
  .argument('<module>').option('--db <file>', 'store', DEFAULT_DB).option('--seed <seed>', 'random seed', int, 0)
  .option('--trees <count>', 'trees', positiveInt, 100).option('--actor <name>', 'who trains', 'cli').action(trainCommand);
program.command('queue').description("the next alerts to label, with the reason each was chosen")
  .argument('<module>').option('--db <file>', 'store', DEFAULT_DB).option('--k <count>', 'how many', positiveInt, 10)
  .option('--strategy <name>', 'uncertainty | margin | entropy | committee | random', 'uncertainty').option('--expert <name>', 'skip objects this expert labelled')
  .option('--seed <seed>', 'seed for random choices', int, 0).option('--json', 'JSON output', false).action(queueCommand);
program.command('label').description('label an alert (its object inherits the label); retrains after --retrain-every labels')
  .argument('<alert>', 'alert id in the store').argument('<label>').requiredOption('--module <name>', 'module')
  .option('--db <file>', 'store', DEFAULT_DB).option('--expert <name>', 'who labels', 'cli').option('--comment <text>').option('--queue <name>')
  .option('--retrain-every <count>', 'retrain after this many new labels', positiveInt, 10).action(labelCommand);
program.command('models').description('model versions with status and metrics; --plot writes the learning curve as PNG').argument('[module]')
  .option('--db <file>', 'store', DEFAULT_DB).option('--json', 'JSON output', false).option('--plot <png>', "the module's learning curve (metrics vs labels) as a PNG")
  .action((module: string | undefined, opts: { db: string; json: boolean; plot?: string }) => modelsCommand({ ...opts, ...(module ? { module } : {}) }));
program.command('deploy').description('deploy a model version').argument('<module>').argument('<version>')
  .option('--db <file>', 'store', DEFAULT_DB).option('--actor <name>', 'who deploys', 'cli').option('--reason <text>').action(deployCommand);
program.command('rollback').description('back to the previously deployed version').argument('<module>')
  .option('--db <file>', 'store', DEFAULT_DB).option('--actor <name>', 'who rolls back', 'cli').option('--reason <text>').action(rollbackCommand);
program.command('backup').description('copy the store safely while it is in use').argument('<destination>')
  .option('--db <file>', 'store', DEFAULT_DB).action(backupCommand);

program
  .command('basis')
  .description('learn the kilonova PCA basis from noise-free simulations and write it as JSON')
  .requiredOption('--out <file>', 'output JSON')
  .option('--seed <seed>', 'random seed', int)
  .action(basisCommand);

program
  .command('demo')
  .description('the main job: a store with a simulated night (plus the real ZTF and TNS samples), features, and a first deployed version of every module')
  .option('--db <file>', 'store', 'sieve-demo.db')
  .option('--in <file...>', 'alert files to ingest besides the simulated night (default: ../shared samples when present)')
  .option('--n <count>', 'objects in the simulated night', positiveInt, 2000)
  .option('--seed <seed>', 'random seed', int, 1)
  .option('--no-serve', 'exit once the store is ready')
  .option('--port <port>', 'HTTP port', int, 8080)
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--retrain-every <count>', 'retrain a classifier after this many new labels', int, 10)
  .action(demoCommand);

program.command('serve').description('the HTTP API and the web UI over an existing store')
  .option('--db <file>', 'store', DEFAULT_DB).option('--port <port>', 'HTTP port', int, 8080).option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--retrain-every <count>', 'retrain a classifier after this many new labels (0: on demand only)', int, 10)
  .option('--lease-seconds <s>', 'how long a queued alert stays reserved for the expert it was shown to', positiveInt, 120)
  .option('--seed <seed>', 'seed for retraining', int, 0)
  .option('--admin-token <name>', 'create (or renew) this admin account and print its token')
  .action(serveCommand);

program.command('score').description('score an alert stream with the deployed modules (files, a watched folder or Kafka) into JSONL, the store or Kafka')
  .requiredOption('--module <name...>', 'modules to run (early-snia, kilonova, anomaly)')
  .option('--db <file>', 'the registry whose deployed versions score (followed live: deploy/rollback switch between batches)')
  .option('--bundles <dir>', 'a folder of bundle files instead of a registry (a new file switches the scorers)')
  .requiredOption('--from <source...>', 'alert files or folders (Avro, Parquet, JSONL, .gz), or kafka://host:port/topic?group=NAME')
  .requiredOption('--to <sink>', "out.jsonl, '-' for stdout, 'store' (the --db store), or kafka://host:port/topic")
  .option('--format <f>', "results (one line per alert and module) | fink (one enriched line per alert)", 'results')
  .option('--workers <n>', 'scorer threads (0: the main thread)', int, 1)
  .option('--watch', 'keep watching folders for new files until interrupted', false)
  .option('--poll-ms <ms>', 'how often a watched folder is listed', positiveInt, 500)
  .option('--state <file>', 'remember finished files here, so a restart does not score them again')
  .option('--lines-per-unit <n>', 'JSON lines scored per unit (bounds memory)', positiveInt, 2000)
  .option('--anomaly-threshold <score>', 'tag anomaly_candidate when the AAD score is at or below this', Number)
  .option('--progress-seconds <s>', 'progress line every s seconds', Number, 5)
  .action((opts) => {
    if (opts.format !== 'results' && opts.format !== 'fink') throw new InvalidArgumentError(`--format ${opts.format}: results or fink`);
    return scoreCommand(opts);
  });

const user = program.command('user').description('expert and admin accounts (tokens are stored hashed)');
user.command('add').argument('<name>').option('--role <role>', 'expert | admin', 'expert').option('--db <file>', 'store', DEFAULT_DB)
  .action((name: string, opts: { db: string; role: string }) => {
    if (opts.role !== 'expert' && opts.role !== 'admin') throw new InvalidArgumentError(`role '${opts.role}': expert or admin`);
    userAddCommand(name, opts);
  });
user.command('list').option('--db <file>', 'store', DEFAULT_DB).action(userListCommand);
user.command('disable').argument('<name>').option('--db <file>', 'store', DEFAULT_DB).action(userDisableCommand);

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

experiment
  .command('al')
  .description("Fink's early SN Ia active-learning loop (Leoni et al. 2022): a strategy vs random sampling, same seeds")
  .option('--module <name>', 'module', 'early-snia')
  .option('--strategy <name>', 'uncertainty | margin | entropy | random', 'uncertainty')
  .option('--seed <seed>', 'first seed', int, 1)
  .option('--seeds <count>', 'number of seeds', positiveInt, 1)
  .option('--data <source>', "'tns' (real TNS-labelled alerts), 'sim', or a labelled feature table .csv", 'tns')
  .option('--label-column <name>', 'label column of a table')
  .option('--positive <value>', 'positive label of a table')
  .option('--initial <count>', 'initial labels (half positive)', positiveInt, 10)
  .option('--queries <count>', 'queries (one per loop)', positiveInt, 300)
  .option('--trees <count>', 'random-forest trees', positiveInt, 300)
  .option('--sim-n <count>', 'simulated objects for --data sim', positiveInt, 20000)
  .option('--positive-fraction <f>', 'subsample the SN Ia to this fraction of the data (the paper: 1,600 of 23,840 = 0.067)', fraction)
  .option('--out <dir>', 'output directory', 'out/al')
  .action(experimentAlCommand);

program
  .command('export')
  .description('export a trained module: a module of the store (--db; deployed version unless --version) or a bundle file')
  .argument('<module>', 'module name (with --db) or bundle file')
  .requiredOption('--format <format>', 'bundle | onnx | fink-anomaly-zip')
  .requiredOption('--out <path>', 'output file')
  .option('--db <file>', 'store holding the module')
  .option('--version <version>', 'with --db: this version instead of the deployed one')
  .option('--name <name>', "model name inside a Fink zip (forest_g_AAD_<name>.onnx)")
  .action((module: string, opts: { format: string; out: string; db?: string; version?: string; name?: string }) =>
    opts.db ? exportFromStore(module, { ...opts, db: opts.db }) : exportCommand(module, opts));

await program.parseAsync(process.argv);
