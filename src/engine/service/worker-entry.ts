/** Worker-thread entry of the engine host (see worker.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { useGraphThread } from '../runtime/index.ts';
import { serveEngine } from './host.ts';
import { createEngineService } from './index.ts';
import type { EngineServiceOptions } from './options.ts';

if (!parentPort) throw new Error('worker-entry.ts runs only as a worker thread');
const port = parentPort;
// graph runs go to a thread of their own, so this one answers reads while a run's graphs compute (issue 22)
useGraphThread(true);
const handlers = createEngineService(workerData as EngineServiceOptions);
serveEngine(
  { post: (message) => port.postMessage(message), onMessage: (handler) => port.on('message', handler) },
  handlers,
);
