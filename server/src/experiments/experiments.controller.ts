import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ExperimentsService } from './experiments.service';
import { CreateExperimentDto } from './experiments.dto';

@ApiTags('experiments')
@Controller('api/experiments')
export class ExperimentsController {
  constructor(private readonly experiments: ExperimentsService) {}

  @Post()
  create(@Body() dto: CreateExperimentDto) {
    return this.experiments.create(dto);
  }

  @Get()
  async list() {
    return { experiments: await this.experiments.list() };
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.experiments.get(id);
  }
}
