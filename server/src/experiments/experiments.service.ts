import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { Experiment } from './experiment.entity';
import type { CreateExperimentDto } from './experiments.dto';
import { notFound } from '../app/errors';

@Injectable()
export class ExperimentsService {
  constructor(@InjectRepository(Experiment) private readonly experiments: Repository<Experiment>) {}

  create(dto: CreateExperimentDto): Promise<Experiment> {
    return this.experiments.save(this.experiments.create({ id: randomUUID(), name: dto.name, description: dto.description ?? '', createdAt: new Date().toISOString() }));
  }

  list(): Promise<Experiment[]> {
    return this.experiments.find({ order: { createdAt: 'DESC' }, take: 1000 });
  }

  async get(id: string): Promise<Experiment> {
    const experiment = await this.experiments.findOneBy({ id });
    if (!experiment) throw notFound('experiment', id);
    return experiment;
  }
}
