/**
 * The live stream: a WebSocket at `/api/ws` (all runs) or `/api/ws?runId=ID` (one run) sending one
 * JSON message per RunEvent: `status`, `metrics`, `episode`, `checkpoint`, `replay`. When a token is
 * configured the upgrade needs `Authorization: Bearer <token>` (browsers, which cannot set headers on
 * a WebSocket, may pass `?access_token=`).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RunEvents } from './run-events';
import { tokenMatches } from '../app/auth';

export const STREAM_PATH = '/api/ws';

export function attachStream(server: Server, events: RunEvents, token: string | undefined): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== STREAM_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (token && !tokenMatches(req.headers.authorization, token) && !tokenMatches(`Bearer ${url.searchParams.get('access_token') ?? ''}`, token)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 54\r\n\r\n{"statusCode":401,"message":"missing or wrong token"}\n');
      return;
    }
    const runId = url.searchParams.get('runId');
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const unsubscribe = events.subscribe((event) => {
        if (runId && event.runId !== runId) return;
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
      });
      ws.on('close', unsubscribe);
      ws.on('error', unsubscribe);
      ws.send(JSON.stringify({ type: 'hello', runId: runId ?? null }));
    });
  });
  return wss;
}
