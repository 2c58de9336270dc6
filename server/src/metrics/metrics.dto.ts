import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsInt, IsNumber, IsObject, IsOptional, Max, Min, ValidateNested } from 'class-validator';

export class MetricBatchDto {
  @ApiProperty({ description: 'global agent step' })
  @IsInt()
  @Min(0)
  step!: number;

  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsNumber() meanReturn?: number | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsNumber() meanLength?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) episodes?: number;
  @ApiPropertyOptional({ description: 'component → mean per-step value' }) @IsOptional() @IsObject() rewardComponents?: Record<string, number>;
  @ApiPropertyOptional({ description: "task metric → its mean over the episodes that ended in the iteration (the env's own measures: touches, goals, success, length, …)" }) @IsOptional() @IsObject() taskMetrics?: Record<string, number>;
  @ApiPropertyOptional({ description: 'component → its sum over an episode, averaged over the episodes that ended in the iteration' }) @IsOptional() @IsObject() episodeComponents?: Record<string, number>;
  @ApiPropertyOptional({ nullable: true, description: "the reward spec's return, averaged over the same episodes" }) @IsOptional() @IsNumber() specReturn?: number | null;
  @ApiPropertyOptional({ description: 'episodes that ended in the iteration' }) @IsOptional() @IsInt() @Min(0) @Max(2_147_483_647) iterationEpisodes?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber() policyLoss?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsNumber() valueLoss?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsNumber() entropy?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsNumber() approxKl?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsNumber() clipFraction?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsNumber() explainedVariance?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsNumber() stepsPerSecond?: number | null;
}

export class AppendMetricsDto {
  @ApiProperty({ type: [MetricBatchDto] })
  @ValidateNested({ each: true })
  @Type(() => MetricBatchDto)
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  batches!: MetricBatchDto[];
}

export class MetricsQueryDto {
  @ApiPropertyOptional({ description: 'only batches with a step greater than this' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(-1)
  after?: number;

  @ApiPropertyOptional({ default: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  limit?: number;
}
