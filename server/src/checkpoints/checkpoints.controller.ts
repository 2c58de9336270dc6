import { Body, Controller, Get, Param, Post, StreamableFile } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CheckpointsService, checkpointView } from './checkpoints.service';
import { EvaluateCheckpointDto } from './checkpoints.dto';
import { RunLookup } from '../runs/run-lookup';

@ApiTags('checkpoints')
@Controller('api')
export class CheckpointsController {
  constructor(
    private readonly checkpoints: CheckpointsService,
    private readonly runs: RunLookup,
  ) {}

  @Get('runs/:id/checkpoints')
  async list(@Param('id') id: string) {
    await this.runs.get(id);
    return { checkpoints: await this.checkpoints.list(id) };
  }

  @Get('checkpoints/:id')
  async get(@Param('id') id: string) {
    return checkpointView(await this.checkpoints.get(id));
  }

  /** The checkpoint's files (policy, weights, trainer state) as a tar archive. */
  @Get('checkpoints/:id/download')
  async download(@Param('id') id: string) {
    const { name, data } = await this.checkpoints.archive(id);
    return new StreamableFile(data, { type: 'application/x-tar', disposition: `attachment; filename="${name}"`, length: data.length });
  }

  @Post('checkpoints/:id/evaluate')
  evaluate(@Param('id') id: string, @Body() dto: EvaluateCheckpointDto) {
    return this.checkpoints.evaluate(id, dto);
  }
}
