import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DiagnosticsService } from './diagnostics.service';
import { DiagnosticsQueryDto } from './diagnostics.dto';
import { RunLookup } from '../runs/run-lookup';

@ApiTags('diagnostics')
@Controller('api/runs/:id')
export class DiagnosticsController {
  constructor(
    private readonly diagnostics: DiagnosticsService,
    private readonly runs: RunLookup,
  ) {}

  /**
   * The reward-hacking alarm: does the spec's return rise while the env's task metrics stall or fall?
   * `metrics` (comma-separated) restricts the judged task metrics.
   */
  @Get('diagnostics')
  async diagnose(@Param('id') id: string, @Query() query: DiagnosticsQueryDto) {
    const only = query.metrics
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return this.diagnostics.diagnose(await this.runs.get(id), only);
  }

  /** Two runs of one env side by side: task metrics and components where each ended up, each one's alarm, and their specs' EPIC and STARC distance. */
  @Get('compare/:other')
  async compare(@Param('id') id: string, @Param('other') other: string) {
    return this.diagnostics.compare(await this.runs.get(id), await this.runs.get(other));
  }
}
