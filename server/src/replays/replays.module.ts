import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ReplayFile } from './replay-file.entity';
import { ReplaysController } from './replays.controller';
import { ReplaysService } from './replays.service';
import { Run } from '../runs/run.entity';
import { RunLookup } from '../runs/run-lookup';

@Module({
  imports: [TypeOrmModule.forFeature([ReplayFile, Run])],
  controllers: [ReplaysController],
  providers: [ReplaysService, RunLookup],
  exports: [ReplaysService],
})
export class ReplaysModule {}
