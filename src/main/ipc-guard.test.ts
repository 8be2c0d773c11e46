import { describe, expect, it } from 'vitest';
import {
  APP_ORIGIN,
  appPathSegments,
  checkSender,
  createIpcHandler,
  electronCsp,
  isTrustedUrl,
  navigationAllowed,
  requestAllowed,
  type IpcSender,
  type RendererOrigin,
} from './ipc-guard.ts';

const app: RendererOrigin = { kind: 'app', origin: APP_ORIGIN };
const dev: RendererOrigin = { kind: 'dev', origin: 'http://localhost:5173' };
const ours: IpcSender = {
  frameUrl: 'app://renderer/index.html#/gallery',
  isMainFrame: true,
  webContentsId: 1,
};

function handler(forwarded: unknown[][] = []) {
  return createIpcHandler({
    renderer: app,
    trustedWebContents: () => new Set([1]),
    forward: async (channel, params) => {
      forwarded.push([channel, params]);
      return { channel };
    },
  });
}

describe('IPC sender checks', () => {
  it('trusts only our own origin', () => {
    expect(isTrustedUrl('app://renderer/index.html', app)).toBe(true);
    expect(isTrustedUrl('app://evil/index.html', app)).toBe(false);
    expect(isTrustedUrl('file:///tmp/index.html', app)).toBe(false);
    expect(isTrustedUrl('https://example.com/', app)).toBe(false);
    expect(isTrustedUrl(undefined, app)).toBe(false);
    expect(isTrustedUrl('not a url', app)).toBe(false);
    expect(isTrustedUrl('http://localhost:5173/#/x', dev)).toBe(true);
    expect(isTrustedUrl('http://localhost:5174/', dev)).toBe(false);
  });

  it('refuses foreign pages, sub-frames and other webContents with a clear reason', () => {
    expect(() => checkSender({ ...ours, frameUrl: 'https://evil.example/x' }, app, new Set([1]))).toThrow(
      "IPC refused: the sender (https://evil.example) is not this app's renderer",
    );
    expect(() => checkSender({ ...ours, isMainFrame: false }, app, new Set([1]))).toThrow(
      'IPC refused: calls from sub-frames are not allowed',
    );
    expect(() => checkSender({ ...ours, webContentsId: 7 }, app, new Set([1]))).toThrow(
      'IPC refused: the sender is not a window of this app',
    );
    expect(() => checkSender(ours, app, new Set([1]))).not.toThrow();
  });
});

describe('the IPC handler wrapper', () => {
  it('forwards a valid call from our renderer with defaults filled in', async () => {
    const forwarded: unknown[][] = [];
    const result = await handler(forwarded)('project:openDemo', ours, { dir: '/tmp/demo' });
    expect(result).toEqual({ ok: true, result: { channel: 'project:openDemo' } });
    expect(forwarded).toEqual([['project:openDemo', { dir: '/tmp/demo', count: 8, seed: 1 }]]);
  });

  it('refuses a foreign sender without forwarding anything', async () => {
    const forwarded: unknown[][] = [];
    const result = await handler(forwarded)('run:start', { ...ours, frameUrl: 'https://evil.example/' }, {});
    expect(result).toEqual({
      ok: false,
      error: {
        code: 'forbidden',
        message: "IPC refused: the sender (https://evil.example) is not this app's renderer",
      },
    });
    expect(forwarded).toEqual([]);
  });

  it('refuses malformed payloads and unknown channels with messages naming the problem', async () => {
    const forwarded: unknown[][] = [];
    const call = handler(forwarded);
    expect(await call('image:get', ours, { imageId: '../../etc/passwd' })).toMatchObject({
      ok: false,
      error: {
        code: 'invalid-params',
        message: expect.stringContaining('image:get: invalid parameters: imageId'),
      },
    });
    expect(await call('export:run', ours, { formats: [] })).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('choose at least one format') },
    });
    expect(await call('project:open', ours, 'not an object')).toMatchObject({
      ok: false,
      error: { code: 'invalid-params' },
    });
    expect(await call('shell:openExternal', ours, {})).toMatchObject({
      ok: false,
      error: { code: 'unknown-channel' },
    });
    expect(forwarded).toEqual([]);
  });

  it('passes the engine error code through the envelope', async () => {
    const call = createIpcHandler({
      renderer: app,
      trustedWebContents: () => new Set([1]),
      forward: async () => {
        throw Object.assign(new Error('ignored'), {});
      },
    });
    expect(await call('run:status', ours, {})).toEqual({
      ok: false,
      error: { code: 'engine', message: 'ignored' },
    });
  });
});

describe('the Electron CSP and navigation', () => {
  it('allows only our own origin and no network connections in production', () => {
    const csp = electronCsp(app);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'none'");
    expect(csp).not.toMatch(/unsafe-eval|\*|https?:/);
  });

  it('adds only the dev server in development', () => {
    expect(electronCsp(dev)).toContain("connect-src 'self' http://localhost:5173 ws://localhost:5173");
  });

  it('denies navigation away from the renderer', () => {
    expect(navigationAllowed('app://renderer/index.html#/report', app)).toBe(true);
    expect(navigationAllowed('https://example.com', app)).toBe(false);
    expect(navigationAllowed('file:///etc/passwd', app)).toBe(false);
  });

  it('cancels every request for remote content', () => {
    expect(requestAllowed('app://renderer/assets/index.js', app)).toBe(true);
    expect(requestAllowed('blob:app://renderer/123', app)).toBe(true);
    expect(requestAllowed('https://cdn.example.com/lib.js', app)).toBe(false);
    expect(requestAllowed('http://localhost:5173/src/main.ts', app)).toBe(false);
    expect(requestAllowed('http://localhost:5173/src/main.ts', dev)).toBe(true);
    expect(requestAllowed('ws://localhost:5173/', dev)).toBe(true);
    expect(requestAllowed('ws://evil.example/', dev)).toBe(false);
  });
});

describe('app:// request paths', () => {
  it('answers a malformed %-escape as a bad request instead of throwing', () => {
    expect(appPathSegments('/%E0%A4%A')).toBe('bad-request');
    expect(appPathSegments('/%')).toBe('bad-request');
  });

  it('refuses traversal, backslashes and NUL bytes, and splits ordinary paths', () => {
    expect(appPathSegments('/assets/%2e%2e/%2e%2e/etc/passwd')).toBe('forbidden');
    expect(appPathSegments('/a%5Cb')).toBe('forbidden');
    expect(appPathSegments('/a%00b')).toBe('forbidden');
    expect(appPathSegments('/assets/app.js')).toEqual(['assets', 'app.js']);
    expect(appPathSegments('/')).toEqual([]);
  });
});
