/**
 * Preload (sandboxed, context-isolated): exposes `window.api` — one named function per request of the contract and
 * one listener per event — and nothing else. The renderer never sees `ipcRenderer`, channel strings or IPC events.
 *
 * Errors reject with plain `{ name: 'ApiError', code, message }` objects: contextBridge keeps only the message of
 * an Error, and the renderer's `ApiError.from` turns the plain object back into an ApiError with its code.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { API_EVENTS, API_METHODS, EVENT_IPC_CHANNEL } from '../shared/api-names.ts';

type Envelope = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };
type Listener = (payload: unknown) => void;

const listeners = new Map<string, Set<Listener>>();
ipcRenderer.on(EVENT_IPC_CHANNEL, (_event, message: { event?: unknown; payload?: unknown }) => {
  if (!message || typeof message.event !== 'string') return;
  for (const listener of listeners.get(message.event) ?? []) listener(message.payload);
});

const api: Record<string, unknown> = {};
for (const [name, channel] of Object.entries(API_METHODS)) {
  api[name] = async (params?: unknown) => {
    const envelope = (await ipcRenderer.invoke(channel, params ?? {})) as Envelope;
    if (envelope.ok) return envelope.result;
    throw { name: 'ApiError', code: envelope.error.code, message: envelope.error.message };
  };
}
for (const [name, event] of Object.entries(API_EVENTS)) {
  api[name] = (listener: Listener) => {
    if (typeof listener !== 'function') throw new TypeError(`${name}: the listener must be a function`);
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  };
}

contextBridge.exposeInMainWorld('api', Object.freeze(api));
