/**
 * The adapter's side of the engine host protocol: numbered requests, responses matched by id, cancellation through
 * an `AbortSignal`, and event fan-out. The served mode and Electron main both talk to the engine through this.
 */
import { ApiError, type EventChannel, type RequestChannel } from '../../shared/api.ts';
import { routeEngineMessage, type ClientMessage, type Waiter } from '../../shared/wire.ts';

/** The adapter's end of the port to the engine host. */
export interface HostPort {
  post(message: ClientMessage): void;
  onMessage(handler: (message: unknown) => void): void;
  /** Called once when the host exits or the port closes. */
  onExit(handler: (reason: string) => void): void;
  /** Stops the host. */
  terminate(): Promise<void>;
}

/** A connection to the engine host. */
export interface EngineClient {
  /** Sends a request (already validated by the adapter); aborting `signal` cancels it in the host. */
  request(channel: RequestChannel, params: unknown, signal?: AbortSignal): Promise<unknown>;
  /** Receives every event the engine emits; returns the unsubscribe function. */
  onEvent(listener: (event: EventChannel, payload: unknown) => void): () => void;
  /** Stops the host; pending requests reject. */
  close(): Promise<void>;
}

/** Wraps a host port as an `EngineClient`. */
export function createEngineClient(port: HostPort): EngineClient {
  let nextId = 1;
  let closedReason: string | null = null;
  const waiting = new Map<number, Waiter>();
  const listeners = new Set<(event: EventChannel, payload: unknown) => void>();

  port.onMessage((message) =>
    routeEngineMessage(message, waiting, (event, payload) => {
      for (const listener of listeners) listener(event, payload);
    }),
  );
  port.onExit((reason) => {
    closedReason = reason;
    for (const entry of waiting.values())
      entry.reject(new ApiError('engine', `the engine host stopped: ${reason}`));
    waiting.clear();
  });

  return {
    request(channel, params, signal) {
      if (closedReason !== null)
        return Promise.reject(new ApiError('engine', `the engine host stopped: ${closedReason}`));
      if (signal?.aborted) return Promise.reject(new ApiError('cancelled', 'the request was cancelled'));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        signal?.addEventListener(
          'abort',
          () => {
            if (!waiting.has(id)) return;
            waiting.delete(id);
            port.post({ type: 'cancel', id });
            reject(new ApiError('cancelled', 'the request was cancelled'));
          },
          { once: true },
        );
        port.post({ type: 'request', id, channel, params });
      });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    close: () => port.terminate(),
  };
}
