import { Module } from '@nestjs/common';
import { WorkersController } from './workers.controller';
import { RunsModule } from '../runs/runs.module';

@Module({ imports: [RunsModule], controllers: [WorkersController] })
export class WorkersModule {}
