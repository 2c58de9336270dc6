import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Checkpoint } from './checkpoint.entity';
import { CheckpointsController } from './checkpoints.controller';
import { CheckpointsService } from './checkpoints.service';
import { Run } from '../runs/run.entity';
import { RunLookup } from '../runs/run-lookup';

@Module({
  imports: [TypeOrmModule.forFeature([Checkpoint, Run])],
  controllers: [CheckpointsController],
  providers: [CheckpointsService, RunLookup],
  exports: [CheckpointsService],
})
export class CheckpointsModule {}
