import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { SERVER_CONFIG, type ServerConfig } from '../app/config';

@ApiTags('health')
@Controller('api/health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(SERVER_CONFIG) private readonly config: ServerConfig,
  ) {}

  @Get()
  async health() {
    await this.db.query('SELECT 1');
    return { status: 'ok', database: this.config.database.type, version: '0.1.0', auth: Boolean(this.config.token) };
  }
}
