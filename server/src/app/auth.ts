/** Bearer-token auth for every route (a plain HTTP middleware, so it runs before body parsing). */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function bearerAuth(token: string) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (req.method === 'OPTIONS' || tokenMatches(req.headers.authorization, token)) return next();
    sendJson(res, 401, { statusCode: 401, error: 'Unauthorized', message: 'missing or wrong bearer token (Authorization: Bearer …)' }, { 'WWW-Authenticate': 'Bearer' });
  };
}
