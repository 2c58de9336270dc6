import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class DiagnosticsQueryDto {
  @ApiPropertyOptional({ example: 'touches,goalsFor', description: 'judge only these task metrics (comma-separated names from GET /api/envs)' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  metrics?: string;
}
