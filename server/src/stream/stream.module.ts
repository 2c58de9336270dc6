import { Global, Module } from '@nestjs/common';
import { RunEvents } from './run-events';

@Global()
@Module({ providers: [RunEvents], exports: [RunEvents] })
export class StreamModule {}
