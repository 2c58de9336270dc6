import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RunsService, runView } from './runs.service';
import { CreateAbAgainstDto, CreateAbDto, CreateRunDto, ListRunsQueryDto } from './runs.dto';

@ApiTags('runs')
@Controller('api/runs')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  /** Queues a training run; a trainer process picks it up when there is room. */
  @Post()
  create(@Body() dto: CreateRunDto) {
    return this.runs.create(dto);
  }

  /** An A/B: two runs that differ only in their reward (same env, steps, seed, hyperparameters), grouped in one experiment. */
  @Post('ab')
  createAb(@Body() dto: CreateAbDto) {
    return this.runs.createAb(dto);
  }

  /** The B side of an A/B against run `id`: a new run like it in every setting but the reward, in its experiment. */
  @Post(':id/ab')
  createAbAgainst(@Param('id') id: string, @Body() dto: CreateAbAgainstDto) {
    return this.runs.createAbAgainst(id, dto.reward);
  }

  @Get()
  list(@Query() query: ListRunsQueryDto) {
    return this.runs.list(query);
  }

  @Get(':id')
  async get(@Param('id') id: string) {
    return runView(await this.runs.get(id));
  }

  @Post(':id/stop')
  @HttpCode(202)
  stop(@Param('id') id: string) {
    return this.runs.stop(id);
  }

  @Post(':id/resume')
  @HttpCode(202)
  resume(@Param('id') id: string) {
    return this.runs.resume(id);
  }
}
