/**
 * Starts the API: opens and migrates the database, builds the Nest app (auth before body parsing,
 * JSON bodies up to the limit, validation, CORS, OpenAPI at /api/docs, the viewer or a status page
 * at /), listens, and attaches the WebSocket stream.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { resolveServerConfig, type ServerConfig, type ServerOptions } from './config';
import { openDatabase } from './database';
import { bearerAuth, sendJson } from './auth';
import { validationException } from './errors';
import { attachStream } from '../stream/stream.server';
import { RunEvents } from '../stream/run-events';
import { RunsService } from '../runs/runs.service';

export interface RunningServer {
  app: NestExpressApplication;
  config: ServerConfig;
  url: string;
  close(): Promise<void>;
}

/** Body-parser failures as JSON: malformed JSON → 400, too large → 413. */
function bodyErrors(err: { type?: string; status?: number; message?: string }, _req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
  if (err?.type === 'entity.parse.failed') return sendJson(res, 400, { statusCode: 400, error: 'Bad Request', field: '(body)', message: `(body): malformed JSON: ${err.message}` });
  if (err?.type === 'entity.too.large') return sendJson(res, 413, { statusCode: 413, error: 'Payload Too Large', message: 'the request body is larger than the server accepts' });
  if (err?.status && err.status >= 400 && err.status < 500) return sendJson(res, err.status, { statusCode: err.status, message: err.message ?? 'bad request' });
  next(err);
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const config = resolveServerConfig(options);
  const dataSource = await openDatabase(config.database);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, dataSource), { bodyParser: false, logger: ['error', 'warn'] });
  if (config.token) app.use(bearerAuth(config.token));
  app.useBodyParser('json', { limit: config.bodyLimitBytes });
  app.use(bodyErrors);
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, exceptionFactory: validationException }));
  if (config.corsOrigins.length) app.enableCors({ origin: config.corsOrigins.includes('*') ? true : config.corsOrigins, allowedHeaders: ['Authorization', 'Content-Type'] });
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle('rewardlab API').setDescription('Experiments, training runs, metrics, checkpoints and replays').setVersion('0.1.0').addBearerAuth().build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/json' });
  if (config.staticDir && existsSync(config.staticDir)) app.useStaticAssets(config.staticDir, { index: 'index.html' });
  await app.listen(config.port, config.host);
  const server = app.getHttpServer() as Server;
  const wss = attachStream(server, app.get(RunEvents), config.token);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    app,
    config,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await app.close();
    },
  };
}

export { RunsService };
