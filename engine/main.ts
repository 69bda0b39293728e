// The `sieve` command's entry point and the one place that knows all three applications: it hands the CLI
// the server and the scorer it launches, loaded only when a command needs them.
import { buildProgram } from './cli/program.ts';
import { runCli } from './cli/run.ts';

await runCli(buildProgram({ server: () => import('./server/command.ts'), scorer: () => import('./scorer/command.ts') }), process.argv);
