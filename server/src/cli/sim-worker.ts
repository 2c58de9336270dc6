import type { Command } from 'commander';
import { SimWorkerServer, type AnyEnv, type VecEnvLike } from '@rewardlab/sim';
import { isStatefulVecEnv, parseRewardSpec, withReward, withVecReward } from '@rewardlab/rewards';
import { PPO_PRESETS } from '@rewardlab/agents';
import { CliError } from './output';
import { nonNegativeInt, positiveInt, setting } from './parse';

export interface SimWorkerCommandOptions {
  env?: string;
  envModule?: string;
  numEnvs: number;
  groups?: number;
  port: number;
  host: string;
  token?: string;
  reward?: string;
  envOption: Record<string, unknown>;
  preset?: boolean;
  heartbeatMs: number;
  quiet?: boolean;
  json?: boolean;
}

/**
 * `rewardlab sim-worker`: hosts a vector env behind a WebSocket (sim/PROTOCOL.md) until SIGINT/SIGTERM,
 * which drain it (the frame in progress is finished and answered, then the sessions are closed). The
 * port also answers `GET /healthz` and `GET /readyz` (503 while draining) for container probes.
 * Once listening it prints one line (with --json, one JSON object: url, port, env, numEnvs); logs go to
 * stderr. The token can also come from REWARDLAB_WORKER_TOKEN, which keeps it out of `ps`.
 */
export function registerSimWorkerCommand(program: Command): void {
  program
    .command('sim-worker')
    .description('host a vector env for remote trainers over WebSockets (sim/PROTOCOL.md)')
    .option('--env <id>', 'registered env id')
    .option('--env-module <file>', 'module whose default export builds the env')
    .option('--num-envs <n>', 'envs hosted by this worker', positiveInt, 8)
    .option('--groups <n>', 'independent env groups (one session each), so a trainer can keep one queued while another simulates (default: 2, at most --num-envs)', positiveInt)
    .option('--port <n>', 'TCP port (0: any free port)', nonNegativeInt, 9100)
    .option('--host <addr>', 'address to bind (use 0.0.0.0 only on a trusted network, with --token)', '127.0.0.1')
    .option('--token <secret>', 'shared secret that clients must present (default: $REWARDLAB_WORKER_TOKEN)')
    .option('--reward <spec>', "reward spec (preset name or JSON file) the envs pay instead of their own; must match the trainer's")
    .option('--env-option <key=value>', 'an env option (repeatable), e.g. --env-option noTouchTimeoutSeconds=10', setting, {})
    .option('--preset', "host the env as `rewardlab train --env ID` trains it by default: the PPO preset's reward spec and env options (under --reward and --env-option)")
    .option('--heartbeat-ms <n>', 'ping interval; a client silent for three intervals is dropped', positiveInt, 10_000)
    .option('--quiet', 'no session logs on stderr')
    .option('--json', 'print the listening address as one JSON object on stdout')
    .action(async (opts: SimWorkerCommandOptions) => {
      if (!opts.env && !opts.envModule) throw new CliError('give --env ID or --env-module FILE (see `rewardlab envs`)');
      if (opts.port > 65535) throw new CliError(`--port must be at most 65535, got ${opts.port}`);
      const token = opts.token ?? process.env.REWARDLAB_WORKER_TOKEN;
      if (!token && opts.host !== '127.0.0.1' && opts.host !== 'localhost' && opts.host !== '::1') {
        process.stderr.write(`rewardlab sim-worker: warning: listening on ${opts.host} without a token; anyone who can reach it can drive the env\n`);
      }
      const log = opts.quiet ? undefined : (line: string) => process.stderr.write(`rewardlab sim-worker: ${line}\n`);
      const preset = opts.preset && opts.env ? PPO_PRESETS[opts.env] : undefined;
      if (opts.preset && !preset) throw new CliError(`--preset: ${opts.env ?? 'an env module'} has no PPO preset`);
      const rewardInput = opts.reward ?? preset?.reward;
      const reward = rewardInput !== undefined ? parseRewardSpec(rewardInput) : null;
      const envOptions = { ...(preset?.envOptions ?? {}), ...opts.envOption };
      if (opts.groups !== undefined && opts.groups > opts.numEnvs) throw new CliError(`--groups must be at most --num-envs (${opts.numEnvs}), got ${opts.groups}`);
      const groups = opts.groups ?? Math.min(2, opts.numEnvs);
      const server = await SimWorkerServer.start({
        // A reward over carball's arenas wraps the whole vector (one Rapier world), as local training does.
        ...(reward ? { wrapEnv: (env: AnyEnv) => withReward(env, reward), wrapVec: (vec: VecEnvLike) => (isStatefulVecEnv(vec) && vec.autoresetMode === 'next-step' ? withVecReward(vec, reward) : null), reward } : {}),
        ...(Object.keys(envOptions).length ? { envOptions } : {}),
        ...(opts.envModule ? { envModule: opts.envModule } : { envId: opts.env }),
        numEnvs: opts.numEnvs,
        groups,
        port: opts.port,
        host: opts.host,
        ...(token ? { token } : {}),
        heartbeatMs: opts.heartbeatMs,
        ...(log ? { log } : {}),
      });
      const info = { url: server.url, port: server.port, host: opts.host, env: server.envIdHosted, numEnvs: opts.numEnvs, groups, token: Boolean(token), reward: Boolean(reward) };
      process.stdout.write(opts.json ? `${JSON.stringify(info)}\n` : `sim worker for ${info.env} × ${info.numEnvs} (${groups} group${groups > 1 ? 's' : ''}) listening on ${info.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          // Always said, even with --quiet: an orchestrator's logs should show a clean drain.
          process.stderr.write(`rewardlab sim-worker: ${signal}: finishing the frame in progress and closing the sessions\n`);
          void server.close().then(
            (sessions) => {
              process.stderr.write(`rewardlab sim-worker: drained after ${server.stats.steps} steps; closed ${sessions} session${sessions === 1 ? '' : 's'}\n`);
              resolve();
            },
            (err: unknown) => {
              process.stderr.write(`rewardlab sim-worker: error while draining: ${(err as Error).message}\n`);
              resolve();
            },
          );
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
