import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { MoreThan, type DataSource } from 'typeorm';
import { MetricBatch } from './metric-batch.entity';
import type { MetricBatchDto } from './metrics.dto';
import { RunEvents } from '../stream/run-events';

const finite = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** A name → number record with non-finite (or non-number) values stored as null. */
const finiteRecord = (r: Record<string, unknown>): Record<string, number> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, finite(v)])) as Record<string, number>;

export type MetricBatchView = Omit<MetricBatch, 'id' | 'runId'>;

export function metricView(b: MetricBatch): MetricBatchView {
  const { id: _id, runId: _runId, ...rest } = b;
  return rest;
}

@Injectable()
export class MetricsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly events: RunEvents,
  ) {}

  /**
   * Stores the batches in one transaction and resolves once it is committed (the caller acknowledges
   * only then), then publishes them on the stream.
   */
  async append(runId: string, batches: MetricBatchDto[]): Promise<number> {
    const createdAt = new Date().toISOString();
    const rows = batches.map((b) => ({
      runId,
      step: b.step,
      meanReturn: finite(b.meanReturn),
      meanLength: finite(b.meanLength),
      episodes: b.episodes ?? 0,
      rewardComponents: finiteRecord(b.rewardComponents ?? {}),
      taskMetrics: b.taskMetrics ? finiteRecord(b.taskMetrics) : null,
      episodeComponents: b.episodeComponents ? finiteRecord(b.episodeComponents) : null,
      specReturn: finite(b.specReturn),
      iterationEpisodes: b.iterationEpisodes ?? null,
      policyLoss: finite(b.policyLoss),
      valueLoss: finite(b.valueLoss),
      entropy: finite(b.entropy),
      approxKl: finite(b.approxKl),
      clipFraction: finite(b.clipFraction),
      explainedVariance: finite(b.explainedVariance),
      stepsPerSecond: finite(b.stepsPerSecond),
      createdAt,
    }));
    await this.db.transaction(async (em) => {
      const chunk = 500;
      for (let i = 0; i < rows.length; i += chunk) await em.createQueryBuilder().insert().into(MetricBatch).values(rows.slice(i, i + chunk)).updateEntity(false).execute();
    });
    for (const row of rows) {
      const { runId: _r, ...batch } = row;
      this.events.publish({ type: 'metrics', runId, batch });
    }
    return rows.length;
  }

  async list(runId: string, after = -1, limit = 1000): Promise<MetricBatchView[]> {
    const rows = await this.db.getRepository(MetricBatch).find({ where: { runId, step: MoreThan(after) }, order: { step: 'ASC', id: 'ASC' }, take: limit });
    return rows.map(metricView);
  }

  /** The step of the run's last stored batch (−1 when none). */
  async lastStep(runId: string): Promise<number> {
    const last = await this.db.getRepository(MetricBatch).findOne({ where: { runId }, order: { step: 'DESC' } });
    return last?.step ?? -1;
  }

  /** Drops the batches past `step` (a resumed run reports them again). */
  async truncateAfter(runId: string, step: number): Promise<void> {
    await this.db.getRepository(MetricBatch).delete({ runId, step: MoreThan(step) });
  }
}
