import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { BIN } from './helpers';

describe('rewardlab bench api', () => {
  it('prints ingest throughput and list latencies as one JSON object', () => {
    const r = spawnSync(process.execPath, [BIN, 'bench', 'api', '--json', '--runs', '1000', '--batches', '1000'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(result).toMatchObject({ database: 'sqlite', runs: 1000, metricBatches: 1000, metricPoints: 1000 * 17 });
    expect(result.metricPointsPerSec).toBeGreaterThan(0);
    expect(result.listRunsP50Ms).toBeGreaterThan(0);
    expect(result.listRunsP99Ms).toBeGreaterThanOrEqual(result.listRunsP50Ms);
  }, 120_000);
});
