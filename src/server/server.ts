/**
 * The served mode: an HTTP server for the built renderer and a WebSocket (`/api`) carrying the same API as Electron's
 * IPC, both behind a random token. The engine runs in its own thread (an `EngineClient`); this thread only routes.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ApiError, parseParams } from '../shared/api.ts';
import { decodeMessage, encodeMessage, toClientMessage, type EngineMessage } from '../shared/wire.ts';
import type { EngineClient } from '../engine/service/client.ts';
import { isInside } from '../engine/service/paths.ts';
import {
  createToken,
  hostAllowed,
  hostProblem,
  isAuthorized,
  originAllowed,
  securityHeaders,
  tokenCookieName,
} from './security.ts';

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Folder of the built renderer (`out/renderer`). */
  rendererDir: string;
  engine: EngineClient;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Default: a fresh random token. */
  token?: string;
  /** Largest WebSocket message accepted, in bytes (default 16 MiB). */
  maxPayload?: number;
}

/** A running server. */
export interface RunningServer {
  /** The URL to open, token included. */
  url: string;
  host: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.map': 'application/json; charset=utf-8',
};

/** Starts the served mode. Resolves once listening. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? createToken();
  const rendererRoot = await realpath(options.rendererDir).catch(() => {
    throw new Error(`the renderer build is missing: ${options.rendererDir} (run \`npm run build\`)`);
  });
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 16 * 1024 * 1024 });
  let port = 0;

  const stopEvents = options.engine.onEvent((event, payload) => {
    const text = encodeMessage({ type: 'event', event, payload } as EngineMessage);
    for (const socket of sockets) if (socket.readyState === socket.OPEN) socket.send(text);
  });

  const server = createServer((request, response) => {
    void handleHttp(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, 'internal error');
      else response.destroy();
      process.stderr.write(`serve: ${(error as Error).message}\n`);
    });
  });

  /** The request's URL, or null when it does not parse (a client's mistake: answered 400). */
  function requestUrl(request: IncomingMessage): URL | null {
    try {
      return new URL(request.url ?? '/', `http://${request.headers.host ?? 'invalid'}`);
    } catch {
      return null;
    }
  }

  function send(
    response: ServerResponse,
    status: number,
    text: string,
    headers: Record<string, string> = {},
  ): void {
    response.writeHead(status, {
      ...securityHeaders(),
      'Content-Type': 'text/plain; charset=utf-8',
      ...headers,
    });
    response.end(text);
  }

  async function handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const badHost = hostProblem(request.rawHeaders, port);
    if (badHost) return send(response, 400, `bad request: ${badHost}`);
    if (!hostAllowed(host, port, request.headers.host)) return send(response, 421, 'unexpected Host header');
    const url = requestUrl(request);
    if (!url) return send(response, 400, 'bad request: malformed URL');
    if (!isAuthorized(token, url, request.headers, tokenCookieName(port)))
      return send(response, 401, 'missing or wrong token: open the URL printed by `pseudo-ris serve`');
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return send(response, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    // The raw path, not url.pathname: URL parsing folds `..` away, and a traversal attempt should be refused as
    // such rather than quietly re-rooted.
    const file = await staticFile((request.url ?? '/').split('?')[0]);
    if (file === 'bad-request') return send(response, 400, 'bad request: malformed URL escape');
    if (file === 'forbidden') return send(response, 403, 'forbidden');
    if (!file) return send(response, 404, 'not found');
    const headers: Record<string, string> = {
      ...securityHeaders(`ws://${request.headers.host}`),
      'Content-Type': MIME[extname(file.path).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(file.size),
    };
    // The first page load carries the token in the URL; later requests (scripts, styles, the WebSocket) carry it in
    // this cookie, which no other site can read or send (HttpOnly, SameSite=Strict).
    if (url.searchParams.has('token'))
      headers['Set-Cookie'] =
        `${tokenCookieName(port)}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
    response.writeHead(200, headers);
    if (request.method === 'HEAD') return void response.end();
    createReadStream(file.path).pipe(response);
  }

  /** Resolves a URL path inside the renderer build; refuses traversal and symlinks leading out of it. */
  async function staticFile(
    pathname: string,
  ): Promise<{ path: string; size: number } | 'forbidden' | 'bad-request' | null> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return 'bad-request';
    }
    if (decoded.includes('\0') || decoded.includes('\\')) return 'forbidden';
    const segments = decoded.split('/').filter(Boolean);
    if (segments.some((segment) => segment === '..' || segment === '.')) return 'forbidden';
    const candidate = join(rendererRoot, ...(segments.length ? segments : ['index.html']));
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      return null;
    }
    if (!isInside(rendererRoot, real)) return 'forbidden';
    const info = await stat(real);
    if (info.isDirectory()) return staticFile(`${pathname.replace(/\/$/, '')}/index.html`);
    return { path: real, size: info.size };
  }

  // A malformed request line or header is answered 400 by Node; without this listener Node would also do so, but a
  // reset socket would print nothing either way. Named so tests can count client errors.
  server.on('clientError', (_error, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node removes its own socket error listener on upgrade: a reset during the handshake must not crash the server
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    try {
      if (hostProblem(request.rawHeaders, port)) return refuse(400, 'Bad Request');
      if (!hostAllowed(host, port, request.headers.host)) return refuse(421, 'Misdirected Request');
      if (!originAllowed(request.headers.origin, request.headers.host)) return refuse(403, 'Forbidden');
      const url = requestUrl(request);
      if (!url) return refuse(400, 'Bad Request');
      if (url.pathname !== '/api') return refuse(404, 'Not Found');
      if (!isAuthorized(token, url, request.headers, tokenCookieName(port)))
        return refuse(401, 'Unauthorized');
      wss.handleUpgrade(request, socket, head, (ws) => connect(ws));
    } catch {
      // anything unexpected in a client's handshake ends that connection only
      if (!socket.destroyed) refuse(400, 'Bad Request');
    }
  });
  wss.on('error', () => {
    /* per-connection errors are handled on each socket; the server itself keeps listening */
  });

  function connect(ws: WebSocket): void {
    sockets.add(ws);
    // A frame-level fault (message over maxPayload — refused from the frame header, before its payload is buffered —
    // invalid UTF-8, an unmasked client frame, a bad opcode or reserved bit) makes `ws` emit 'error' and close this
    // connection with the matching close code (1009, 1007, 1002). Without this listener the 'error' would be thrown
    // and stop the process; it is the client's mistake, so nothing is printed.
    ws.on('error', () => ws.terminate());
    const inFlight = new Map<number, AbortController>();
    const reply = (message: EngineMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(encodeMessage(message));
    };
    ws.on('message', (data, isBinary) => {
      try {
        handleMessage(data, isBinary);
      } catch {
        // a bug reached by one client's message closes that connection (1011), never the server
        ws.close(1011, 'internal error');
      }
    });
    const handleMessage = (data: RawData, isBinary: boolean): void => {
      if (isBinary)
        return reply({
          type: 'response',
          id: 0,
          ok: false,
          error: { code: 'invalid-params', message: 'binary messages are not part of the protocol' },
        });
      let message: unknown;
      try {
        message = decodeMessage(data.toString());
      } catch (error) {
        return reply({
          type: 'response',
          id: 0,
          ok: false,
          error: { code: 'invalid-params', message: `malformed message: ${(error as Error).message}` },
        });
      }
      const parsed = toClientMessage(message);
      if (!parsed) {
        return reply({
          type: 'response',
          id: 0,
          ok: false,
          error: {
            code: 'invalid-params',
            message: 'a message needs type "request" or "cancel" and an integer id',
          },
        });
      }
      if (parsed.type === 'cancel') return inFlight.get(parsed.id)?.abort();
      const { id, channel } = parsed;
      let params: unknown;
      try {
        params = parseParams(channel, parsed.params);
      } catch (error) {
        return reply({ type: 'response', id, ok: false, error: ApiError.from(error).toData() });
      }
      const controller = new AbortController();
      inFlight.set(id, controller);
      Promise.resolve()
        .then(() => options.engine.request(channel, params, controller.signal))
        .then((result) => reply({ type: 'response', id, ok: true, result }))
        .catch((error: unknown) =>
          reply({ type: 'response', id, ok: false, error: ApiError.from(error).toData() }),
        )
        .finally(() => inFlight.delete(id));
    };
    ws.on('close', () => {
      sockets.delete(ws);
      for (const controller of inFlight.values()) controller.abort();
    });
  }

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 0, host, () => resolveListen());
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/?token=${token}`,
    host,
    port,
    token,
    close: async () => {
      stopEvents();
      for (const socket of sockets) socket.terminate();
      wss.close();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}
