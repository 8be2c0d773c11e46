/**
 * A queue worker's pipeline in a thread of its own: the per-image work (decode, masks, captions, scores: seconds of
 * JavaScript between the ONNX calls) runs off the event loop that renews the worker's BullMQ locks and answers Redis.
 * On a loaded machine a pipeline on that loop stalled it for over 12 s, long enough for a healthy worker's job to be
 * taken for a dead one's and run twice.
 *
 * {@link PipelineThread} is the worker's side; the thread (loaded through `pipeline-thread.mjs`, which registers tsx
 * as `bin/pseudo-ris.mjs` does) opens its own stages over the pack and runs {@link runImageJob} per message.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ImageResult } from '../../../shared/results.ts';
import { parseSettings } from '../../../shared/settings.ts';
import { failedResult, processImage, type ImageStages } from '../run.ts';
import type { ImageJobData } from './jobs.ts';

/** An error as it crosses from the thread: what the worker's retry rule reads (`name`), and what it reports. */
interface ThreadError {
  name: string;
  message: string;
  code?: unknown;
  stage?: unknown;
}

type Reply = { id: number; result: ImageResult } | { id: number; error: ThreadError };

/**
 * One job: the image from shared storage or from the job's bytes, then the per-image pipeline. A broken pack throws
 * (the job is retried, then failed); any other error is the image's failure, and its record is the result, as the
 * batch loop (batch.ts) does it. `onImageError` hears those.
 */
export async function runImageJob(
  stages: ImageStages,
  data: ImageJobData,
  onImageError?: (message: string) => void,
): Promise<ImageResult> {
  const { entry } = data;
  const settings = parseSettings(data.settings);
  let local = entry;
  let temp: string | null = null;
  if (data.image !== undefined) {
    // the original name keeps mask imports keyed by file name working
    temp = mkdtempSync(join(tmpdir(), 'pseudo-ris-job-'));
    local = { ...entry, path: join(temp, basename(entry.path)) };
    writeFileSync(local.path, Buffer.from(data.image, 'base64'));
  }
  try {
    let result: ImageResult;
    try {
      result = await processImage(stages, local, settings);
    } catch (error) {
      if (error instanceof Error && error.name === 'ModelPackError') throw error;
      result = failedResult(local, error);
      onImageError?.(`${entry.name}: ${result.error?.message ?? 'failed'}`);
    }
    // the record names the coordinator's file, as a local run over it would (not the worker's temporary copy)
    const error = result.error && {
      ...result.error,
      message: result.error.message.split(local.path).join(entry.path),
    };
    return { ...result, image: { ...result.image, path: entry.path }, ...(error ? { error } : {}) };
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

/** The worker's handle on its pipeline thread. */
export class PipelineThread {
  readonly #thread: Worker;
  readonly #pending = new Map<number, { resolve: (r: ImageResult) => void; reject: (e: Error) => void }>();
  #next = 0;
  #dead: Error | null = null;

  private constructor(thread: Worker) {
    this.#thread = thread;
    thread.on('message', (reply: Reply) => {
      const waiting = this.#pending.get(reply.id);
      if (!waiting) return;
      this.#pending.delete(reply.id);
      if ('result' in reply) waiting.resolve(reply.result);
      else waiting.reject(Object.assign(new Error(reply.error.message), reply.error));
    });
    const fail = (error: Error) => {
      this.#dead ??= error;
      for (const waiting of this.#pending.values()) waiting.reject(error);
      this.#pending.clear();
    };
    thread.on('error', fail);
    thread.on('exit', (code) => fail(new Error(`the pipeline thread exited (code ${code})`)));
  }

  /** Starts the thread and opens the pack's stages in it; rejects with the pack's error (a `ModelPackError`…). */
  static async open(packDir: string): Promise<PipelineThread> {
    // sharp's rule for worker threads: load it in the main thread first (libvips must outlive every thread)
    await import('sharp');
    const thread = new Worker(new URL('./pipeline-thread.mjs', import.meta.url), {
      workerData: { packDir },
    });
    await new Promise<void>((resolvePromise, reject) => {
      const onMessage = (message: { ready?: true; error?: ThreadError }) => {
        thread.off('error', onError);
        if (message.ready) resolvePromise();
        else
          reject(
            Object.assign(new Error(message.error?.message ?? 'the pipeline thread failed'), message.error),
          );
      };
      const onError = (error: Error) => {
        thread.off('message', onMessage);
        reject(error);
      };
      thread.once('message', onMessage);
      thread.once('error', onError);
    }).catch(async (error: unknown) => {
      await thread.terminate();
      throw error;
    });
    return new PipelineThread(thread);
  }

  /** Runs one job in the thread (see {@link runImageJob}). */
  run(data: ImageJobData): Promise<ImageResult> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise<ImageResult>((resolvePromise, reject) => {
      this.#pending.set(id, { resolve: resolvePromise, reject });
      this.#thread.postMessage({ id, data });
    });
  }

  /** Disposes the thread's sessions and ends it. */
  async close(): Promise<void> {
    if (!this.#dead) this.#thread.postMessage({ close: true });
    await new Promise<void>((resolvePromise) => {
      if (this.#dead) return resolvePromise();
      this.#thread.once('exit', () => resolvePromise());
    });
  }
}

/** The thread's side: open the stages, answer `ready`, run jobs one message at a time, `close` to end. */
async function serveThread(packDir: string): Promise<void> {
  const port = parentPort!;
  const { openStages } = await import('../engine.ts');
  let stages;
  try {
    stages = await openStages(packDir);
  } catch (error) {
    port.postMessage({ error: crossing(error) });
    return;
  }
  port.postMessage({ ready: true });
  port.on('message', (message: { id: number; data: ImageJobData } | { close: true }) => {
    if ('close' in message) {
      // the thread's own exit: the sessions' native pools would otherwise keep it alive
      void stages.dispose().finally(() => process.exit(0));
      return;
    }
    runImageJob(stages, message.data).then(
      (result) => port.postMessage({ id: message.id, result } satisfies Reply),
      (error: unknown) => port.postMessage({ id: message.id, error: crossing(error) } satisfies Reply),
    );
  });
}

function crossing(error: unknown): ThreadError {
  const e = error as { name?: string; message?: string; code?: unknown; stage?: unknown };
  return { name: e?.name ?? 'Error', message: e?.message ?? String(error), code: e?.code, stage: e?.stage };
}

if (!isMainThread && (workerData as { packDir?: string } | null)?.packDir)
  void serveThread((workerData as { packDir: string }).packDir);
