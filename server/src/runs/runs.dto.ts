import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsNotEmpty, IsObject, IsOptional, IsString, IsUUID, Max, MaxLength, Min, Validate, ValidateIf, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { RUN_STATUSES } from './run.entity';
import { PRESET_NAMES } from '@rewardlab/rewards';

export class CreateRunDto {
  @ApiProperty({ example: 'CartPole-v1', description: 'a registered env id (GET /api/envs)' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(120)
  env!: string;

  @ApiPropertyOptional({
    oneOf: [{ type: 'string', enum: [...PRESET_NAMES] }, { type: 'object', description: 'a reward spec (rewards/README.md)' }],
    example: 'lucy',
    description: 'a reward preset name or a reward spec object; default native',
  })
  @IsOptional()
  @ValidateIf((o: CreateRunDto) => typeof o.reward !== 'object' || o.reward === null)
  @IsString({ message: 'reward must be a preset name or a reward spec object' })
  reward?: string | Record<string, unknown>;

  @ApiPropertyOptional({ default: 'ppo', enum: ['ppo'] })
  @IsOptional()
  @IsIn(['ppo'])
  algo?: string;

  @ApiPropertyOptional({ description: 'PPO hyperparameters (merged over the env preset)', example: { numSteps: 64, learningRate: 0.001 } })
  @IsOptional()
  @IsObject()
  hyperparameters?: Record<string, unknown>;

  @ApiProperty({ example: 50000, description: 'total agent steps' })
  @IsInt()
  @Min(1)
  @Max(10_000_000_000)
  steps!: number;

  @ApiPropertyOptional({ default: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  seed?: number;

  @ApiPropertyOptional({ description: 'env instances the trainer steps in parallel (default: the env preset’s, else 8)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(256)
  workers?: number;

  @ApiPropertyOptional({ default: 10, description: 'save a checkpoint every N iterations' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  checkpointEvery?: number;

  @ApiPropertyOptional({ default: 20, description: 'record every Nth training episode of env 0 as a replay (0: none)' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  replayEvery?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  experimentId?: string;

  @ApiPropertyOptional({
    example: 'ws://sim-a:9100,dns://sim-workers:9100',
    description: 'sim worker URLs, comma-separated (ws://host:port or dns://host:port): the trainer steps their envs instead of its own (no replays are recorded then)',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(4000)
  simWorkers?: string;
}

export class ListRunsQueryDto {
  @ApiPropertyOptional({ default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset?: number;

  @ApiPropertyOptional({ enum: RUN_STATUSES })
  @IsOptional()
  @IsIn(RUN_STATUSES)
  status?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  experimentId?: string;
}

/** A reward value as a run takes it: a preset name or a spec object. */
const isRewardValue = (r: unknown): boolean => typeof r === 'string' || (typeof r === 'object' && r !== null && !Array.isArray(r));

@ValidatorConstraint({ name: 'rewardValues' })
class RewardValues implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return Array.isArray(value) && value.every(isRewardValue);
  }
  defaultMessage(): string {
    return 'each reward must be a preset name or a reward spec object';
  }
}

/** Two runs that differ only in their reward: everything of CreateRunDto but `reward`, and the two rewards. */
export class CreateAbDto extends OmitType(CreateRunDto, ['reward'] as const) {
  @ApiProperty({ example: ['starter', 'lucy'], description: 'the two rewards (preset names or spec objects), A then B' })
  @IsArray()
  @ArrayMinSize(2)
  @ArrayMaxSize(2)
  @Validate(RewardValues)
  rewards!: (string | Record<string, unknown>)[];

  @ApiPropertyOptional({ description: 'name of the experiment that groups the two runs (default: "A/B on ENV: A vs B"); ignored with experimentId' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}

/** The B side of an A/B against an existing run. */
export class CreateAbAgainstDto {
  @ApiProperty({ oneOf: [{ type: 'string', enum: [...PRESET_NAMES] }, { type: 'object', description: 'a reward spec' }], example: 'lucy', description: 'the reward of the new run; everything else is copied from the run' })
  @ValidateIf((o: CreateAbAgainstDto) => typeof o.reward !== 'object' || o.reward === null)
  @IsString({ message: 'reward must be a preset name or a reward spec object' })
  reward!: string | Record<string, unknown>;
}
