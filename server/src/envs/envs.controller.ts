import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { describeEnvs } from '@rewardlab/sim';
import { PRESET_NAMES } from '@rewardlab/rewards';

/** What a run can ask for: registered envs and reward presets. */
@ApiTags('envs')
@Controller('api')
export class EnvsController {
  @Get('envs')
  async envs() {
    return { envs: await describeEnvs() };
  }

  @Get('rewards')
  rewards() {
    return { presets: [...PRESET_NAMES] };
  }
}
