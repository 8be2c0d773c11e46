/**
 * Runs the engine facade in a `worker_threads` worker (served mode, tests): inference blocks its thread, so it never
 * runs on the thread that serves HTTP and WebSocket traffic.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import type { ApiHandlers } from '../../shared/api.ts';
import { createEngineClient, type EngineClient } from './client.ts';
import { serveEngine } from './host.ts';
import type { EngineServiceOptions } from './options.ts';

/** Starts the engine in a worker thread and connects to it. */
export function startWorkerEngine(options: EngineServiceOptions): EngineClient {
  // The bootstrap registers tsx in the worker (the sources are TypeScript; a worker does not inherit the loader).
  const entry = new URL('./worker-bootstrap.mjs', import.meta.url);
  const worker = new Worker(entry, { workerData: options });
  let exitHandler: ((reason: string) => void) | null = null;
  let exited = false;
  const onExit = (reason: string) => {
    if (exited) return;
    exited = true;
    exitHandler?.(reason);
  };
  worker.on('error', (error) => onExit(`worker error: ${error.message}`));
  worker.on('exit', (code) => onExit(`worker exited with code ${code}`));
  return createEngineClient({
    post: (message) => worker.postMessage(message),
    onMessage: (handler) => worker.on('message', handler),
    onExit: (handler) => (exitHandler = handler),
    terminate: async () => {
      await worker.terminate();
    },
  });
}

/**
 * Serves `handlers` in this thread over an in-memory message channel (structured clone, like a worker). For tests
 * of the adapters, where starting a worker per test would only add seconds.
 */
export function startInProcessEngine(handlers: ApiHandlers): EngineClient {
  const { port1, port2 } = new MessageChannel();
  const stop = serveEngine(
    { post: (message) => port2.postMessage(message), onMessage: (handler) => port2.on('message', handler) },
    handlers,
  );
  let exitHandler: ((reason: string) => void) | null = null;
  return createEngineClient({
    post: (message) => port1.postMessage(message),
    onMessage: (handler) => port1.on('message', handler),
    onExit: (handler) => (exitHandler = handler),
    terminate: async () => {
      stop();
      port1.close();
      port2.close();
      exitHandler?.('closed');
    },
  });
}
