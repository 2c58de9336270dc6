import { Module } from '@nestjs/common';
import { EnvsController } from './envs.controller';

@Module({ controllers: [EnvsController] })
export class EnvsModule {}
