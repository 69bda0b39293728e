import { Command, InvalidArgumentError, Option } from 'commander';
import type * as DemoCmd from './demo.ts';
import type { Applications } from './applications.ts';
import type * as ExperimentCmd from './experiment.ts';
import {
  AL_STRATEGIES, DEFAULT_AL_DATA, DEFAULT_DB, DEFAULT_SHARED_DATA, EXPORT_FORMATS, EXTRACTOR_NAMES, SIMULATED_CLASS_NAMES, STRATEGY_NAMES,
} from './names.ts';
import {
  UsageError, commaList, finiteNumber, fraction, int, nonEmpty, nonNegativeInt, nonNegativeNumber, outFile, outFolder, port, positiveInt, requireFiles, requireWritableFile, requireWritableFolder, samples,
} from './options.ts';
import { checkPullFlags, type PullFlags } from './pullOptions.ts';
import { CUTOUT_CHOICES } from '../adapters/finkApi/types.ts';

// Commands load their code only when they run: `sieve` checks its options and answers --help without
// loading the feature, model and server code (start-up time).
const storeCmds = () => import('./storeCommands.ts');
const userCmds = () => import('./userCommands.ts');
const experimentCmds = () => import('./experiment.ts');
const lazy = <M, K extends keyof M>(load: () => Promise<M>, name: K) => async (...args: unknown[]): Promise<void> => {
  await ((await load())[name] as (...a: unknown[]) => unknown)(...args);
};

// Modules are declarations in the store: here their names are checked for form, by the command for existence.
const moduleArg = (v: string) => {
  if (!/^[a-z][a-z0-9-]{1,47}$/.test(v)) throw new InvalidArgumentError(`'${v}' is not a module name (lower case, digits and '-')`);
  return v;
};
const dbOption = () => new Option('--db <file>', 'store').default(DEFAULT_DB).argParser(nonEmpty);

/**
 * The `sieve` command line. The applications it launches (the server for `serve` and `demo`, the scorer for
 * `score`) are given by the caller (engine/main.ts), so that the CLI never imports them.
 */
