/**
 * Electron utilityProcess entry of the engine host: the engine facade runs here, off the main process (whose event
 * loop serves every window) and off the renderer. Speaks the same protocol as the served mode's worker thread.
 * Its options arrive as one JSON argument (`--engine-options=…`).
 */
import { serveEngine } from '../engine/service/host.ts';
import { createEngineService } from '../engine/service/index.ts';
import type { EngineServiceOptions } from '../engine/service/options.ts';

const argument = process.argv.find((arg) => arg.startsWith('--engine-options='));
if (!argument) throw new Error('engine-host: missing --engine-options=<json>');
const options = JSON.parse(argument.slice('--engine-options='.length)) as EngineServiceOptions;

// `process.parentPort` exists only inside an Electron utilityProcess.
const parentPort = (
  process as unknown as {
    parentPort?: {
      postMessage(message: unknown): void;
      on(event: 'message', listener: (event: { data: unknown }) => void): void;
    };
  }
).parentPort;
if (!parentPort) throw new Error('engine-host runs only as an Electron utilityProcess');
const port = parentPort;
serveEngine(
  {
    post: (message) => port.postMessage(message),
    onMessage: (handler) => port.on('message', (event) => handler(event.data)),
  },
  createEngineService(options),
);
