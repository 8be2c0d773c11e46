/**
 * The renderer's one way to the engine: `window.api` when the Electron preload provides it, otherwise the served
 * mode's WebSocket client (token from the page URL `?token=…`). Both are the same typed `Api` of src/shared/api.ts.
 */
import {
  API_EVENTS,
  API_METHODS,
  createApiClient,
  type Api,
  type ApiTransport,
} from '../../../shared/api.ts';
import { createWebSocketTransport, type ConnectionState } from './ws-transport.ts';

declare global {
  interface Window {
    /** Exposed by the Electron preload (contextBridge); absent in served mode. */
    api?: Api;
  }
}

/** Path of the served mode's WebSocket endpoint (src/server). */
export const WEBSOCKET_PATH = '/api';

/** How the UI reaches the engine. */
export interface ApiConnection {
  api: Api;
  kind: 'electron' | 'served';
  /** Subscribe to connection-state changes (Electron is always open). */
  onState(listener: (state: ConnectionState, detail?: string) => void): void;
}

/** Builds the connection once per page. */
export function connectApi(): ApiConnection {
  const stateListeners: ((state: ConnectionState, detail?: string) => void)[] = [];
  if (window.api) {
    return {
      api: createApiClient(preloadTransport(window.api)),
      kind: 'electron',
      onState: (listener) => listener('open'),
    };
  }
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${window.location.host}${WEBSOCKET_PATH}?token=${encodeURIComponent(token)}`;
  let last: [ConnectionState, string | undefined] = ['connecting', undefined];
  const transport = createWebSocketTransport({
    url,
    onState: (state, detail) => {
      last = [state, detail];
      for (const listener of stateListeners) listener(state, detail);
    },
  });
  return {
    api: createApiClient(transport),
    kind: 'served',
    onState: (listener) => {
      stateListeners.push(listener);
      listener(last[0], last[1]);
    },
  };
}

/**
 * A transport over the preload's named functions, so that the Electron client goes through the same
 * `createApiClient` as served mode: parameters checked before sending, and the plain `{ code, message }` objects
 * the preload rejects with turned back into `ApiError`s.
 */
export function preloadTransport(preload: Api): ApiTransport {
  const methodOf = new Map<string, string>(
    Object.entries(API_METHODS).map(([name, channel]) => [channel, name]),
  );
  const listenerOf = new Map<string, string>(
    Object.entries(API_EVENTS).map(([name, event]) => [event, name]),
  );
  const functions = preload as unknown as Record<string, (argument: unknown) => unknown>;
  return {
    request(channel, params) {
      const name = methodOf.get(channel);
      if (!name || typeof functions[name] !== 'function')
        return Promise.reject(new Error(`the preload does not expose ${channel}`));
      return Promise.resolve(functions[name](params));
    },
    listen(event, listener) {
      const name = listenerOf.get(event);
      if (!name || typeof functions[name] !== 'function')
        throw new Error(`the preload does not expose the ${event} event`);
      return functions[name](listener) as () => void;
    },
  };
}
