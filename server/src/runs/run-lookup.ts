import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { Run } from './run.entity';
import { notFound } from '../app/errors';

/** Finds a run or answers 404; shared by the modules whose routes hang off a run. */
@Injectable()
export class RunLookup {
  constructor(@InjectRepository(Run) private readonly runs: Repository<Run>) {}

  async get(id: string): Promise<Run> {
    const run = await this.runs.findOneBy({ id });
    if (!run) throw notFound('run', id);
    return run;
  }
}
