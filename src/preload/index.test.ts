// The preload runs inside Electron, which cannot run here: electron's two objects it touches (contextBridge,
// ipcRenderer) are replaced by recorders, and the real preload module is loaded against them.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { API_EVENTS, API_METHODS, EVENT_IPC_CHANNEL } from '../shared/api-names.ts';
import { ApiError, type Api } from '../shared/api.ts';

const exposed: Record<string, unknown> = {};
const invoked: [string, unknown][] = [];
let eventHandler: ((event: unknown, message: unknown) => void) | null = null;
let nextReply: unknown = { ok: true, result: 42 };

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, value: unknown) => (exposed[key] = value) },
  ipcRenderer: {
    invoke: async (channel: string, params: unknown) => {
      invoked.push([channel, params]);
      return nextReply;
    },
    on: (channel: string, handler: (event: unknown, message: unknown) => void) => {
      if (channel === EVENT_IPC_CHANNEL) eventHandler = handler;
    },
  },
}));

let api: Api;
beforeAll(async () => {
  await import('./index.ts');
  api = exposed.api as Api;
});

describe('the preload', () => {
  it('exposes exactly one named function per request and one listener per event, frozen, and no ipcRenderer', () => {
    expect(Object.keys(exposed)).toEqual(['api']);
    expect(Object.keys(api).sort()).toEqual([...Object.keys(API_METHODS), ...Object.keys(API_EVENTS)].sort());
    expect(Object.isFrozen(api)).toBe(true);
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
  });

  it('invokes the contract channel of each named function and unwraps the result', async () => {
    nextReply = { ok: true, result: { kept: 3 } };
    await expect(api.keptCounts({ tau: 1.3 })).resolves.toEqual({ kept: 3 });
    await api.runStatus();
    expect(invoked.slice(-2)).toEqual([
      ['filter:counts', { tau: 1.3 }],
      ['run:status', {}],
    ]);
  });

  it('rejects with the error code intact, which ApiError.from restores', async () => {
    nextReply = { ok: false, error: { code: 'forbidden', message: 'IPC refused' } };
    const error = await api.appInfo().catch((caught: unknown) => caught);
    expect(error).toEqual({ name: 'ApiError', code: 'forbidden', message: 'IPC refused' });
    expect(ApiError.from(error).code).toBe('forbidden');
  });

  it('delivers events to listeners without the IPC event object, and unsubscribes', () => {
    const seen: unknown[] = [];
    const off = api.onProgress((payload) => seen.push(payload));
    eventHandler?.({ sender: 'ipc event' }, { event: 'run:progress', payload: { imagesDone: 1 } });
    eventHandler?.({}, { event: 'run:finished', payload: {} });
    off();
    eventHandler?.({}, { event: 'run:progress', payload: { imagesDone: 2 } });
    expect(seen).toEqual([{ imagesDone: 1 }]);
  });
});
