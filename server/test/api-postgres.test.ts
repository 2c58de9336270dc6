import { Client } from 'pg';
import { defineApiSuite } from './api-suite';

/** The project's PostgreSQL (trust auth on 127.0.0.1:5432, database `test`) as `postgres` or `root`. */
async function connect(): Promise<{ client: Client; url: string } | { error: string }> {
  const candidates = process.env.TEST_DATABASE_URL ? [process.env.TEST_DATABASE_URL] : ['postgres://postgres@127.0.0.1:5432/test', 'postgres://root@127.0.0.1:5432/test'];
  let error = '';
  for (const url of candidates) {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      return { client, url };
    } catch (err) {
      error = `${url.replace(/\/\/[^@]*@/, '//')}: ${(err as Error).message}`;
      await client.end().catch(() => undefined);
    }
  }
  return { error };
}

defineApiSuite('API on PostgreSQL', async () => {
  const found = await connect();
  if ('error' in found) {
    if (process.env.REQUIRE_SERVICES === '1') throw new Error(`PostgreSQL is required (REQUIRE_SERVICES=1) but not reachable: ${found.error}`);
    return { skip: `no PostgreSQL reachable (${found.error})` };
  }
  // A schema of its own, so parallel test runs do not collide.
  const schema = `rewardlab_test_${process.pid}_${Date.now()}`;
  await found.client.query(`CREATE SCHEMA "${schema}"`);
  return {
    url: `${found.url}?schema=${schema}`,
    cleanup: async () => {
      await found.client.query(`DROP SCHEMA "${schema}" CASCADE`);
      await found.client.end();
    },
  };
});
