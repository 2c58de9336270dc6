/** Runs the built `rewardlab` CLI as a user would, for the CLI test suites. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const REWARDLAB_BIN = join(__dirname, '..', '..', 'bin', 'rewardlab.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (the `--json` contract), or null when it is not JSON. */
  last: Record<string, unknown> | null;
}

export function runCli(args: readonly string[], timeoutMs = 300_000): CliRun {
  const r = spawnSync(process.execPath, [REWARDLAB_BIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  const lines = r.stdout.trim().split('\n');
  let last: Record<string, unknown> | null = null;
  try {
    last = JSON.parse(lines[lines.length - 1]!);
  } catch {
    last = null;
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, last };
}

/** `rewardlab(...args)`: runCli with the arguments spread. */
export function rewardlab(...args: string[]): CliRun {
  return runCli(args);
}
