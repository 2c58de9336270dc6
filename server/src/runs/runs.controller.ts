import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RunsService, runView } from './runs.service';
import { CreateRunDto, ListRunsQueryDto } from './runs.dto';

@ApiTags('runs')
@Controller('api/runs')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  /** Queues a training run; a trainer process picks it up when there is room. */
  @Post()
  create(@Body() dto: CreateRunDto) {
    return this.runs.create(dto);
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
