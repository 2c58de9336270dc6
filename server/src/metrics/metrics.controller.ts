import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { MetricsService } from './metrics.service';
import { AppendMetricsDto, MetricsQueryDto } from './metrics.dto';
import { RunLookup } from '../runs/run-lookup';

@ApiTags('metrics')
@Controller('api/runs/:id/metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly runs: RunLookup,
  ) {}

  /** The run's metric batches in step order, those after `after` only. */
  @Get()
  async list(@Param('id') id: string, @Query() query: MetricsQueryDto) {
    await this.runs.get(id);
    return { metrics: await this.metrics.list(id, query.after ?? -1, query.limit ?? 1000) };
  }

  /** Ingests batches from an external trainer; answers once they are committed. */
  @Post()
  @HttpCode(201)
  async append(@Param('id') id: string, @Body() dto: AppendMetricsDto) {
    await this.runs.get(id);
    return { stored: await this.metrics.append(id, dto.batches) };
  }
}
