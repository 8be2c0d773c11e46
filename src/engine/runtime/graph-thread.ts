/**
 * The graph thread: onnxruntime sessions opened and run in a worker thread of their own, so that the thread that
 * answers the user's requests stays free while a graph runs (issue 22).
 *
 * onnxruntime-node runs a graph synchronously on the calling thread. With the sessions on the engine's thread, a read
 * that arrives during a run (an image, its masks, the report) waits for the graph run in progress — on 2 busy cores a
 * 64-point SAM decoder batch of the demo pack took 1.5–3.5 s — although the read itself takes milliseconds; the lanes
 * (lanes.ts) only hold the batch's *next* graph run. Here the engine thread only posts the feeds and awaits the
 * outputs; graph runs of both lanes queue in the one graph thread in the order they are posted (one session of each
 * role, as before, so memory does not double), and the lanes still decide which is posted next.
 *
 * The same session options reach the same onnxruntime in the worker, so the outputs are the ones an in-thread session
 * gives (graph-thread.test.ts compares them byte for byte). Feeds are copied across (the caller keeps its arrays:
 * embeddings and past key/values are fed again); outputs are transferred, not copied twice.
 *
 * The caption decoders' token steps stay in the caller's thread (pack.ts `STEP_ROLES`: a hop per step costs more
 * than the step). Off by default: the CLI, benches and tests run sessions in their own thread; the served engine
 * turns it on (service/worker-entry.ts). {@link useGraphThread} switches the whole runtime, as it holds one thread.
 */
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/** What the runtime uses of an onnxruntime session; a bare `ort.InferenceSession` is one, so is a {@link RemoteSession}. */
export type GraphSession = Pick<
  ort.InferenceSession,
  'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata' | 'release'
> & {
  run(feeds: Record<string, ort.Tensor>, fetches: readonly string[]): Promise<Record<string, ort.OnnxValue>>;
};

interface PlainTensor {
  type: ort.Tensor.Type;
  data: ort.Tensor.DataType;
  dims: number[];
}

/** What the thread answers to `create`: the session's id there and its metadata. */
interface CreatedSession {
  id: number;
  inputNames: string[];
  outputNames: string[];
  inputMetadata: ort.InferenceSession.ValueMetadata[];
  outputMetadata: ort.InferenceSession.ValueMetadata[];
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** One worker holding sessions; requests are answered in the order the worker finishes them. */
export class GraphThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #failure: Error | null = null;

  /**
   * Starts the thread. `background`: on Linux its graphs (and onnxruntime's threads) run below normal priority, so
   * the user's work on the machine goes first and the graphs use what is left.
   */
  constructor(options: { background?: boolean; entry?: URL } = {}) {
    const entry = options.entry ?? new URL('./graph-thread-entry.mjs', import.meta.url);
    this.#worker = new Worker(entry, { workerData: { background: options.background ?? false } });
    // the thread keeps no process alive while nothing awaits it (see #request)
    this.#worker.unref();
    this.#worker.on('message', (message: { seq: number; ok: boolean; result?: unknown; error?: Error }) => {
      const pending = this.#pending.get(message.seq);
      if (!pending) return;
      this.#pending.delete(message.seq);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(Object.assign(new Error(message.error!.message), { name: message.error!.name }));
    });
    const fail = (error: Error) => {
      this.#failure = error;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', (error) => fail(new Error(`the graph thread failed: ${error.message}`)));
    this.#worker.on('exit', (code) => fail(new Error(`the graph thread exited with code ${code}`)));
  }

  /** Creates a session in the thread (`ort.InferenceSession.create` with the same arguments). */
  async create(
    model: string | Uint8Array,
    options: ort.InferenceSession.SessionOptions,
  ): Promise<GraphSession> {
    const created = (await this.#request({ op: 'create', model, options })) as CreatedSession;
    return new RemoteSession(this, created);
  }

  /** The thread's scheduling priority (os.getPriority there: 10 below normal on Linux when `background`). */
  async priority(): Promise<number> {
    return (await this.#request({ op: 'priority' })) as number;
  }

  /** Stops the thread; sessions in it are gone. */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }

  /** @internal Posts one request and awaits its answer. */
  request(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<unknown> {
    return this.#request(message, transfer);
  }

  #request(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    const seq = ++this.#seq;
    // referenced only while an answer is awaited: a process waiting on a graph run must not exit meanwhile
    if (this.#pending.size === 0) this.#worker.ref();
    return new Promise<unknown>((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      this.#worker.postMessage({ ...message, seq }, transfer);
    }).finally(() => {
      if (this.#pending.size === 0) this.#worker.unref();
    });
  }
}

/** A session living in the graph thread, used as the bare onnxruntime session it stands for. */
class RemoteSession implements GraphSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly #id: number;

  constructor(
    private readonly thread: GraphThread,
    created: CreatedSession,
  ) {
    this.#id = created.id;
    this.inputNames = created.inputNames;
    this.outputNames = created.outputNames;
    this.inputMetadata = created.inputMetadata;
    this.outputMetadata = created.outputMetadata;
  }

  async run(
    feeds: Record<string, ort.Tensor>,
    fetches: readonly string[],
  ): Promise<Record<string, ort.Tensor>> {
    const plainFeeds: Record<string, PlainTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, tensor] of Object.entries(feeds)) {
      // one copy of exactly the view, handed over (the caller's array stays its own)
      const data = (tensor.data as Float32Array | string[]).slice();
      plainFeeds[name] = { type: tensor.type, data: data as ort.Tensor.DataType, dims: [...tensor.dims] };
      if (!Array.isArray(data)) transfer.push(data.buffer as ArrayBuffer);
    }
    const outputs = (await this.thread.request(
      { op: 'run', id: this.#id, feeds: plainFeeds, fetches: [...fetches] },
      transfer,
    )) as Record<string, PlainTensor>;
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(outputs))
      tensors[name] = new ort.Tensor(t.type, t.data as never, t.dims);
    return tensors;
  }

  async release(): Promise<void> {
    await this.thread.request({ op: 'release', id: this.#id });
  }
}

let current: GraphThread | null = null;

/**
 * Runs every session the runtime opens from now on in a graph thread (started here, once, in the background: see
 * {@link GraphThread}), or with `false` in the caller's thread again (sessions already open stay where they are).
 * Answers the thread, or null.
 */
export function useGraphThread(on: boolean): GraphThread | null {
  if (on) current ??= new GraphThread({ background: true });
  else current = null;
  return current;
}

/** The graph thread sessions are opened in, or null when they open in the caller's thread. */
export function graphThread(): GraphThread | null {
  return current;
}
