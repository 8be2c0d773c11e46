import { describe, expect, it } from 'vitest';
import { ApiError, createApiClient, type Api } from '../../../shared/api.ts';
import { preloadTransport } from './index.ts';

describe('the Electron client over the preload', () => {
  it('calls the named preload function of a channel and returns its result', async () => {
    const calls: unknown[] = [];
    const preload = {
      listImages: async (params: unknown) => (calls.push(params), [{ id: 'a' }]),
    } as unknown as Api;
    const api = createApiClient(preloadTransport(preload));
    await expect(api.listImages()).resolves.toEqual([{ id: 'a' }]);
    expect(calls).toEqual([{}]);
  });

  it('turns the plain error objects the preload rejects with into ApiErrors with their code', async () => {
    const preload = {
      openProject: async () => {
        throw { name: 'ApiError', code: 'forbidden', message: 'outside the allowed folders' };
      },
    } as unknown as Api;
    const api = createApiClient(preloadTransport(preload));
    const error = await api.openProject({ dir: '/tmp/x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'forbidden', message: 'outside the allowed folders' });
  });

  it('refuses bad parameters before calling the preload', async () => {
    let called = false;
    const preload = { openProject: async () => (called = true) } as unknown as Api;
    const api = createApiClient(preloadTransport(preload));
    await expect(api.openProject({ dir: 'relative/path' })).rejects.toThrow(
      'project:open: invalid parameters: dir: the path must be absolute',
    );
    expect(called).toBe(false);
  });

  it('subscribes through the named listener and returns its unsubscribe function', () => {
    const listeners: ((payload: unknown) => void)[] = [];
    const preload = {
      onProgress: (listener: (payload: unknown) => void) => {
        listeners.push(listener);
        return () => listeners.splice(listeners.indexOf(listener), 1);
      },
    } as unknown as Api;
    const api = createApiClient(preloadTransport(preload));
    const seen: unknown[] = [];
    const unsubscribe = api.onProgress((payload) => seen.push(payload));
    listeners[0]({ imagesDone: 1 } as never);
    unsubscribe();
    expect(seen).toEqual([{ imagesDone: 1 }]);
    expect(listeners).toHaveLength(0);
  });
});
