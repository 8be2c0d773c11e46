/**
 * The served mode's transport: one WebSocket to the local server speaking the protocol of src/shared/wire.ts
 * (numbered requests, responses matched by id, events; typed arrays tagged in JSON), reconnecting with back-off.
 */
import { ApiError, type ApiTransport, type EventChannel, type RequestChannel } from '../../../shared/api.ts';
import { decodeMessage, encodeMessage, routeEngineMessage } from '../../../shared/wire.ts';

/** Connection state shown in the UI. */
export type ConnectionState = 'connecting' | 'open' | 'closed';

/** Options of the WebSocket transport. */
export interface WebSocketTransportOptions {
  url: string;
  /** Called on every state change (the app store mirrors it). */
  onState?: (state: ConnectionState, detail?: string) => void;
  /** Longest wait between reconnect attempts. */
  maxBackoffMs?: number;
  /** The WebSocket class (the browser's by default; tests pass another standard implementation). */
  WebSocket?: typeof WebSocket;
}

/** Close codes with which the server refuses the token; reconnecting cannot help. */
const REFUSED = new Set([1008, 4401, 4403]);

/**
 * A reconnecting WebSocket transport. Requests made while disconnected wait for the connection; requests sent
 * when it drops are rejected (they may not be idempotent, so they are never silently resent). Event listeners
 * survive reconnects.
 */
export function createWebSocketTransport(
  options: WebSocketTransportOptions,
): ApiTransport & { close(): void } {
  // `sent`: the frame left on the current socket; queued requests wait for the next connection instead.
  const pending = new Map<
    number,
    {
      resolve: (value: unknown) => void;
      reject: (error: unknown) => void;
      channel: RequestChannel;
      sent: boolean;
    }
  >();
  const queue: { id: number; frame: string }[] = [];
  const listeners = new Map<EventChannel, Set<(payload: unknown) => void>>();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let attempt = 0;
  let closedByUser = false;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  const Socket = options.WebSocket ?? globalThis.WebSocket;
  const OPEN = 1; // WebSocket.OPEN, spelled out so that any standard implementation works

  function connect(): void {
    options.onState?.('connecting');
    let ws: WebSocket;
    try {
      ws = new Socket(options.url);
    } catch (error) {
      // A page not served over http(s) (e.g. opened from a file) has no server to reach.
      options.onState?.(
        'closed',
        `cannot open ${options.url}: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    socket = ws;
    ws.addEventListener('open', () => {
      attempt = 0;
      options.onState?.('open');
      while (queue.length > 0 && ws.readyState === OPEN) {
        const { id, frame } = queue.shift()!;
        const request = pending.get(id);
        if (!request) continue;
        ws.send(frame);
        request.sent = true;
      }
    });
    ws.addEventListener('message', (message) => {
      if (typeof message.data === 'string') onText(message.data);
    });
    ws.addEventListener('close', (event) => {
      socket = null;
      for (const [id, request] of pending) {
        if (!request.sent) continue;
        request.reject(
          new ApiError(
            'engine',
            `${request.channel}: the connection to the engine closed before it answered`,
          ),
        );
        pending.delete(id);
      }
      if (closedByUser) return;
      if (REFUSED.has(event.code)) {
        options.onState?.(
          'closed',
          event.reason || 'the server refused the access token: open the URL printed by `pseudo-ris serve`',
        );
        return;
      }
      options.onState?.('closed', event.reason || 'connection lost; reconnecting');
      setTimeout(connect, Math.min(maxBackoff, 250 * 2 ** attempt++));
    });
  }

  function onText(text: string): void {
    let message: unknown;
    try {
      message = decodeMessage(text);
    } catch {
      return;
    }
    routeEngineMessage(message, pending, (event, payload) => {
      for (const listener of listeners.get(event) ?? []) listener(payload);
    });
  }

  connect();

  return {
    request(channel, params) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        let frame: string;
        try {
          frame = encodeMessage({ type: 'request', id, channel, params });
        } catch (error) {
          reject(ApiError.from(error));
          return;
        }
        const open = socket !== null && socket.readyState === OPEN;
        pending.set(id, { resolve, reject, channel, sent: open });
        if (open) socket!.send(frame);
        else queue.push({ id, frame });
      });
    },
    listen(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
      };
    },
    close() {
      closedByUser = true;
      socket?.close();
    },
  };
}
