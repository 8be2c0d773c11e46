// The graph thread (graph-thread.ts): a worker that owns onnxruntime sessions and runs their graphs, so that the
// engine's own thread — which answers the user's reads — never blocks in a graph run (onnxruntime-node runs a graph
// synchronously on the calling thread). Plain JavaScript that imports only onnxruntime-node: it needs no TypeScript
// loader in the worker.
import { constants, getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

if (!parentPort) throw new Error('graph-thread-entry.mjs runs only as a worker thread');
const port = parentPort;
// Linux: the priority of this thread only (setpriority on thread id 0 = the calling thread), inherited by the
// onnxruntime threads its sessions start — so a run's graphs take the cores only when the page, the server and
// the engine's own thread do not need them. Elsewhere the call would lower the whole process: not made.
if (workerData?.background && process.platform === 'linux') {
  try {
    setPriority(0, constants.priority.PRIORITY_BELOW_NORMAL);
  } catch {
    // not permitted here: the graphs run at the process's priority
  }
}
/** @type {Map<number, import('onnxruntime-node').InferenceSession>} */
const sessions = new Map();
let nextId = 1;

/**
 * A tensor as it crosses the thread boundary: its type, data and dims, and the buffer to hand over. An output that
 * fills its own buffer (onnxruntime-node copies outputs into fresh ones) goes as it is; a view on a larger buffer
 * goes as a copy of exactly the view.
 */
function plain(tensor) {
  const data = tensor.data;
  if (Array.isArray(data))
    return { value: { type: tensor.type, data, dims: [...tensor.dims] }, buffer: null };
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  const own = whole ? data : data.slice();
  return { value: { type: tensor.type, data: own, dims: [...tensor.dims] }, buffer: own.buffer };
}

/** Posts an answer, its buffers handed over; a buffer that cannot be (one onnxruntime still owns) is copied. */
function answer(seq, result, transfer) {
  try {
    port.postMessage({ seq, ok: true, result }, transfer);
  } catch {
    port.postMessage({ seq, ok: true, result });
  }
}

async function handle(message) {
  switch (message.op) {
    case 'create': {
      const session = await ort.InferenceSession.create(message.model, message.options);
      const id = nextId++;
      sessions.set(id, session);
      return {
        result: {
          id,
          inputNames: session.inputNames,
          outputNames: session.outputNames,
          inputMetadata: session.inputMetadata,
          outputMetadata: session.outputMetadata,
        },
        transfer: [],
      };
    }
    case 'run': {
      const session = sessions.get(message.id);
      if (!session) throw new Error(`graph thread: no session ${message.id} (released?)`);
      const feeds = {};
      for (const [name, t] of Object.entries(message.feeds))
        feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const outputs = await session.run(feeds, message.fetches);
      const result = {};
      const transfer = [];
      for (const [name, tensor] of Object.entries(outputs)) {
        const { value, buffer } = plain(tensor);
        result[name] = value;
        if (buffer) transfer.push(buffer);
      }
      return { result, transfer };
    }
    case 'priority':
      return { result: getPriority(0), transfer: [] };
    case 'release': {
      const session = sessions.get(message.id);
      sessions.delete(message.id);
      await session?.release();
      return { result: null, transfer: [] };
    }
    default:
      throw new Error(`graph thread: unknown op ${message.op}`);
  }
}

port.on('message', (message) => {
  handle(message).then(
    ({ result, transfer }) => answer(message.seq, result, transfer),
    (error) =>
      port.postMessage({
        seq: message.seq,
        ok: false,
        error: { name: error?.name ?? 'Error', message: error?.message ?? String(error) },
      }),
  );
});
