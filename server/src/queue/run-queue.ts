/**
 * The run queue on Redis (BullMQ), the API's side: when `REDIS_URL` is set, runs are added here as
 * jobs (job id = run id) for `rewardlab trainer-agent`s to take, a waiting job is removed when its run
 * is stopped, and a running one is asked to stop through a flag its agent polls. Without `REDIS_URL`
 * this service does nothing and runs start in the API's own process.
 */
import { Inject, Injectable, ServiceUnavailableException, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { createIORedisClient, Queue, RedisConnection, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { SERVER_CONFIG, type ServerConfig } from '../app/config';
import { connectRedisClient, parseRedisUrl, pingRedis, redactRedisUrl } from './redis-client';
import { RunEvents } from '../stream/run-events';
import { relayRunEvents } from './event-relay';

/** Every key of the queue starts `rewardlab:<queue name>:`. */
export const QUEUE_PREFIX = 'rewardlab';
export const RUN_JOB_NAME = 'train';

export interface RunJobData {
  runId: string;
}

/**
 * One retry after a failure of the processor itself (an agent that could not reach its database, say);
 * an agent that dies mid-run is BullMQ's stalled-job detection instead (the Worker's maxStalledCount).
 * Finished jobs go: the run row is the record.
 */
export const RUN_JOB_OPTIONS: JobsOptions = { attempts: 2, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } };

export function stopFlagKey(queueName: string, runId: string): string {
  return `${QUEUE_PREFIX}:${queueName}:stop:${runId}`;
}

/**
 * The BullMQ connection options for `url` (a Worker's blocking connection must not give up on a
 * command). BullMQ loads ioredis itself, from where bullmq is installed; npm places ioredis under this
 * package, so the connections are made here, with BullMQ's own ioredis adapter.
 */
export function queueConnection(url: string): { url: string; maxRetriesPerRequest: null } {
  RedisConnection.clientFactory ??= (opts) => {
    const { url: target, ...rest } = opts as RedisOptions & { url?: string };
    return createIORedisClient(target ? new Redis(target, rest) : new Redis(rest));
  };
  return { url, maxRetriesPerRequest: null };
}

export function redisUnreachable(url: string, reason: string): string {
  return `the run queue's Redis (REDIS_URL=${redactRedisUrl(url)}) is unreachable: ${reason}`;
}

/**
 * Waits for Redis to answer, logging one line when it does not (and one when it answers again), and
 * retrying every `everyMs` until `cancelled()`. Resolves false when cancelled first.
 */
export async function waitForRedis(url: string, log: (line: string) => void, cancelled: () => boolean, everyMs = 2000, onError: (message: string) => void = () => undefined): Promise<boolean> {
  let failing = false;
  while (!cancelled()) {
    try {
      await pingRedis(url);
      if (failing) log(`the run queue's Redis (REDIS_URL=${redactRedisUrl(url)}) answers again`);
      return true;
    } catch (err) {
      const message = redisUnreachable(url, (err as Error).message);
      onError(message);
      if (!failing) log(`${message}; retrying every ${everyMs / 1000} s`);
      failing = true;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

@Injectable()
export class RunQueue implements OnModuleInit, OnApplicationShutdown {
  private queue: Queue<RunJobData> | null = null;
  private flags: Redis | null = null;
  private closed = false;
  private lastError = 'not connected yet';

  /** Stops relaying the agents' run events (see event-relay.ts). */
  private stopRelay: (() => void) | null = null;

  constructor(
    @Inject(SERVER_CONFIG) private readonly config: ServerConfig,
    private readonly events: RunEvents,
  ) {
    if (config.redisUrl) parseRedisUrl(config.redisUrl);
  }

  get enabled(): boolean {
    return Boolean(this.config.redisUrl);
  }

  async onModuleInit(): Promise<void> {
    if (!this.config.redisUrl) return;
    const url = this.config.redisUrl;
    const log = (line: string) => process.stderr.write(`rewardlab: ${line}\n`);
    // The first answer (or refusal) before the API listens; then retries go on in the background.
    const connect = async (): Promise<void> => {
      while (await waitForRedis(url, log, () => this.closed, 2000, (message) => (this.lastError = message))) {
        try {
          this.flags = await connectRedisClient(url);
        } catch (err) {
          this.lastError = redisUnreachable(url, (err as Error).message);
          continue;
        }
        const queue = new Queue<RunJobData>(this.config.queueName, { connection: queueConnection(url), prefix: QUEUE_PREFIX });
        let failing = false;
        queue.on('error', (err) => {
          this.lastError = redisUnreachable(url, err.message);
          if (!failing) log(`${this.lastError}; reconnecting`);
          failing = true;
        });
        (queue.getBackend() as unknown as NodeJS.EventEmitter).on('ready', () => (failing = false));
        this.queue = queue;
        this.stopRelay = relayRunEvents(this.events, url, this.config.queueName, log);
        return;
      }
    };
    const first = pingRedis(url).then(
      () => true,
      () => false,
    );
    if (await first) await connect();
    else void connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.stopRelay?.();
    await this.queue?.close().catch(() => undefined);
    await this.flags?.quit().catch(() => undefined);
  }

  /** Adds the run's job (replacing a finished job of the same run); a 503 naming Redis when that fails. */
  async enqueue(runId: string): Promise<void> {
    const queue = this.ready();
    await this.withinDeadline(async () => {
      const old = await queue.getJob(runId);
      if (old && ['completed', 'failed'].includes(await old.getState())) await old.remove();
      await queue.add(RUN_JOB_NAME, { runId }, { ...RUN_JOB_OPTIONS, jobId: runId });
    });
  }

  /** Removes the run's job if no agent has taken it yet (true, also when there is no job); false when one has. */
  async cancelWaiting(runId: string): Promise<boolean> {
    const queue = this.ready();
    return this.withinDeadline(async () => {
      const job = await queue.getJob(runId);
      if (!job) return true;
      if (!['waiting', 'delayed', 'prioritized', 'paused'].includes(await job.getState())) return false;
      await job.remove();
      return true;
    });
  }

  /** Raises the run's stop flag; the agent running it stops the trainer within a second or so. */
  async requestStop(runId: string): Promise<void> {
    this.ready();
    await this.withinDeadline(async () => {
      await this.flags!.set(stopFlagKey(this.config.queueName, runId), '1', 'EX', 7 * 24 * 3600);
    });
  }

  private ready(): Queue<RunJobData> {
    if (!this.queue) throw this.unavailable(this.lastError);
    return this.queue;
  }

  private unavailable(message: string): ServiceUnavailableException {
    return new ServiceUnavailableException({ statusCode: 503, error: 'Service Unavailable', message });
  }

  private async withinDeadline<T>(work: () => Promise<T>, timeoutMs = 5000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const url = this.config.redisUrl!;
    try {
      return await Promise.race([
        work(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs / 1000} s`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      throw this.unavailable(redisUnreachable(url, (err as Error).message));
    } finally {
      clearTimeout(timer);
    }
  }
}
