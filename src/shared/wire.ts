/**
 * The message protocol shared by the served mode's WebSocket and the engine host (worker thread / Electron
 * utilityProcess), and the JSON codec that carries typed arrays over the WebSocket.
 *
 * Worker and utilityProcess messages are structured-cloned, so typed arrays pass as they are; the WebSocket carries
 * text, so `encodeMessage` tags typed arrays as `{ $typed, base64 }` and `decodeMessage` rebuilds them.
 */
import {
  ApiError,
  isApiErrorData,
  type ApiErrorData,
  type EventChannel,
  type RequestChannel,
} from './api.ts';

/** A request from a client: `id` is unique per connection. */
export interface RequestMessage {
  type: 'request';
  id: number;
  channel: RequestChannel;
  params: unknown;
}

/** The caller no longer wants the answer to request `id` (its work is aborted). */
export interface CancelMessage {
  type: 'cancel';
  id: number;
}

/** The answer to request `id`. */
export type ResponseMessage =
  | { type: 'response'; id: number; ok: true; result: unknown }
  | { type: 'response'; id: number; ok: false; error: ApiErrorData };

/** An event pushed by the engine. */
export interface EventMessage {
  type: 'event';
  event: EventChannel;
  payload: unknown;
}

/** Client → engine. */
export type ClientMessage = RequestMessage | CancelMessage;
/** Engine → client. */
export type EngineMessage = ResponseMessage | EventMessage;

/**
 * Checks the envelope of a client message (the params are validated later against the channel's schema). A request
 * may omit `type` (`{ id, channel, params }` is a request); `toClientMessage` fills it in.
 */
export function isClientMessage(value: unknown): value is ClientMessage {
  if (!value || typeof value !== 'object') return false;
  const message = value as Record<string, unknown>;
  if (!Number.isSafeInteger(message.id)) return false;
  if (message.type === 'cancel') return true;
  return (message.type === 'request' || message.type === undefined) && typeof message.channel === 'string';
}

/** The client message in `value` with its `type` filled in, or null when the envelope is not one. */
export function toClientMessage(value: unknown): ClientMessage | null {
  if (!isClientMessage(value)) return null;
  if (value.type === 'cancel') return { type: 'cancel', id: value.id };
  return { type: 'request', id: value.id, channel: value.channel, params: value.params };
}

/** Checks the envelope of an engine message. */
export function isEngineMessage(value: unknown): value is EngineMessage {
  if (!value || typeof value !== 'object') return false;
  const message = value as Record<string, unknown>;
  if (message.type === 'event') return typeof message.event === 'string';
  if (message.type !== 'response' || !Number.isSafeInteger(message.id)) return false;
  return message.ok === true || (message.ok === false && isApiErrorData(message.error));
}

const TYPED_ARRAYS = {
  Uint8Array,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
} as const;
type TypedName = keyof typeof TYPED_ARRAYS;

/** Encodes a message as JSON text, typed arrays as base64 of their bytes (NaN and ±∞ in float arrays survive). */
export function encodeMessage(message: ClientMessage | EngineMessage): string {
  return JSON.stringify(message, (_key, value: unknown) => {
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const name = value.constructor.name as TypedName;
      if (!(name in TYPED_ARRAYS)) throw new TypeError(`encodeMessage: unsupported typed array ${name}`);
      return {
        $typed: name,
        base64: bytesToBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)),
      };
    }
    if (value instanceof ArrayBuffer)
      return { $typed: 'ArrayBuffer', base64: bytesToBase64(new Uint8Array(value)) };
    return value;
  });
}

/** Decodes JSON text made by `encodeMessage`; throws on text that is not JSON. */
export function decodeMessage(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === 'object' && typeof (value as Record<string, unknown>).$typed === 'string') {
      const { $typed, base64 } = value as { $typed: string; base64: unknown };
      if (typeof base64 !== 'string') throw new TypeError(`decodeMessage: ${$typed} without base64 data`);
      const bytes = base64ToBytes(base64);
      if ($typed === 'ArrayBuffer') return bytes.buffer;
      const Constructor = (TYPED_ARRAYS as Record<string, (typeof TYPED_ARRAYS)[TypedName]>)[$typed];
      if (!Constructor || !Object.hasOwn(TYPED_ARRAYS, $typed))
        throw new TypeError(`decodeMessage: unknown typed array ${$typed}`);
      if (bytes.byteLength % Constructor.BYTES_PER_ELEMENT !== 0) {
        throw new TypeError(
          `decodeMessage: ${$typed} byte length ${bytes.byteLength} is not a multiple of ${Constructor.BYTES_PER_ELEMENT}`,
        );
      }
      return new Constructor(
        bytes.buffer as ArrayBuffer,
        0,
        bytes.byteLength / Constructor.BYTES_PER_ELEMENT,
      );
    }
    return value;
  });
}

/** Base64 of bytes; works in browsers and Node (btoa), in chunks so large arrays do not overflow the call stack. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk)
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

/** Bytes of base64 text (a fresh, aligned buffer). */
export function base64ToBytes(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A request waiting for its response. */
export interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Routes one message from the engine: an event goes to `emit`; a response settles and removes its waiter. Anything
 * else, and responses to unknown ids (a late answer to a cancelled request), are ignored.
 *
 * The served mode's WebSocket client and the adapters' engine-host client both dispatch through this.
 */
export function routeEngineMessage<W extends Waiter>(
  message: unknown,
  waiting: Map<number, W>,
  emit: (event: EventChannel, payload: unknown) => void,
): void {
  if (!isEngineMessage(message)) return;
  if (message.type === 'event') {
    emit(message.event, message.payload);
    return;
  }
  const waiter = waiting.get(message.id);
  if (!waiter) return;
  waiting.delete(message.id);
  if (message.ok) waiter.resolve(message.result);
  else waiter.reject(new ApiError(message.error.code, message.error.message));
}
