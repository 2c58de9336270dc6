import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RunsService } from '../runs/runs.service';

/** The trainer processes this server is running now. */
@ApiTags('workers')
@Controller('api/workers')
export class WorkersController {
  constructor(private readonly runs: RunsService) {}

  @Get()
  list() {
    return { workers: this.runs.activeTrainers() };
  }
}
