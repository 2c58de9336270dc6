import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { ConfigurationError, parseDatabaseUrl, resolveServerConfig } from '../src/app/config';

describe('server configuration', () => {
  it('defaults to SQLite at ./data/rewardlab.sqlite with run directories beside it', () => {
    const config = resolveServerConfig({}, {});
    expect(config.database).toEqual({ type: 'sqlite', path: resolve('data/rewardlab.sqlite') });
    expect(config.dataDir).toBe(resolve('data'));
    expect(config.port).toBe(3000);
    expect(config.token).toBeUndefined();
  });

  it('selects PostgreSQL from DATABASE_URL, with an optional schema', () => {
    expect(resolveServerConfig({}, { DATABASE_URL: 'postgres://u@db:5432/x?schema=s1' }).database).toEqual({ type: 'postgres', url: 'postgres://u@db:5432/x', schema: 's1' });
    expect(parseDatabaseUrl('postgresql://db/x')).toEqual({ type: 'postgres', url: 'postgresql://db/x' });
  });

  it('takes sqlite:PATH and plain paths for SQLite, and refuses other schemes', () => {
    expect(parseDatabaseUrl('sqlite:/tmp/a.sqlite')).toEqual({ type: 'sqlite', path: '/tmp/a.sqlite' });
    expect(parseDatabaseUrl('rel/b.sqlite')).toEqual({ type: 'sqlite', path: resolve('rel/b.sqlite') });
    expect(() => parseDatabaseUrl('mysql://root:pw@db/x')).toThrow(ConfigurationError);
    expect(() => parseDatabaseUrl('mysql://root:pw@db/x')).not.toThrow(/pw/);
    expect(() => parseDatabaseUrl('postgres://db/x?schema=a;drop')).toThrow(/invalid PostgreSQL schema/);
  });

  it('reads the token and CORS origins from the environment', () => {
    const config = resolveServerConfig({}, { REWARDLAB_TOKEN: 't', REWARDLAB_CORS: 'http://a.test, http://b.test' });
    expect(config.token).toBe('t');
    expect(config.corsOrigins).toEqual(['http://a.test', 'http://b.test']);
  });
});
