import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Repository } from 'typeorm';
import { ReplayFile } from './replay-file.entity';
import { notFound } from '../app/errors';
import { RunEvents } from '../stream/run-events';

export type ReplayView = Omit<ReplayFile, 'path'>;

export function replayView(r: ReplayFile): ReplayView {
  const { path: _path, ...rest } = r;
  return rest;
}

export interface RecordedReplay {
  path: string;
  kind: string;
  episode: number;
  step: number;
  frames: number;
  bytes: number;
  episodeReturn: number | null;
}

@Injectable()
export class ReplaysService {
  constructor(
    @InjectRepository(ReplayFile) private readonly replays: Repository<ReplayFile>,
    private readonly events: RunEvents,
  ) {}

  async record(runId: string, r: RecordedReplay): Promise<ReplayFile> {
    const replay = await this.replays.save(this.replays.create({ id: randomUUID(), runId, ...r, createdAt: new Date().toISOString() }));
    this.events.publish({ type: 'replay', runId, replay: replayView(replay) });
    return replay;
  }

  async list(runId: string): Promise<ReplayView[]> {
    return (await this.replays.find({ where: { runId }, order: { step: 'ASC', episode: 'ASC' } })).map(replayView);
  }

  async get(id: string): Promise<ReplayFile> {
    const replay = await this.replays.findOneBy({ id });
    if (!replay) throw notFound('replay', id);
    return replay;
  }

  async read(id: string): Promise<{ replay: ReplayFile; data: Buffer }> {
    const replay = await this.get(id);
    if (!existsSync(replay.path)) throw new ConflictException({ statusCode: 409, error: 'Conflict', message: `replay ${id}'s file is missing on the server` });
    return { replay, data: readFileSync(replay.path) };
  }
}
