// Served mode: a queued run started from the page connects only to loopback Redis, or to the hosts `serve
// --allow-queue` named, so a page holding the token cannot make the engine open connections across the network.
import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../../shared/api.ts';
import { createEngineService } from './index.ts';

const context: RequestContext = { signal: new AbortController().signal, emit: () => {} };

function engine(mode: 'served' | 'electron', queueHosts?: string[]) {
  return createEngineService({
    mode,
    version: 't',
    packDirs: [],
    allowedRoots: [],
    defaultProjectDir: '/tmp',
    queueHosts,
  });
}

const start = (handlers: ReturnType<typeof engine>, url: string) =>
  handlers['run:start']({ queue: { url, shipImages: false }, force: false }, context);

describe('which Redis hosts a queued run may reach', () => {
  it('served mode refuses a network host by default, naming it and the flag', async () => {
    await expect(start(engine('served'), 'redis://:secret@10.0.0.5:6379/0')).rejects.toMatchObject({
      code: 'forbidden',
      message:
        'queue.url: host 10.0.0.5:6379 is not allowed in served mode (loopback only; start serve with --allow-queue HOST[:PORT])',
    });
  });

  it('served mode lets loopback through to the next check (here: no project is open)', async () => {
    for (const url of ['redis://127.0.0.1:6379/0', 'redis://localhost/0', 'rediss://[::1]:6380/1'])
      await expect(start(engine('served'), url)).rejects.not.toMatchObject({ code: 'forbidden' });
  });

  it('--allow-queue replaces loopback with the listed hosts, with or without a port', async () => {
    const handlers = engine('served', ['redis.lab:6380', 'queue.local']);
    await expect(start(handlers, 'redis://redis.lab:6380/0')).rejects.not.toMatchObject({
      code: 'forbidden',
    });
    await expect(start(handlers, 'redis://queue.local:7000/0')).rejects.not.toMatchObject({
      code: 'forbidden',
    });
    await expect(start(handlers, 'redis://redis.lab:6379/0')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(start(handlers, 'redis://127.0.0.1/0')).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('allowed: redis.lab:6380, queue.local'),
    });
  });

  it('a malformed URL is a parameter error, and Electron does not confine hosts', async () => {
    await expect(start(engine('served'), 'http://x/0')).rejects.toMatchObject({ code: 'invalid-params' });
    await expect(start(engine('electron'), 'redis://10.0.0.5/0')).rejects.not.toMatchObject({
      code: 'forbidden',
    });
  });
});
