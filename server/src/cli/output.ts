/**
 * The CLI's output contract (DESIGN.md): with `--json` the last line of stdout is one JSON object with
 * the command's result (or `{ "error": … }`), and everything else — progress, logs — goes to stderr.
 */
export interface OutputOptions {
  json?: boolean;
}

export function emitResult(result: object, options: OutputOptions, human: (result: never) => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`${human(result as never)}\n`);
}

/** Errors the CLI reports as one line (no stack trace): bad input rather than a bug. */
export class CliError extends Error {
  override name = 'CliError';
}

export function reportError(err: unknown, json: boolean): number {
  const e = err instanceof Error ? err : new Error(String(err));
  const known = ['CliError', 'InvalidActionError', 'EnvOptionsError', 'UnknownEnvError', 'SpaceError', 'EnvCheckError', 'InvalidArgumentError', 'TypeError', 'RangeError'];
  process.stderr.write(`rewardlab: error: ${e.message}\n`);
  if (!known.includes(e.name) && process.env.REWARDLAB_DEBUG) process.stderr.write(`${e.stack}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ error: { name: e.name, message: e.message } })}\n`);
  return 1;
}
