/** Worker-thread entry of the engine host (see worker.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { serveEngine } from './host.ts';
import { createEngineService } from './index.ts';
import type { EngineServiceOptions } from './options.ts';

if (!parentPort) throw new Error('worker-entry.ts runs only as a worker thread');
const port = parentPort;
const handlers = createEngineService(workerData as EngineServiceOptions);
serveEngine(
  { post: (message) => port.postMessage(message), onMessage: (handler) => port.on('message', handler) },
  handlers,
);
