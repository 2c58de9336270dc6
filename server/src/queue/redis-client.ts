/**
 * Redis connections of the run queue, through ioredis (the driver BullMQ is built on): the URL check
 * and redaction used in error messages, a connected client for the queue's own keys (stop flags), and
 * a one-off PING that says whether Redis answers.
 */
import { Redis } from 'ioredis';

/** Where a `redis://[user:password@]host[:port][/db]` (or `rediss://`) URL points; throws on anything else. */
export function parseRedisUrl(url: string): { host: string; port: number; tls: boolean; username?: string; password?: string; db?: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`REDIS_URL "${url}" is not a URL (expected redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new TypeError(`REDIS_URL "${url}" must start with redis:// or rediss://`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db && !/^\d+$/.test(db)) throw new TypeError(`REDIS_URL "${url}": the path must be a database number`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    tls: parsed.protocol === 'rediss:',
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
  };
}

/** `redis://user:secret@host` → `redis://user:…@host`, for log lines. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:…@');
}

/** A client for `url`, connected; errors after that are left to ioredis's reconnects. */
export async function connectRedisClient(url: string): Promise<Redis> {
  parseRedisUrl(url);
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** One PING on a fresh connection that does not retry: resolves when Redis answers, rejects with why not. */
export async function pingRedis(url: string, timeoutMs = 3000): Promise<void> {
  parseRedisUrl(url);
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  // ioredis rejects with "Connection is closed."; the socket's own error (ECONNREFUSED, ENOTFOUND) says why.
  let cause: Error | null = null;
  client.on('error', (err: Error) => (cause ??= err));
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw cause ?? err;
  } finally {
    client.disconnect();
  }
}
