/**
 * Serves the production renderer from the `app://renderer/` scheme instead of file://: the page gets a real,
 * unique origin (IPC sender checks compare against it), the CSP arrives as a response header, and only files inside
 * the renderer build can be read (real-path check, so `..` and symlinks cannot leave it).
 */
import { readFile, realpath } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { protocol } from 'electron';
import { isInside } from '../engine/service/paths.ts';
import { APP_HOST, APP_SCHEME, appPathSegments, electronCsp, type RendererOrigin } from './ipc-guard.ts';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Must run before `app.ready`: declares the scheme standard and secure (like https for the page). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true },
    },
  ]);
}

/** Installs the `app://` handler serving `rendererDir` with the CSP header. Call after `app.ready`. */
export function serveRenderer(rendererDir: string, renderer: RendererOrigin): void {
  const rootPromise = realpath(rendererDir);
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const headers = { 'Content-Security-Policy': electronCsp(renderer), 'X-Content-Type-Options': 'nosniff' };
    if (url.host !== APP_HOST) return new Response('not found', { status: 404, headers });
    const root = await rootPromise;
    const segments = appPathSegments(url.pathname);
    // a malformed %-escape is the client's mistake: 400, never an exception in the main process
    if (segments === 'bad-request')
      return new Response('bad request: malformed URL escape', { status: 400, headers });
    if (segments === 'forbidden') return new Response('forbidden', { status: 403, headers });
    try {
      const real = await realpath(join(root, ...(segments.length ? segments : ['index.html'])));
      if (!isInside(root, real)) return new Response('forbidden', { status: 403, headers });
      const body = await readFile(real);
      return new Response(body, {
        status: 200,
        headers: { ...headers, 'Content-Type': MIME[extname(real)] ?? 'application/octet-stream' },
      });
    } catch {
      return new Response('not found', { status: 404, headers });
    }
  });
}
