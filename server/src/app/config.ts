/**
 * Server configuration, resolved once from options and the environment (`DATABASE_URL`,
 * `REWARDLAB_TOKEN`, `REWARDLAB_CORS`, `REDIS_URL`, `REWARDLAB_QUEUE`) and provided to every module as
 * `SERVER_CONFIG`.
 */
import { dirname, resolve } from 'node:path';

export const SERVER_CONFIG = Symbol('SERVER_CONFIG');

export type DatabaseConfig = { type: 'sqlite'; path: string } | { type: 'postgres'; url: string; schema?: string };

export interface ServerConfig {
  port: number;
  host: string;
  database: DatabaseConfig;
  /** Run directories (checkpoints, replays) live under DATA_DIR/runs. */
  dataDir: string;
  /** When set, every route and the WebSocket need `Authorization: Bearer <token>`. */
  token?: string;
  /** CORS origins (`*` for any); none when empty. */
  corsOrigins: string[];
  /** Largest accepted JSON body. */
  bodyLimitBytes: number;
  /** Trainer processes running at once; further runs wait `queued`. */
  maxConcurrentRuns: number;
  /** Static files served at `/` (the viewer's build), when the folder exists. */
  staticDir?: string;
  /** When set, runs go to a Redis run queue that `rewardlab trainer-agent`s take; else they start in-process. */
  redisUrl?: string;
  /** The run queue's name (its Redis keys are `rewardlab:<name>:…`). */
  queueName: string;
}

export interface ServerOptions {
  port?: number;
  host?: string;
  /** `postgres://…`, `sqlite:PATH` or a plain path of a SQLite file. */
  db?: string;
  dataDir?: string;
  token?: string;
  cors?: string;
  bodyLimitBytes?: number;
  maxConcurrentRuns?: number;
  staticDir?: string;
  redisUrl?: string;
  queueName?: string;
}

export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

export const DEFAULT_SQLITE_PATH = './data/rewardlab.sqlite';
export const DEFAULT_QUEUE_NAME = 'rewardlab-runs';

export function parseDatabaseUrl(url: string): DatabaseConfig {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema') ?? undefined;
    parsed.searchParams.delete('schema');
    if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new ConfigurationError(`invalid PostgreSQL schema name "${schema}"`);
    return { type: 'postgres', url: parsed.toString(), ...(schema ? { schema } : {}) };
  }
  if (url.startsWith('sqlite:')) return { type: 'sqlite', path: resolve(url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new ConfigurationError(`unsupported database URL "${url.replace(/\/\/[^@/]*@/, '//…@')}" (use postgres://… or sqlite:PATH)`);
  return { type: 'sqlite', path: resolve(url) };
}

export function resolveServerConfig(options: ServerOptions = {}, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const database = parseDatabaseUrl(options.db ?? env.DATABASE_URL ?? DEFAULT_SQLITE_PATH);
  const dataDir = resolve(options.dataDir ?? env.REWARDLAB_DATA_DIR ?? (database.type === 'sqlite' ? dirname(database.path) : './data'));
  const token = options.token ?? (env.REWARDLAB_TOKEN || undefined);
  const cors = options.cors ?? env.REWARDLAB_CORS ?? '';
  const redisUrl = options.redisUrl ?? (env.REDIS_URL || undefined);
  const queueName = options.queueName ?? (env.REWARDLAB_QUEUE || DEFAULT_QUEUE_NAME);
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(queueName)) throw new ConfigurationError(`invalid queue name "${queueName}" (letters, digits, _ . - only)`);
  return {
    port: options.port ?? (env.PORT ? Number(env.PORT) : 3000),
    host: options.host ?? env.HOST ?? '0.0.0.0',
    database,
    dataDir,
    ...(token ? { token } : {}),
    corsOrigins: cors.split(',').map((s) => s.trim()).filter(Boolean),
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
    maxConcurrentRuns: options.maxConcurrentRuns ?? Number(env.REWARDLAB_MAX_RUNS ?? 2),
    ...(options.staticDir ? { staticDir: options.staticDir } : {}),
    ...(redisUrl ? { redisUrl } : {}),
    queueName,
  };
}
