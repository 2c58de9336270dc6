import { describe, expect, it } from 'vitest';
import { runCli as lastJson } from './cli-helpers';


describe('rewardlab bench env (carball)', () => {
  it('reports ticks per second (physics ticks × arenas per wall-clock second) and agent steps per second', () => {
    const r = lastJson(['bench', 'env', 'carball-2v2', '--seconds', '0.5', '--arenas', '3', '--json']);
    expect(r.code).toBe(0);
    const res = r.last as { env: string; arenas: number; ticksPerSec: number; agentStepsPerSec: number; steps: number; seconds: number; numAgents: number; actionRepeat: number };
    expect(res).toMatchObject({ env: 'carball-2v2', arenas: 3, numAgents: 4, actionRepeat: 8, layout: 'one-world', rapier: 'simd' });
    expect(res.steps).toBeGreaterThan(0);
    expect(res.ticksPerSec).toBeCloseTo((res.steps * res.actionRepeat * res.arenas) / res.seconds, 6);
    expect(res.agentStepsPerSec).toBeCloseTo((res.steps * res.arenas * res.numAgents) / res.seconds, 6);
    const cpu = r.last as { cpuSeconds: number; ticksPerCpuSec: number };
    expect(cpu.cpuSeconds).toBeGreaterThan(0);
    expect(cpu.ticksPerCpuSec).toBeCloseTo((res.steps * res.actionRepeat * res.arenas) / cpu.cpuSeconds, 6);
  });

  it('times the world-per-arena layout and the compat build on request', () => {
    const r = lastJson(['bench', 'env', '--env', 'carball-1v1', '--seconds', '0.3', '--arenas', '2', '--layout', 'world-per-arena', '--rapier', 'compat', '--json']);
    expect(r.code).toBe(0);
    expect(r.last).toMatchObject({ env: 'carball-1v1', arenas: 2, numAgents: 2, layout: 'world-per-arena', rapier: 'compat' });
  });

  it('rejects an unknown layout with a usage error', () => {
    const r = lastJson(['bench', 'env', 'carball-1v1', '--layout', 'sideways', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('expected one of one-world, world-per-arena');
  });
});
