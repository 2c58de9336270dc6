import { BadRequestException, ConflictException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { makeEnv, registeredEnvIds, taskMetricSpecs, type AnyEnv, type TaskMetricSpec } from '@rewardlab/sim';
import { DiagnosticsError, diagnoseRewardHacking, lateSummary, parseRewardSpec, rewardDistances, sampleTransitions, type RewardDiagnostics } from '@rewardlab/rewards';
import { MetricBatch } from '../metrics/metric-batch.entity';
import type { Run } from '../runs/run.entity';
import { badField } from '../app/errors';

export type RunDiagnostics = RewardDiagnostics & { runId: string; env: string; taskMetrics: readonly TaskMetricSpec[] };

export interface RunComparison {
  env: string;
  runs: {
    id: string;
    reward: unknown;
    status: string;
    step: number;
    steps: number;
    diagnostics: RunDiagnostics | null;
    /** Means over the last third of the iterations with finished episodes. */
    specReturn: number | null;
    taskMetrics: Record<string, number | null>;
    episodeComponents: Record<string, number | null>;
  }[];
  distances: { epic: number; starc: number; samples: number; gamma: number; constant: [boolean, boolean] } | null;
  distanceError: string | null;
  /** Settings other than the reward in which the two runs differ (an A/B should have none). */
  differences: string[];
}

/** Transitions sampled for the distances, and the draws per canonicalisation expectation. */
const DISTANCE_SAMPLES = 256;
const CANONICAL_SAMPLES = 64;

/**
 * The reward debugger's reads: the reward-hacking alarm of one run (rewards' `diagnoseRewardHacking` over
 * its stored metric batches, judged against the env's task metrics) and the A/B comparison of two runs
 * of one env (where each ended up, each one's alarm, and the EPIC and STARC distance of their specs).
 */
@Injectable()
export class DiagnosticsService {
  /** Distances by env and spec pair: sampling and canonicalising costs about a second on carball. */
  private readonly distanceCache = new Map<string, Promise<RunComparison['distances']>>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  private async batches(runId: string): Promise<MetricBatch[]> {
    return this.db.getRepository(MetricBatch).find({
      where: { runId },
      select: { step: true, specReturn: true, iterationEpisodes: true, taskMetrics: true, episodeComponents: true },
      order: { step: 'ASC', id: 'ASC' },
    });
  }

  private specsOf(run: Run): readonly TaskMetricSpec[] {
    if (!registeredEnvIds().includes(run.env)) throw new ConflictException({ statusCode: 409, error: 'Conflict', message: `run ${run.id} trains ${JSON.stringify(run.env)}, which is not a registered env here: its task metrics are unknown` });
    return taskMetricSpecs(run.env);
  }

  /** The alarm's verdict; `only` restricts the judged metrics (unknown names are a 400 naming the known ones). */
  async diagnose(run: Run, only?: string[]): Promise<RunDiagnostics> {
    const specs = this.specsOf(run);
    const batches = await this.batches(run.id);
    if (!batches.length) throw new ConflictException({ statusCode: 409, error: 'Conflict', message: `run ${run.id} has no training metrics yet (status ${run.status}); diagnostics judge its metric batches` });
    try {
      return { runId: run.id, env: run.env, taskMetrics: specs, ...diagnoseRewardHacking(batches, specs, only) };
    } catch (err) {
      if (err instanceof DiagnosticsError) throw badField('metrics', err.message);
      throw err;
    }
  }

  async compare(a: Run, b: Run): Promise<RunComparison> {
    if (a.env !== b.env) throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: `an A/B compares two runs of one env: run ${a.id} trains ${a.env}, run ${b.id} trains ${b.env}` });
    const side = async (run: Run): Promise<RunComparison['runs'][number]> => {
      const batches = await this.batches(run.id);
      const late = lateSummary(batches);
      const diagnostics = batches.length ? await this.diagnose(run) : null;
      return { id: run.id, reward: run.reward, status: run.status, step: run.step, steps: run.steps, diagnostics, specReturn: late.specReturn, taskMetrics: late.taskMetrics, episodeComponents: late.episodeComponents };
    };
    const runs = [await side(a), await side(b)];
    let distances: RunComparison['distances'] = null;
    let distanceError: string | null = null;
    try {
      distances = await this.distances(a.env, a.reward, b.reward);
    } catch (err) {
      distanceError = `no EPIC/STARC distance: ${(err as Error).message}`;
    }
    return { env: a.env, runs, distances, distanceError, differences: differences(a, b) };
  }

  private distances(envId: string, rewardA: unknown, rewardB: unknown): Promise<RunComparison['distances']> {
    const key = JSON.stringify([envId, rewardA, rewardB]);
    let pending = this.distanceCache.get(key);
    if (!pending) {
      pending = (async () => {
        const specA = parseRewardSpec(rewardA);
        const specB = parseRewardSpec(rewardB);
        const env = await makeEnv<AnyEnv>(envId);
        try {
          const transitions = await sampleTransitions(env, { samples: DISTANCE_SAMPLES, seed: 0 });
          const d = rewardDistances(specA, specB, transitions, { canonicalSamples: CANONICAL_SAMPLES, seed: 0 });
          return { ...d, samples: transitions.length, gamma: specA.gamma };
        } finally {
          await env.close();
        }
      })();
      this.distanceCache.set(key, pending);
      pending.catch(() => this.distanceCache.delete(key));
    }
    return pending;
  }
}

/** The run settings besides the reward that make two runs differ. */
function differences(a: Run, b: Run): string[] {
  const fields: [string, (r: Run) => unknown][] = [
    ['algo', (r) => r.algo],
    ['steps', (r) => r.steps],
    ['seed', (r) => r.seed],
    ['workers', (r) => r.workers],
    ['hyperparameters', (r) => r.hyperparameters],
    ['simWorkers', (r) => r.simWorkers !== null],
  ];
  return fields.filter(([, get]) => JSON.stringify(get(a)) !== JSON.stringify(get(b))).map(([name, get]) => `${name}: ${JSON.stringify(get(a))} vs ${JSON.stringify(get(b))}`);
}
