import { CommanderError, InvalidArgumentError, type Command } from 'commander';

/**
 * Runs the CLI so that every failure is one line on stderr: `sieve: <command>: <why>`, exit status 2 for a
 * usage error (commander's own, or an option refused by our checks) and 1 for a run that failed. The
 * stack only with SIEVE_DEBUG=1.
 */
export async function runCli(program: Command, argv: readonly string[]): Promise<void> {
  const debug = process.env.SIEVE_DEBUG === '1';
  // `sieve queue ... | head` closes the pipe early: the reader has what it wanted, which is no crash
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw e;
  });
  let command = '';
  program.hook('preAction', (_root, action) => {
    const names: string[] = [];
    for (let c: Command | null = action; c && c !== program; c = c.parent) names.unshift(c.name());
    command = names.join(' ');
  });
  const exitOverride = (c: Command) => {
    c.exitOverride();
    c.configureOutput({ outputError: (text, write) => write(`sieve: ${text.trim().replace(/^error: /, '')} (see 'sieve ${c === program ? '' : `${fullName(c, program)} `}--help')\n`) });
    for (const sub of c.commands) exitOverride(sub);
  };
  exitOverride(program);
  try {
    await program.parseAsync(argv as string[]);
  } catch (e) {
    process.exitCode = report(e, command, debug);
  }
}

function fullName(c: Command, root: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x && x !== root; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}

/** Prints the error as one line (more only with SIEVE_DEBUG=1) and returns the exit status. */
export function report(e: unknown, command: string, debug = process.env.SIEVE_DEBUG === '1'): number {
  // commander's own errors were printed through outputError; an InvalidArgumentError (UsageError) thrown by
  // an action's checks was not
  if (e instanceof CommanderError && !(e instanceof InvalidArgumentError)) {
    // commander printed its message already (through outputError); help and version are not failures
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    return 2;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const lines = err.message.split('\n').filter((l) => l.trim());
  const first = (lines[0] ?? err.name).replace(/^sieve: /, '');
  const prefix = command && !first.startsWith(`${command}:`) ? `${command}: ` : '';
  const more = lines.length > 1 && !debug ? ` (+${lines.length - 1} more line(s): SIEVE_DEBUG=1 shows them)` : '';
  process.stderr.write(`sieve: ${prefix}${first}${more}\n`);
  if (debug) {
    if (lines.length > 1) process.stderr.write(`${lines.slice(1).join('\n')}\n`);
    if (err.stack) process.stderr.write(`${err.stack}\n`);
  }
  // a module name the store does not know is a mistake in the call, like an unknown option value
  return e instanceof InvalidArgumentError || err.name === 'UnknownModuleError' ? 2 : 1;
}
