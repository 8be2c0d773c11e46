import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestPack } from '../testing/pack.ts';
import { inBatchLane, interactive, interactiveCount, modelTurn } from './lanes.ts';
import { loadModelPack, type ModelPack } from './pack.ts';

/** A promise and the function that settles it: an interactive request the test ends when it chooses. */
function gate(): { done: Promise<void>; open(): void } {
  let open = () => {};
  const done = new Promise<void>((resolve) => (open = resolve));
  return { done, open };
}

describe('model call lanes', () => {
  it('holds a batch call while an interactive request is in flight and lets it go when the request ends', async () => {
    const order: string[] = [];
    const request = gate();
    const pending = interactive(async () => {
      await request.done;
      order.push('request ended');
    });
    expect(interactiveCount()).toBe(1);
    const batch = inBatchLane(async () => {
      await modelTurn();
      order.push('batch call ran');
    });
    // the batch call is parked: a few turns of the event loop later it has not run
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    request.open();
    await Promise.all([pending, batch]);
    expect(order).toEqual(['request ended', 'batch call ran']);
    expect(interactiveCount()).toBe(0);
  });

  it('never holds interactive calls or calls in no lane (the CLI, benches)', async () => {
    const request = gate();
    const pending = interactive(() => request.done);
    expect(await interactive(() => modelTurn())).toBe(0);
    expect(await modelTurn()).toBe(0);
    request.open();
    await pending;
  });

  it('counts a failed interactive request as ended', async () => {
    await expect(
      interactive(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(interactiveCount()).toBe(0);
    expect(await inBatchLane(() => modelTurn())).toBe(0);
  });

  it('lets a held batch call go after a second, so a request awaiting the batch cannot deadlock it', async () => {
    const request = gate();
    const pending = interactive(() => request.done);
    const waited = await inBatchLane(() => modelTurn());
    expect(waited).toBeGreaterThanOrEqual(990); // held for the second, then let go (a deadlock would time the test out)
    request.open();
    await pending;
  });
});

describe('a session run in the batch lane', () => {
  let root: string;
  let pack: ModelPack;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'pseudo-ris-lanes-'));
    await writeTestPack(join(root, 'pack'));
    pack = await loadModelPack(join(root, 'pack'), { forceCpu: true, intraOpThreads: 1 });
  });
  afterAll(async () => {
    await pack.dispose();
    await rm(root, { recursive: true, force: true });
  });

  it('starts its graph run only after the interactive request in flight has ended', async () => {
    const text = await pack.session('captioner.text');
    const feeds = { text: new ort.Tensor('int64', BigInt64Array.from([5n, 2n, 3n]), [1, 3]) };
    const runsBefore = text.stats.runs;
    const request = gate();
    const pending = interactive(async () => {
      // the interactive request's own graph run goes at once
      await text.run(feeds);
      await request.done;
    });
    let batchDone = false;
    const batch = inBatchLane(() => text.run(feeds)).then(() => (batchDone = true));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(text.stats.runs).toBe(runsBefore + 1);
    expect(batchDone).toBe(false);
    request.open();
    await Promise.all([pending, batch]);
    expect(text.stats.runs).toBe(runsBefore + 2);
  });
});