export function buildProgram(apps: Applications): Command {
  const program = new Command();
  program.name('sieve').description('Active-learning and anomaly-detection workbench for alert brokers');

  program
    .command('simulate')
    .description('write a seeded, reproducible set of simulated light curves, ZTF-like or Rubin/LSST-like (Sieve JSON lines; .gz compresses)')
    .requiredOption('--out <file>', 'output file (.jsonl or .jsonl.gz)', outFile('--out'))
    .addOption(new Option('--survey <survey>', 'ztf: g and r magnitudes, ZTF cadence; lsst: ugrizy fluxes in nJy, a wide-fast-deep-like cadence').choices(['ztf', 'lsst']).default('ztf'))
    .option('--n <count>', 'number of objects', positiveInt, 1000)
    .option('--seed <seed>', 'random seed', int, 1)
    .option('--classes <list>', 'comma-separated classes to draw from (default: all)', (v: string) => commaList(SIMULATED_CLASS_NAMES)(v).join(','))
    .option('--workers <count>', 'worker threads (default: all cores)', positiveInt)
    .option('--no-progress', 'no progress line on stderr')
    .action(lazy(() => import('./simulate.ts'), 'simulateCommand'));

  program
    .command('features')
    .description('features of every alert of a file into CSV (--extractor, --in, --out), or of every stored alert (--db)')
    .addOption(new Option('--extractor <name>', 'feature extractor').choices(EXTRACTOR_NAMES))
    .option('--in <file...>', 'alert file(s) (.jsonl, .parquet, .avro, detected by content)')
    .option('--out <file>', 'output CSV', outFile('--out'))
    .option('--db <file>', 'compute into the store instead, for every module (or --module)', nonEmpty)
    .option('--module <name>', 'with --db: only this module', moduleArg)
    .option('--workers <count>', 'with --db: worker threads (default: all cores)', positiveInt)
    .action(async (opts: { extractor?: string; in?: string[]; out?: string; db?: string; module?: string; workers?: number }) => {
      if (opts.db) {
        if (opts.extractor || opts.in || opts.out) throw new UsageError('--db computes the modules\' features into the store; --extractor, --in and --out write a CSV instead: give one or the other');
        return (await storeCmds()).storeFeaturesCommand({ db: opts.db, ...(opts.module ? { module: opts.module } : {}), ...(opts.workers ? { workers: opts.workers } : {}) });
      }
      if (opts.module || opts.workers) throw new UsageError('--module and --workers go with --db');
      if (!opts.extractor || !opts.in || !opts.out) throw new UsageError('features needs --extractor, --in and --out (or --db)');
      requireFiles('--in', opts.in);
      return (await import('./features.ts')).featuresCommand({ extractor: opts.extractor, in: opts.in, out: opts.out });
    });

  program.command('ingest').description('store alert files (all-or-nothing: a bad record stores nothing); creates the store if needed')
    .argument('<files...>').addOption(dbOption()).option('--actor <name>', 'who imports', 'cli')
    .action(async (files: string[], opts: { db: string; actor: string }) => {
      requireFiles('ingest', files);
      return (await storeCmds()).ingestCommand(files, opts);
    });
  program.command('train').description('retrain a module from its labels in a worker; deploy it if the gate passes')
    .argument('<module>', 'a module of the store', moduleArg).addOption(dbOption())
    .option('--seed <seed>', 'random seed', int, 0)
    .option('--trees <count>', "trees (default: the module's model.trees)", positiveInt).option('--actor <name>', 'who trains', 'cli').action(lazy(storeCmds, 'trainCommand'));
  program.command('queue').description("the next alerts to label, with the reason each was chosen")
    .argument('<module>', 'a module of the store', moduleArg).addOption(dbOption()).option('--k <count>', 'how many', positiveInt, 10)
    .addOption(new Option('--strategy <name>', 'query strategy (classifier modules; the anomaly module ranks by AAD score)').choices(STRATEGY_NAMES))
    .option('--expert <name>', 'skip objects this expert labelled')
    .option('--seed <seed>', 'seed for random choices', int, 0).option('--json', 'JSON output', false)
    .action(async (module: string, opts: { db: string; k: number; strategy?: (typeof STRATEGY_NAMES)[number]; expert?: string; seed: number; json: boolean }) => {
      return (await storeCmds()).queueCommand(module, opts);
    });
  program.command('label').description('label an alert (its object inherits the label); retrains after --retrain-every labels')
    .argument('<alert>', 'alert id in the store', (v: string) => String(positiveInt(v))).argument('<label>')
    .requiredOption('--module <name>', 'a module of the store', moduleArg)
    .addOption(dbOption()).option('--expert <name>', 'who labels', 'cli').option('--comment <text>').option('--queue <name>')
    .option('--retrain-every <count>', "retrain after this many new labels (default: the module's retrain.every)", positiveInt).action(lazy(storeCmds, 'labelCommand'));
  program.command('models').description('model versions with status and metrics; --plot the learning curve, --report a self-contained HTML page')
    .argument('[module]', 'a module of the store', moduleArg)
    .addOption(dbOption()).option('--json', 'JSON output', false).option('--plot <name>', "the module's learning curve as NAME.svg, NAME.png and NAME.vl.json", outFile('--plot'))
    .option('--report <file.html>', 'one self-contained HTML page about the module (declaration, versions, figures, labels, deployments)', outFile('--report'))
    .action(async (module: string | undefined, opts: { db: string; json: boolean; plot?: string; report?: string }) => {
      if ((opts.plot || opts.report) && !module) throw new UsageError('--plot and --report need a module');
      return (await storeCmds()).modelsCommand({ ...opts, ...(module ? { module } : {}) });
    });
  program.command('deploy').description('deploy a model version').argument('<module>', 'module', moduleArg).argument('<version>', 'version number', positiveInt)
    .addOption(dbOption()).option('--actor <name>', 'who deploys', 'cli').option('--reason <text>').action(lazy(storeCmds, 'deployCommand'));
  program.command('rollback').description('back to the previously deployed version').argument('<module>', 'module', moduleArg)
    .addOption(dbOption()).option('--actor <name>', 'who rolls back', 'cli').option('--reason <text>').action(lazy(storeCmds, 'rollbackCommand'));
  program.command('backup').description('copy the store safely while it is in use').argument('<destination>', 'the copy (a new file)', outFile('backup'))
    .addOption(dbOption()).action(lazy(storeCmds, 'backupCommand'));

  program
    .command('basis')
    .description('learn the kilonova PCA basis from noise-free simulations and write it as JSON')
    .requiredOption('--out <file>', 'output JSON', outFile('--out'))
    .option('--seed <seed>', 'random seed', int)
    .action(lazy(() => import('./basis.ts'), 'basisCommand'));

  program
    .command('demo')
    .description('the main job: a store with a simulated night (plus the real ZTF and TNS samples), features, and a first version of every module (trained on a classified archive and part of the night, deployed unless degenerate)')
    .addOption(dbOption())
    .option('--in <file...>', `alert files to ingest besides the simulated night (default: the samples in --shared)`)
    .option('--shared <dir>', 'the shared data folder whose real ZTF alerts (with stamps) the demo ingests when --in is not given', DEFAULT_SHARED_DATA)
    .option('--n <count>', 'objects in each simulated night (ZTF, Rubin) and in the classified ZTF archive', positiveInt, 2000)
    .option('--seed <seed>', 'random seed', int, 1)
    .option('--no-serve', 'exit once the store is ready')
    .option('--port <port>', 'HTTP port', port, 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--retrain-every <count>', 'retrain a classifier after this many new labels (0: on demand only)', nonNegativeInt, 10)
    .action(async (opts: Parameters<typeof DemoCmd.demoCommand>[0]) => {
      if (opts.in) requireFiles('--in', opts.in);
      return (await import('./demo.ts')).demoCommand(opts, opts.serve ? await apps.server() : undefined);
    });

  program.command('serve').description('the HTTP API and the web UI over an existing store')
    .addOption(dbOption()).option('--port <port>', 'HTTP port', port, 8080).option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--retrain-every <count>', 'retrain a classifier after this many new labels (0: on demand only)', nonNegativeInt, 10)
    .option('--lease-seconds <s>', 'how long a queued alert stays reserved for the expert it was shown to', positiveInt, 120)
    .option('--seed <seed>', 'seed for retraining', int, 0)
    .option('--admin-token <name>', 'create (or renew) this admin account and print its token')
    .action(async (opts: Parameters<Awaited<ReturnType<Applications['server']>>['serveCommand']>[0]) => (await apps.server()).serveCommand(opts));

  program.command('score').description('score an alert stream with the deployed modules (files, a watched folder or Kafka) into JSONL, the store or Kafka')
    .requiredOption('--module <name...>', 'modules to run (of the --db store, or bundles in --bundles)', (v: string, prev: string[] | undefined) => [...(prev ?? []), moduleArg(v)])
    .option('--db <file>', 'the registry whose deployed versions score (followed live: deploy/rollback switch between batches)', nonEmpty)
    .option('--bundles <dir>', 'a folder of bundle files instead of a registry (a new file switches the scorers)')
    .requiredOption('--from <source...>', 'alert files or folders (Avro, Parquet, JSONL, .gz), or kafka://host:port/topic?group=NAME')
    .requiredOption('--to <sink>', "out.jsonl, '-' for stdout, 'store' (the --db store), or kafka://host:port/topic")
    .addOption(new Option('--format <f>', 'results: one line per alert and module; fink: one enriched line per alert').choices(['results', 'fink']).default('results'))
    .option('--workers <n>', 'scorer threads (0: the main thread)', nonNegativeInt, 1)
    .option('--watch', 'keep watching folders for new files until interrupted', false)
    .option('--poll-ms <ms>', 'how often a watched folder is listed', positiveInt, 500)
    .option('--state <file>', 'remember finished files here, so a restart does not score them again')
    .option('--lines-per-unit <n>', 'JSON lines scored per unit (bounds memory)', positiveInt, 2000)
    .option('--anomaly-threshold <score>', 'tag anomaly_candidate when the AAD score is at or below this', finiteNumber)
    .option('--progress-seconds <s>', 'progress line every s seconds (0: none)', nonNegativeNumber, 5)
    .option('--schema <file.avsc>', "Kafka: the writer schema of schemaless messages whose key is not one (Fink's livestream, as fink-client's schema_path)")
    .option('--schema-dir <dir>', 'Kafka: schemas by version name, for message keys that name one (distribution_schema_fink_ztf_<key>.avsc)')
    .option('--stop-seconds <s>', 'after SIGTERM/SIGINT, how long the units in flight may take before the scorer exits anyway (a second signal exits at once)', nonNegativeNumber, 10)
    .action(async (opts) => {
      if (!opts.db === !opts.bundles) throw new UsageError('give either --db (the registry: deployed versions) or --bundles DIR (a folder of bundle files)');
      if (opts.bundles) requireFiles('--bundles', [opts.bundles]);
      if (opts.to === 'store' && !opts.db) throw new UsageError('--to store writes into the --db store');
      if (opts.anomalyThreshold !== undefined && !opts.module.includes('anomaly')) throw new UsageError('--anomaly-threshold applies to the anomaly module, which --module does not name');
      const files = (opts.from as string[]).filter((f) => !f.startsWith('kafka://'));
      if (files.length && files.length !== opts.from.length) throw new UsageError('a Kafka source cannot be mixed with files');
      requireFiles('--from', files);
      if (opts.state && !files.length) throw new UsageError('--state remembers finished files; a Kafka source keeps its place with committed offsets');
      if ((opts.schema || opts.schemaDir) && files.length) throw new UsageError('--schema and --schema-dir describe Kafka messages; files carry their schema');
      if (opts.schema) requireFiles('--schema', [opts.schema]);
      if (opts.schemaDir) requireFiles('--schema-dir', [opts.schemaDir]);
      return (await apps.scorer()).scoreCommand(opts);
    });

  const mod = program.command('module').description('science modules as declarations (JSON or YAML): add, list, show, check, disable; the JSON Schema');
  mod.command('schema').description('print the JSON Schema of a module declaration').action(lazy(() => import('./moduleCommands.ts'), 'moduleSchemaCommand'));
  mod.command('add').description('validate a declaration and store it as the module\'s next revision').argument('<file>').addOption(dbOption())
    .option('--actor <name>', 'who adds it', 'cli')
    .action(async (file: string, opts: { db: string; actor: string }) => {
      requireFiles('module add', [file]);
      return (await import('./moduleCommands.ts')).moduleAddCommand(file, opts);
    });
  mod.command('list').description('the modules of the store').addOption(dbOption()).option('--json', 'JSON output', false).action(lazy(() => import('./moduleCommands.ts'), 'moduleListCommand'));
  mod.command('show').description('a module: its declaration, cut pass rate on the stored alerts, labels per class, versions').argument('<name>', 'module', moduleArg)
    .addOption(dbOption()).option('--json', 'JSON output', false).action(lazy(() => import('./moduleCommands.ts'), 'moduleShowCommand'));
  mod.command('check').description('dry run of a declaration on alert files: cut pass rate, missing features, label keys').argument('<file>')
    .requiredOption('--in <files...>', 'alert files').action(async (file: string, opts: { in: string[] }) => {
      requireFiles('module check', [file]);
      requireFiles('--in', opts.in);
      return (await import('./moduleCommands.ts')).moduleCheckCommand(file, opts);
    });
  mod.command('disable').description('take a module out of the workbench and the scorer (its revisions, labels and versions stay)').argument('<name>', 'module', moduleArg)
    .addOption(dbOption()).option('--actor <name>', 'who disables it', 'cli').action(lazy(() => import('./moduleCommands.ts'), 'moduleDisableCommand'));

  const pull = program.command('pull').description("alerts from a broker's API into the store");
  pull.command('fink').description("Fink's REST APIs (ZTF, LSST): the latest alerts of a class, objects by id (history, upper limits, bad-quality detections, cutouts), or a cone search")
    .addOption(new Option('--survey <survey>', 'whose API: ztf (api.ztf.fink-portal.org) or lsst (api.lsst.fink-portal.org)').choices(['ztf', 'lsst']).default('ztf'))
    .addOption(dbOption())
    .option('--class <name>', "ZTF latests: a Fink class, e.g. 'Early SN Ia candidate' or '(TNS) SN Ia'")
    .option('--start <date>', 'latests: first day (YYYY-MM-DD)').option('--stop <date>', 'latests: day after the last (YYYY-MM-DD)')
    .option('--n <count>', 'latests: alerts per page at most', positiveInt, 1000).option('--window-days <d>', 'latests: days per page', positiveInt, 1)
    .option('--object <id...>', 'objects: ZTF objectIds or Rubin diaObjectIds (one page each)')
    .option('--cone <ra,dec,radius>', 'conesearch: degrees, degrees, arcsec (at most 18000)')
    .option('--base-url <url>', "the API's address (default: Fink's API of the survey)")
    .addOption(new Option('--cutouts <which>', 'whose stamps to keep: latest (the newest alert of each object), all, none').choices(CUTOUT_CHOICES).default('latest'))
    .option('--rate <per-second>', 'requests per second at most', finiteNumber, 2).option('--retries <n>', 'retries after a network failure, a timeout, a 429 or a 5xx', nonNegativeInt, 3)
    .option('--timeout <seconds>', 'a request that sends nothing for this long fails', finiteNumber, 30)
    .option('--deadline <seconds>', 'stop the whole pull after this long (default: none)', finiteNumber)
    .option('--max-wait <seconds>', 'the longest Retry-After obeyed; a longer one stops the pull', finiteNumber, 300)
    .action(async (opts: PullFlags) => {
      const call = checkPullFlags(opts);
      return (await storeCmds()).pullFinkCommand(call, opts);
    });

  const imp = program.command('import').description('bring models made elsewhere into a module');
  imp.command('sklearn').description("a pickled scikit-learn RandomForestClassifier (e.g. the model a Fink module runs) as the module's next version")
    .argument('<file>', '.pkl file').requiredOption('--module <name>', 'a classifier module of the store', moduleArg).addOption(dbOption())
    .option('--deploy', 'deploy it at once (otherwise a candidate to compare in the models view)', false).option('--actor <name>', 'who imports', 'cli')
    .action(async (file: string, opts: { module: string; db: string; deploy: boolean; actor: string }) => {
      requireFiles('import sklearn', [file]);
      return (await storeCmds()).importSklearnCommand(file, opts);
    });

  const user = program.command('user').description('expert and admin accounts (tokens are stored hashed)');
  user.command('add').description('a new expert or admin account, or a new token for an existing one (printed once, stored hashed)').argument('<name>').addOption(new Option('--role <role>', 'role').choices(['expert', 'admin']).default('expert')).addOption(dbOption())
    .action(lazy(userCmds, 'userAddCommand'));
  user.command('list').description('the accounts with their roles').addOption(dbOption()).action(lazy(userCmds, 'userListCommand'));
  user.command('disable').description('disable an account: its token stops working, its labels stay').argument('<name>').addOption(dbOption()).action(lazy(userCmds, 'userDisableCommand'));

  const experiment = program.command('experiment').description('reproducible experiments');
  experiment
    .command('anomaly')
    .description('isolation forest vs AAD with a simulated expert: rare objects found among the first alerts shown')
    .requiredOption('--out <dir>', 'output directory (summary.json, curves.csv, discovery.png)', outFolder('--out'))
    .option('--seeds <count>', 'number of seeds (1..count)', positiveInt, 5)
    .option('--n <count>', 'simulated objects per seed', positiveInt, 5000)
    .option('--rare-fraction <f>', 'fraction of rare objects', fraction, 0.01)
    .option('--rare-classes <list>', "comma-separated simulated classes the expert hunts (default: 'eclipsing binary')", (v: string) => commaList(SIMULATED_CLASS_NAMES)(v).join(','))
    .option('--budget <count>', 'alerts shown to the expert', positiveInt, 100)
    .option('--trees <count>', 'trees per forest', positiveInt, 150)
    .option('--max-samples <n>', 'rows per tree (count, or fraction of N as Fink trains with 0.5)', samples, 256)
    .option('--data <table.csv>', 'a labelled feature table instead of simulations')
    .option('--label-column <name>', 'label column of --data')
    .option('--positive <value>', 'label value of the rare objects in --data')
    .option('--positive-fraction <f>', 'subsample the positives of --data to this fraction (seeded)', fraction)
    .action(async (opts: Parameters<typeof ExperimentCmd.experimentAnomalyCommand>[0]) => {
      if (!opts.data && (opts.labelColumn || opts.positive !== undefined || opts.positiveFraction !== undefined)) throw new UsageError('--label-column, --positive and --positive-fraction describe a --data table; the simulated run takes --rare-classes and --rare-fraction');
      if (opts.data && opts.rareClasses) throw new UsageError('--rare-classes picks simulated classes; with --data give --label-column and --positive');
      if (opts.data) {
        requireFiles('--data', [opts.data]);
        if (!opts.labelColumn || opts.positive === undefined) throw new UsageError('--data needs --label-column and --positive');
      }
      return (await experimentCmds()).experimentAnomalyCommand(opts);
    });

  experiment
    .command('al')
    .description("the active-learning loop of Leoni et al. (2022), for early SN Ia or any two-class module: strategies vs random sampling, same seeds; several modules (a forest and a network) side by side")
    .option('--module <name|file...>', 'shipped two-class modules (early-snia, kilonova, ...) or declaration files; several run side by side on the same seeds', ['early-snia'])
    .option('--strategy <list>', `strategies to compare with random sampling, comma-separated: ${AL_STRATEGIES.join(', ')}`, commaList(AL_STRATEGIES), ['uncertainty'])
    .option('--seed <seed>', 'first seed', int, 1)
    .option('--seeds <count>', 'number of seeds', positiveInt, 1)
    .option('--data <source...>', `labelled alert files or folders (Parquet, Avro, JSON lines; label = TNS class or --label-column), a labelled feature table .csv, or 'sim'`, [DEFAULT_AL_DATA])
    .option('--label-column <name>', 'label column of a table')
    .option('--positive <value>', 'positive label of a table')
    .option('--initial <count>', 'initial labels (half positive)', positiveInt, 10)
    .option('--queries <count>', 'queries', positiveInt, 300)
    .option('--batch <count>', 'queries per retraining (1: the paper\'s loop)', positiveInt, 1)
    .option('--trees <count>', 'random-forest trees', positiveInt, 300)
    .option('--sim-n <count>', 'simulated objects for --data sim', positiveInt, 20000)
    .option('--positive-fraction <f>', 'subsample the SN Ia to this fraction of the data (the paper: 1,600 of 23,840 = 0.067)', fraction)
    .option('--out <dir>', 'output directory', outFolder('--out'), 'out/al')
    .action(async (opts: Parameters<typeof ExperimentCmd.experimentAlCommand>[0]) => {
      const sim = opts.data.length === 1 && opts.data[0] === 'sim';
      if (sim && (opts.labelColumn || opts.positive !== undefined)) throw new UsageError("--label-column and --positive describe your data; 'sim' labels itself (SN Ia vs the rest)");
      if (!sim && opts.simN !== 20000) throw new UsageError("--sim-n goes with --data sim");
      if (!sim && opts.data.includes('sim')) throw new UsageError("'sim' cannot be mixed with files");
      if (!sim) requireFiles('--data', opts.data);
      return (await experimentCmds()).experimentAlCommand(opts);
    });

  program
    .command('export')
    .description('export a trained module: a module of the store (--db; deployed version unless --version) or a bundle file')
    .argument('<module>', 'module name (with --db) or bundle file')
    .addOption(new Option('--format <format>', 'export format').choices(EXPORT_FORMATS).makeOptionMandatory())
    .requiredOption('--out <path>', 'output file (fink-science: a folder, laid out as a fink-science checkout)')
    .option('--db <file>', 'store holding the module', nonEmpty)
    .option('--version <version>', 'with --db: this version instead of the deployed one', (v: string) => String(positiveInt(v)))
    .option('--name <name>', "model name inside a Fink zip (forest_g_AAD_<name>.onnx)")
    .action(async (module: string, opts: { format: string; out: string; db?: string; version?: string; name?: string }) => {
      if (opts.format === 'fink-science') requireWritableFolder('--out', opts.out);
      else requireWritableFile('--out', opts.out);
      if (opts.db) {
        moduleArg(module);
        return (await storeCmds()).exportFromStore(module, { ...opts, db: opts.db });
      }
      if (opts.version) throw new UsageError('--version picks a version of a --db store; a bundle file is one version');
      requireFiles('export', [module]);
      return (await import('./export.ts')).exportCommand(module, opts);
    });
  return program;
}
