import type { Command } from 'commander';
import { checkEnv, describeEnvs, formatSpace, makeEnv } from '@rewardlab/sim';
import { benchEnv } from './bench';
import { emitResult } from './output';

/**
 * What `npm start` runs until the API server exists: every registered env through the env checker,
 * then a vectorised random-policy rollout of each with live progress.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('check every registered env and roll each out with a random policy')
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { json?: boolean }) => {
      const envs = await describeEnvs();
      const results: { env: string; checks: number; stepsPerSecond: number; episodes: number; meanEpisodeReturn: number | null }[] = [];
      for (const e of envs) {
        process.stderr.write(`\n${e.id}: obs ${formatSpace(e.observationSpace)}, action ${formatSpace(e.actionSpace)}\n`);
        const report = await checkEnv(await makeEnv(e.id));
        process.stderr.write(`  env checker: ${report.checks.length} checks passed\n`);
        const bench = await benchEnv({ env: e.id, numEnvs: 16, steps: 5000, seed: 0, progress: true });
        results.push({ env: e.id, checks: report.checks.length, stepsPerSecond: bench.stepsPerSecond, episodes: bench.episodes, meanEpisodeReturn: bench.meanEpisodeReturn });
      }
      emitResult({ demo: 'envs', results }, opts, (r: { results: typeof results }) =>
        r.results.map((x) => `${x.env.padEnd(14)} ${Math.round(x.stepsPerSecond).toLocaleString('en').padStart(12)} steps/s  random-policy mean return ${x.meanEpisodeReturn?.toFixed(1)}`).join('\n'),
      );
    });
}
