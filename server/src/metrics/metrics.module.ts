import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MetricBatch } from './metric-batch.entity';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { Run } from '../runs/run.entity';
import { RunLookup } from '../runs/run-lookup';
import { StreamModule } from '../stream/stream.module';

@Module({
  imports: [TypeOrmModule.forFeature([MetricBatch, Run]), StreamModule],
  controllers: [MetricsController],
  providers: [MetricsService, RunLookup],
  exports: [MetricsService],
})
export class MetricsModule {}
