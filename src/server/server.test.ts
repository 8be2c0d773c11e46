import { request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createEngineService } from '../engine/service/index.ts';
import { startInProcessEngine } from '../engine/service/worker.ts';
import type { EngineClient } from '../engine/service/client.ts';
import { decodeMessage } from '../shared/wire.ts';
import { startServer, type RunningServer } from './server.ts';

let base: string;
let server: RunningServer;
let engine: EngineClient;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'pris-serve-'));
  const renderer = join(base, 'renderer');
  await mkdir(join(renderer, 'assets'), { recursive: true });
  await writeFile(join(renderer, 'index.html'), '<!doctype html><title>studio</title>');
  await writeFile(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  await mkdir(join(base, 'allowed'));
  await mkdir(join(base, 'secret'));
  await writeFile(join(base, 'secret', 'key.txt'), 'top secret');
  await symlink(join(base, 'secret'), join(renderer, 'assets', 'link'));
  engine = startInProcessEngine(
    createEngineService({
      mode: 'served',
      version: 'test',
      packDirs: [],
      allowedRoots: [join(base, 'allowed')],
      defaultProjectDir: join(base, 'allowed'),
    }),
  );
  server = await startServer({ rendererDir: renderer, engine, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server.close();
  await engine.close();
  await rm(base, { recursive: true, force: true });
});

/** A raw GET (no URL normalisation, unlike fetch), so traversal paths reach the server as written. */
function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket and resolves with it, or with the HTTP status of the refused upgrade. */
function openSocket(query: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`, { headers });
    ws.on('open', () => resolve(ws));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
}

function ask(ws: WebSocket, message: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(decodeMessage(data.toString()) as Record<string, unknown>));
    ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  });
}

describe('the served mode', () => {
  it('prints a loopback URL with a long random token', () => {
    expect(server.url).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{43}$`),
    );
  });

  it('refuses HTTP requests with a missing or wrong token', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/?token=wrong')).status).toBe(401);
    expect((await get(`/?token=${server.token}x`)).status).toBe(401);
    expect((await get('/assets/app.js', { Cookie: `pris_token_${server.port}=nope` })).status).toBe(401);
    expect((await get('/', { Authorization: 'Bearer nope' })).status).toBe(401);
    // another instance's cookie (cookies are per host, not per port) does not open this one
    expect(
      (await get('/assets/app.js', { Cookie: `pris_token=${server.token}; pris_token_1=${server.token}` }))
        .status,
    ).toBe(401);
  });

  it('serves the page with the token, sets the token cookie and a strict CSP', async () => {
    const page = await get(`/?token=${server.token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>studio</title>');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(String(page.headers['set-cookie'])).toMatch(
      new RegExp(`pris_token_${server.port}=.*HttpOnly; SameSite=Strict`),
    );
    const asset = await get('/assets/app.js', { Cookie: `pris_token_${server.port}=${server.token}` });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toContain('text/javascript');
  });

  it('refuses path traversal and symlinks that lead out of the renderer build', async () => {
    const auth = { Authorization: `Bearer ${server.token}` };
    for (const path of [
      '/../secret/key.txt',
      '/%2e%2e/secret/key.txt',
      '/assets/..%2f..%2fsecret/key.txt',
      '/assets/%5c..%5csecret',
      '/a%00b',
    ]) {
      const response = await get(path, auth);
      expect(response.status, path).toBe(403);
      expect(response.body).not.toContain('top secret');
    }
    const viaLink = await get('/assets/link/key.txt', auth);
    expect(viaLink.status).toBe(403);
    expect(viaLink.body).not.toContain('top secret');
    expect((await get('/missing.js', auth)).status).toBe(404);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const response = await get(`/?token=${server.token}`, { Host: `evil.example:${server.port}` });
    expect(response.status).toBe(421);
  });

  it('refuses WebSocket connections without the token, with a wrong token or from another origin', async () => {
    expect(await openSocket('')).toBe(401);
    expect(await openSocket('?token=wrong')).toBe(401);
    expect(await openSocket(`?token=${server.token}`, { Origin: 'http://evil.example' })).toBe(403);
    const ws = await openSocket(`?token=${server.token}`, { Origin: `http://127.0.0.1:${server.port}` });
    expect(ws).toBeInstanceOf(WebSocket);
    (ws as WebSocket).close();
  });

  it('answers valid requests and refuses malformed payloads and unknown channels with clear errors', async () => {
    const ws = (await openSocket('', { Cookie: `pris_token_${server.port}=${server.token}` })) as WebSocket;
    expect(await ask(ws, { type: 'request', id: 1, channel: 'app:info', params: {} })).toMatchObject({
      id: 1,
      ok: true,
      result: { mode: 'served', nativeDialogs: false },
    });
    expect(await ask(ws, { id: 2, channel: 'filter:counts', params: { tau: 'x' } })).toMatchObject({
      id: 2,
      ok: false,
      error: {
        code: 'invalid-params',
        message: expect.stringContaining('filter:counts: invalid parameters: tau'),
      },
    });
    expect(await ask(ws, { id: 3, channel: 'shell:exec', params: {} })).toMatchObject({
      ok: false,
      error: { code: 'unknown-channel' },
    });
    expect(await ask(ws, 'not json')).toMatchObject({
      ok: false,
      error: { code: 'invalid-params', message: expect.stringContaining('malformed message') },
    });
    expect(await ask(ws, { id: 'x' })).toMatchObject({ ok: false, error: { code: 'invalid-params' } });
    ws.close();
  });

  it('confines file access to the allowed folders', async () => {
    const ws = (await openSocket(`?token=${server.token}`)) as WebSocket;
    const outside = await ask(ws, {
      id: 1,
      channel: 'models:validate',
      params: { dir: join(base, 'secret') },
    });
    expect(outside).toMatchObject({
      ok: false,
      error: {
        code: 'forbidden',
        message: expect.stringContaining('model folder is outside the allowed folders'),
      },
    });
    const traversal = await ask(ws, {
      id: 2,
      channel: 'models:validate',
      params: { dir: join(base, 'allowed', '..', 'secret') },
    });
    expect(traversal).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    ws.close();
  });
});
