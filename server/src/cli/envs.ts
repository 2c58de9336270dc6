import type { Command } from 'commander';
import { checkEnv, describeEnvs, formatSpace, loadEnvModule, makeEnv, type AnyEnv } from '@rewardlab/sim';
import { CliError, emitResult } from './output';
import { nonNegativeInt } from './parse';

export function registerEnvCommands(program: Command): void {
  program
    .command('envs')
    .description('list the registered envs with their spaces')
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { json?: boolean }) => {
      const envs = await describeEnvs();
      emitResult({ envs }, opts, (r: { envs: typeof envs }) =>
        r.envs
          .map((e) => `${e.id.padEnd(16)} agents ${e.numAgents}  obs ${formatSpace(e.observationSpace)}  action ${formatSpace(e.actionSpace)}${e.maxEpisodeSteps ? `  limit ${e.maxEpisodeSteps}` : ''}`)
          .join('\n'),
      );
    });

  program
    .command('check-env')
    .description("run the env checker (the env contract's executable checks) on a registered env or an env module")
    .option('--env <id>', 'registered env id')
    .option('--env-module <file>', "module whose default export builds the env")
    .option('--seed <n>', 'seed for the checks', nonNegativeInt, 42)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { env?: string; envModule?: string; seed: number; json?: boolean }) => {
      const env = await openEnv(opts);
      const report = await checkEnv(env, { seed: opts.seed });
      emitResult({ ok: true, ...report }, opts, (r: typeof report) => `${r.envId}: all checks passed\n${r.checks.map((c) => `  ✓ ${c}`).join('\n')}`);
    });
}

/** The env named by `--env` or `--env-module`. */
export async function openEnv(opts: { env?: string; envModule?: string }): Promise<AnyEnv> {
  if (opts.envModule) {
    const { factory } = await loadEnvModule(opts.envModule);
    return factory({});
  }
  if (!opts.env) throw new CliError('give --env ID or --env-module FILE (see `rewardlab envs`)');
  return makeEnv(opts.env);
}
