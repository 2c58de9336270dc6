import { Controller, Get, Param, StreamableFile } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ReplaysService, replayView } from './replays.service';
import { RunLookup } from '../runs/run-lookup';

@ApiTags('replays')
@Controller('api')
export class ReplaysController {
  constructor(
    private readonly replays: ReplaysService,
    private readonly runs: RunLookup,
  ) {}

  @Get('runs/:id/replays')
  async list(@Param('id') id: string) {
    await this.runs.get(id);
    return { replays: await this.replays.list(id) };
  }

  @Get('replays/:id')
  async get(@Param('id') id: string) {
    return replayView(await this.replays.get(id));
  }

  /** The replay file (`@rewardlab/sim` replay format, decode with `decodeReplay`). */
  @Get('replays/:id/download')
  async download(@Param('id') id: string) {
    const { replay, data } = await this.replays.read(id);
    return new StreamableFile(data, { type: 'application/vnd.rewardlab.replay', disposition: `attachment; filename="replay-${replay.kind}-${replay.episode}.rlr"`, length: data.length });
  }
}
