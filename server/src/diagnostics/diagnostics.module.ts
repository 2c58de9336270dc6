import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DiagnosticsController } from './diagnostics.controller';
import { DiagnosticsService } from './diagnostics.service';
import { MetricBatch } from '../metrics/metric-batch.entity';
import { Run } from '../runs/run.entity';
import { RunLookup } from '../runs/run-lookup';

@Module({
  imports: [TypeOrmModule.forFeature([MetricBatch, Run])],
  controllers: [DiagnosticsController],
  providers: [DiagnosticsService, RunLookup],
})
export class DiagnosticsModule {}
