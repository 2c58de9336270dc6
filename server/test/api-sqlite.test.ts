import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineApiSuite } from './api-suite';

defineApiSuite('API on SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rewardlab-sqlite-'));
  return { url: `sqlite:${join(dir, 'rewardlab.sqlite')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
