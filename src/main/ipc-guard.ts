/**
 * The checks every IPC call passes before it reaches the engine, as pure functions (no Electron import, so they are
 * unit-tested in plain Node): the sender must be our own renderer's main frame, the channel must be in the contract,
 * and the payload must match the channel's schema. Results travel in an envelope so error codes survive IPC
 * (Electron keeps only the message of a thrown Error).
 */
import {
  ApiError,
  isRequestChannel,
  parseParams,
  type ApiErrorData,
  type RequestChannel,
} from '../shared/api.ts';

/** Where our renderer is loaded from: the `app://` scheme of the packaged build, or the dev server's origin. */
export type RendererOrigin = { kind: 'app'; origin: string } | { kind: 'dev'; origin: string };

/** The custom scheme and host the production renderer is served from (see protocol.ts). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'renderer';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/** What main knows about the sender of an IPC call (from `IpcMainInvokeEvent`). */
export interface IpcSender {
  /** `event.senderFrame?.url`; undefined when the frame is gone. */
  frameUrl: string | undefined;
  /** True when the frame is the top-level frame of its page (`senderFrame.parent === null`). */
  isMainFrame: boolean;
  /** `event.sender.id`. */
  webContentsId: number;
}

/** The envelope an IPC handler resolves to. */
export type IpcEnvelope = { ok: true; result: unknown } | { ok: false; error: ApiErrorData };

/** True when `url` belongs to our renderer: same origin as the app scheme or the dev server, nothing else. */
export function isTrustedUrl(url: string | undefined, renderer: RendererOrigin): boolean {
  if (!url) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (renderer.kind === 'app') return `${parsed.protocol}//${parsed.host}` === renderer.origin;
  return parsed.origin === renderer.origin;
}

/**
 * Refuses a call whose sender is not our renderer's main frame in one of our windows; throws `forbidden` naming the
 * reason (never echoing more than the foreign origin).
 */
export function checkSender(
  sender: IpcSender,
  renderer: RendererOrigin,
  trustedWebContents: ReadonlySet<number>,
): void {
  if (!trustedWebContents.has(sender.webContentsId))
    throw new ApiError('forbidden', 'IPC refused: the sender is not a window of this app');
  if (!sender.isMainFrame)
    throw new ApiError('forbidden', 'IPC refused: calls from sub-frames are not allowed');
  if (!isTrustedUrl(sender.frameUrl, renderer)) {
    let origin = 'an unknown page';
    try {
      origin = new URL(sender.frameUrl ?? '').origin;
    } catch {
      // keep the generic wording
    }
    throw new ApiError('forbidden', `IPC refused: the sender (${origin}) is not this app's renderer`);
  }
}

/** Options of {@link createIpcHandler}. */
export interface IpcHandlerOptions {
  renderer: RendererOrigin;
  /** Ids of our windows' webContents (read at call time: windows come and go). */
  trustedWebContents: () => ReadonlySet<number>;
  /** Runs a validated call (main-only channels first, the engine host otherwise). */
  forward: (channel: RequestChannel, params: unknown, sender: IpcSender) => Promise<unknown>;
}

/**
 * Builds the function behind every `ipcMain.handle(channel, …)`: sender check, channel allow-list, schema
 * validation, then `forward`; always resolves to an envelope.
 */
export function createIpcHandler(
  options: IpcHandlerOptions,
): (channel: string, sender: IpcSender, params: unknown) => Promise<IpcEnvelope> {
  return async (channel, sender, params) => {
    try {
      checkSender(sender, options.renderer, options.trustedWebContents());
      if (!isRequestChannel(channel))
        throw new ApiError(
          'unknown-channel',
          `IPC refused: unknown channel ${JSON.stringify(channel).slice(0, 80)}`,
        );
      const parsed = parseParams(channel, params);
      return { ok: true, result: await options.forward(channel, parsed, sender) };
    } catch (error) {
      return { ok: false, error: ApiError.from(error).toData() };
    }
  };
}

/**
 * The renderer's Content-Security-Policy in Electron: everything from our own origin only, images also from blob:
 * and data: URLs (image bytes arrive over IPC), no connections anywhere (IPC is not a network request), no plugins,
 * frames, base-URI or form tricks. The dev server adds its own origin and WebSocket for hot reload.
 */
export function electronCsp(renderer: RendererOrigin): string {
  const self = renderer.kind === 'dev' ? `'self' ${renderer.origin}` : "'self'";
  const connect =
    renderer.kind === 'dev'
      ? `'self' ${renderer.origin} ${renderer.origin.replace(/^http/, 'ws')}`
      : "'none'";
  return [
    "default-src 'none'",
    `script-src ${self}`,
    `style-src ${self} 'unsafe-inline'`,
    `img-src ${self} blob: data:`,
    `font-src ${self} data:`,
    `connect-src ${connect}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "frame-src 'none'",
  ].join('; ');
}

/** Whether a navigation to `url` is allowed: only within our renderer (a reload or an in-app hash change). */
export function navigationAllowed(url: string, renderer: RendererOrigin): boolean {
  return isTrustedUrl(url, renderer);
}

/**
 * Whether the renderer may load `url` at all (checked for every request of the session): our own origin, blob: and
 * data: URLs, and in development the dev server (http and its hot-reload WebSocket). No remote content, ever.
 */
export function requestAllowed(url: string, renderer: RendererOrigin): boolean {
  if (url.startsWith('blob:') || url.startsWith('data:') || url.startsWith('devtools:')) return true;
  if (isTrustedUrl(url, renderer)) return true;
  if (renderer.kind === 'dev') {
    try {
      const parsed = new URL(url);
      return parsed.protocol === 'ws:' && parsed.host === new URL(renderer.origin).host;
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * The path segments of an `app://renderer/…` request, or why it is refused: `bad-request` for a malformed
 * %-escape (answered 400, never an exception in the main process), `forbidden` for `..`, backslashes and NUL bytes.
 * An empty list means the index page.
 */
export function appPathSegments(pathname: string): string[] | 'bad-request' | 'forbidden' {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return 'bad-request';
  }
  const segments = decoded.split('/').filter(Boolean);
  if (segments.some((segment) => segment === '..' || segment.includes('\\') || segment.includes('\0')))
    return 'forbidden';
  return segments;
}
