/** `rewardlab serve`: the API server until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0–65535)');
  return n;
}

export interface ServeOptions {
  port: number;
  host: string;
  db?: string;
  dataDir?: string;
  viewer?: string;
  cors?: string;
  demo?: boolean;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the API server (REST, WebSocket stream, OpenAPI docs at /api/docs)')
    .option('--port <n>', 'port (0: any free port)', port, 3000)
    .option('--host <addr>', 'address to listen on', '0.0.0.0')
    .option('--db <url>', 'postgres://… or sqlite:PATH (default: $DATABASE_URL, else ./data/rewardlab.sqlite)')
    .option('--data-dir <dir>', 'where run directories (checkpoints, replays) go (default: next to the SQLite file, else ./data)')
    .option('--cors <origins>', 'allowed CORS origins, comma-separated, * for any (default: $REWARDLAB_CORS, else none)')
    .option('--viewer <dir>', 'static files to serve at / (default: viewer/dist when it exists)')
    .option('--demo', 'start a demo run when the database has no runs')
    .action(async (opts: ServeOptions) => {
      const { startServer } = require('../app/server') as typeof import('../app/server');
      const server = await startServer({ port: opts.port, host: opts.host, ...(opts.db ? { db: opts.db } : {}), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), ...(opts.cors ? { cors: opts.cors } : {}), staticDir: resolve(opts.viewer ?? resolve(__dirname, '..', '..', '..', 'viewer', 'dist')) });
      process.stderr.write(`rewardlab: serving on ${server.url.replace('127.0.0.1', opts.host === '0.0.0.0' ? 'localhost' : opts.host)} (${server.config.database.type}; docs at /api/docs)\n`);
      if (opts.demo) await startDemoRun(server);
      // The machine-readable line tests and scripts wait for.
      process.stdout.write(`${JSON.stringify({ listening: server.url, database: server.config.database.type, pid: process.pid })}\n`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          server.close().then(done, done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

/**
 * `npm start`'s demo: on an empty database, a carball-1v1 self-play run with the `starter` reward, whose
 * task metrics (touches, ball velocity toward goal) rise within minutes on a laptop; the viewer's run page
 * starts an A/B against `lucy` in one click (CartPole-v1 where carball is not registered). When the newest run was interrupted (the server was stopped) and nothing
 * else is training, that run resumes.
 */
async function startDemoRun(server: Awaited<ReturnType<typeof import('../app/server').startServer>>): Promise<void> {
  const { RunsService } = require('../app/server') as typeof import('../app/server');
  const { registeredEnvIds } = require('@rewardlab/sim') as typeof import('@rewardlab/sim');
  const runs = server.app.get(RunsService);
  if ((await runs.count()) > 0) {
    const newest = (await runs.list({ limit: 1 })).runs[0];
    const active = (await runs.list({ limit: 1, status: 'running' })).total + (await runs.list({ limit: 1, status: 'queued' })).total;
    if (newest?.status !== 'interrupted' || active > 0) return;
    try {
      await runs.resume(newest.id);
      process.stderr.write(`rewardlab: resumed the interrupted run ${newest.id} (${newest.env})\n`);
      return;
    } catch (err) {
      process.stderr.write(`rewardlab: could not resume run ${newest.id} (${(err as Error).message}); starting a new demo run\n`);
    }
  }
  const carball = registeredEnvIds().includes('carball-1v1');
  const run = await runs.create(carball ? { env: 'carball-1v1', reward: 'starter', steps: 5_000_000, checkpointEvery: 2, replayEvery: 3 } : { env: 'CartPole-v1', reward: 'native', steps: 200_000, checkpointEvery: 5, replayEvery: 20 });
  process.stderr.write(`rewardlab: started a demo run ${run.id} (${run.env}, ${typeof run.reward === 'string' ? run.reward : 'custom'} reward)\n`);
}
