/**
 * The engine host's side of the message protocol (shared/wire.ts): receives requests from an adapter (served mode's
 * HTTP thread, Electron main), validates them against the contract, runs the facade's handler, and posts back the
 * response and every event. Runs inside a worker thread or an Electron utilityProcess, never on the UI thread.
 */
import {
  ApiError,
  parseParams,
  type ApiHandlers,
  type EventChannel,
  type RequestChannel,
} from '../../shared/api.ts';
import { isClientMessage, type EngineMessage } from '../../shared/wire.ts';

/** A bidirectional message port: worker `parentPort`, utilityProcess `process.parentPort`, or an in-memory pair. */
export interface MessagePortLike {
  post(message: EngineMessage): void;
  onMessage(handler: (message: unknown) => void): void;
}

/** Serves `handlers` on `port` until the port closes. Returns a function that aborts every request in flight. */
export function serveEngine(port: MessagePortLike, handlers: ApiHandlers): () => void {
  const inFlight = new Map<number, AbortController>();
  const emit = (event: EventChannel, payload: unknown) => port.post({ type: 'event', event, payload });

  port.onMessage((message) => {
    if (!isClientMessage(message)) return; // not a protocol message: nothing to answer
    if (message.type === 'cancel') {
      inFlight.get(message.id)?.abort(new ApiError('cancelled', 'the request was cancelled'));
      return;
    }
    const { id, channel } = message;
    const controller = new AbortController();
    inFlight.set(id, controller);
    void handle(channel, message.params, controller.signal)
      .then((result) => port.post({ type: 'response', id, ok: true, result }))
      .catch((error: unknown) =>
        port.post({ type: 'response', id, ok: false, error: ApiError.from(error).toData() }),
      )
      .finally(() => inFlight.delete(id));
  });

  async function handle(channel: RequestChannel, params: unknown, signal: AbortSignal): Promise<unknown> {
    // Validated again here although every adapter validates: the engine trusts no caller.
    const parsed = parseParams(channel, params);
    const handler = handlers[channel] as (
      params: unknown,
      context: { signal: AbortSignal; emit: typeof emit },
    ) => Promise<unknown>;
    return handler(parsed, { signal, emit: emit as never });
  }

  return () => {
    for (const controller of inFlight.values())
      controller.abort(new ApiError('cancelled', 'the engine host is shutting down'));
  };
}
