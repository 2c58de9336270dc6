/** `rewardlab trainer-agent`: trains the runs of the Redis run queue until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { CliError } from './output';
import { nonNegativeInt, positiveInt } from './parse';

export interface TrainerAgentCommandOptions {
  redis?: string;
  db?: string;
  dataDir?: string;
  concurrency: number;
  queue?: string;
  name?: string;
  lockMs: number;
  maxStalled: number;
  json?: boolean;
}

/**
 * Connects to the API's database (same `--db` / $DATABASE_URL as `rewardlab serve`) and to the run
 * queue's Redis, then takes queued runs, `--concurrency` at a time. Once taking jobs it prints one line
 * on stdout (with --json, one JSON object: agent, queue, concurrency, pid); every event goes to stderr
 * as a line (with --json, a JSON object with `event`). On SIGINT/SIGTERM it stops taking jobs, hands
 * its running runs back to the queue after their trainers checkpoint, and prints what it did.
 */
export function registerTrainerAgentCommand(program: Command): void {
  program
    .command('trainer-agent')
    .description('train the runs that the API queues on Redis (REDIS_URL); run any number of these')
    .option('--redis <url>', 'the run queue: redis://[user:password@]host:port[/db] (default: $REDIS_URL)')
    .option('--db <url>', "the API's database: postgres://… or sqlite:PATH (default: $DATABASE_URL, else ./data/rewardlab.sqlite)")
    .option('--data-dir <dir>', 'where run directories go when the database does not say (default: next to the SQLite file, else ./data)')
    .option('--concurrency <n>', 'runs trained at once', positiveInt, 1)
    .option('--queue <name>', 'queue name (default: $REWARDLAB_QUEUE, else rewardlab-runs)')
    .option('--name <id>', 'this agent\'s name, recorded on the runs it takes (default: HOST-PID)')
    .option('--lock-ms <n>', "a job's lock; an agent silent this long is taken for dead and its run goes to another agent", positiveInt, 30_000)
    .option('--max-stalled <n>', 'times a run goes back to the queue after its agent died, before it fails', nonNegativeInt, 1)
    .option('--json', 'JSON lines: the start line on stdout, events on stderr')
    .action(async (opts: TrainerAgentCommandOptions) => {
      const redisUrl = opts.redis ?? process.env.REDIS_URL;
      if (!redisUrl) throw new CliError('give the run queue with --redis redis://host:port (or set REDIS_URL)');
      const { resolveServerConfig } = require('../app/config') as typeof import('../app/config');
      const { parseRedisUrl, redactRedisUrl } = require('../queue/redis-client') as typeof import('../queue/redis-client');
      try {
        parseRedisUrl(redisUrl);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const config = resolveServerConfig({ ...(opts.db ? { db: opts.db } : {}), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), redisUrl, ...(opts.queue ? { queueName: opts.queue } : {}) });
      const name = opts.name ?? `${hostname()}-${process.pid}`;
      const log = (event: string, fields: Record<string, unknown> = {}): void => {
        const message = String(fields.message ?? event);
        process.stderr.write(opts.json ? `${JSON.stringify({ event, agent: name, ...fields })}\n` : `rewardlab trainer-agent ${name}: ${message}\n`);
      };

      require('reflect-metadata');
      const { NestFactory } = require('@nestjs/core') as typeof import('@nestjs/core');
      const { openDatabase } = require('../app/database') as typeof import('../app/database');
      const { TrainerAgent, TrainerAgentModule } = require('../queue/trainer-agent') as typeof import('../queue/trainer-agent');
      const { RunRecorder } = require('../runs/run-trainer') as typeof import('../runs/run-trainer');
      const dataSource = await openDatabase(config.database);
      const app = await NestFactory.createApplicationContext(TrainerAgentModule.forRoot(config, dataSource), { logger: ['error', 'warn'] });
      const agent = new TrainerAgent(app.get(RunRecorder), { redisUrl, queueName: config.queueName, name, concurrency: opts.concurrency, lockMs: opts.lockMs, maxStalledCount: opts.maxStalled, log });
      // What the runs report goes to the API's stream too (the viewer's live curves).
      const { publishRunEvents } = require('../queue/event-relay') as typeof import('../queue/event-relay');
      const stopPublishing = publishRunEvents(app.get(RunRecorder).events, redisUrl, config.queueName);

      // Alive until a signal, whatever Redis does (its sockets are all that would hold the event loop).
      const keepAlive = setInterval(() => undefined, 60_000);
      let signalled: string | null = null;
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          if (signalled) return;
          signalled = signal;
          log('closing', { message: `${signal}: no new runs; handing running ones back to the queue` });
          void agent.close().then(resolve, (err: Error) => {
            log('error', { message: `while closing: ${err.message}` });
            resolve();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      if (await agent.start()) {
        const info = { agent: name, queue: config.queueName, redis: redactRedisUrl(redisUrl), database: config.database.type, concurrency: opts.concurrency, pid: process.pid };
        process.stdout.write(opts.json ? `${JSON.stringify(info)}\n` : `trainer agent ${name} taking runs from ${info.queue} on ${info.redis} (${info.database}, ${opts.concurrency} at a time)\n`);
      }
      await stopped;
      clearInterval(keepAlive);
      stopPublishing();
      await app.close();
      await dataSource.destroy().catch(() => undefined);
      const result = { agent: name, signal: signalled, taken: agent.taken, released: agent.released };
      process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `trainer agent ${name} stopped (${signalled}) after taking ${agent.taken.length} run(s); handed back ${agent.released.length}\n`);
    });
}
