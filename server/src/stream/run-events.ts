/**
 * The in-process bus between run orchestration and the WebSocket stream. Every event is published
 * after what it reports is committed to the database.
 */
import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

export type RunEvent =
  | { type: 'status'; runId: string; status: string; error?: string | null }
  | { type: 'metrics'; runId: string; batch: Record<string, unknown> }
  | { type: 'episode'; runId: string; episode: number; step: number; return: number; length: number }
  | { type: 'checkpoint'; runId: string; checkpoint: Record<string, unknown> }
  | { type: 'replay'; runId: string; replay: Record<string, unknown> };

@Injectable()
export class RunEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(event: RunEvent): void {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: RunEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
