import { describe, expect, it } from 'vitest';
import { CancelledError } from '../runtime/cancel.ts';
import type { ImageResult } from '../../shared/results.ts';
import { rateAndEta, recentEta, runBatch, type BatchProgress } from './batch.ts';
import type { ImageEntry } from './store/index.ts';

const entries: ImageEntry[] = [1, 2, 3].map((id) => ({
  id,
  path: `/images/${id}.png`,
  name: `${id}.png`,
  sha256: String(id).repeat(64),
}));
const done = (entry: ImageEntry) => ({ status: 'done', image: { id: entry.id } }) as unknown as ImageResult;

describe('runBatch', () => {
  it('computes ETA as images left over the rate of this batch', () => {
    // 2 images in 60 s = 2 img/min; 3 left → 90 s
    const { rate, etaSeconds } = rateAndEta(2, 60, 3);
    expect(rate).toBeCloseTo(2);
    expect(etaSeconds).toBeCloseTo(90);
    expect(rateAndEta(0, 0, 3)).toEqual({ rate: 0, etaSeconds: null });
  });

  it('counts the ETA down from the mean of the recent images, the one in flight included', () => {
    // images of 10, 20 and 30 s: mean 20 s; 3 left, none in flight → 60 s
    expect(recentEta([10, 20, 30], 3, null)).toBeCloseTo(60);
    // 15 s into the next image: 5 s of it left + 2 × 20 s; the figure moves between images
    expect(recentEta([10, 20, 30], 3, 15)).toBeCloseTo(45);
    expect(recentEta([10, 20, 30], 3, 25)).toBeCloseTo(40);
    // only the last five count: a slow start is forgotten
    expect(recentEta([100, 10, 10, 10, 10, 10], 1, null)).toBeCloseTo(10);
    expect(recentEta([], 3, 5)).toBeNull();
    expect(recentEta([10], 0, null)).toBe(0);
  });

  it('pauses after committing the image in flight and leaves the rest pending', async () => {
    const committed: number[] = [];
    let pause = false;
    const outcome = await runBatch({
      entries,
      job: async (entry) => {
        pause = true; // asked while image 1 is in flight
        return done(entry);
      },
      commit: (entry) => committed.push(entry.id),
      control: { paused: () => pause },
    });
    expect(outcome.outcome).toBe('paused');
    expect(committed).toEqual([1]);
    expect(outcome.progress.stage).toBe('paused');
  });

  it('treats a cancellation thrown inside an image as cancel, never as a failure', async () => {
    const committed: number[] = [];
    const dropped: string[] = [];
    const outcome = await runBatch({
      entries,
      job: async (entry) => {
        if (entry.id === 2) throw new CancelledError('mask generation');
        return done(entry);
      },
      onFailure: () => {
        throw new Error('a cancellation must not reach onFailure');
      },
      onImageDropped: (entry, reason) => dropped.push(`${entry.id}:${reason}`),
      commit: (entry) => committed.push(entry.id),
    });
    expect(outcome.outcome).toBe('cancelled');
    expect(outcome.failed).toBe(0);
    expect(committed).toEqual([1]);
    expect(dropped).toEqual(['2:cancelled']);
  });

  it('records a failing image through onFailure and goes on; a model pack error stops the batch', async () => {
    const committed: string[] = [];
    const outcome = await runBatch({
      entries,
      job: async (entry) => {
        if (entry.id === 2) throw new Error('unreadable');
        return done(entry);
      },
      onFailure: (entry) => ({ status: 'failed', image: { id: entry.id } }) as unknown as ImageResult,
      commit: (entry, result) => committed.push(`${entry.id}:${result.status}`),
    });
    expect(outcome).toMatchObject({ outcome: 'completed', committed: 3, failed: 1 });
    expect(committed).toEqual(['1:done', '2:failed', '3:done']);
    const broken = Object.assign(new Error('pack is broken'), { name: 'ModelPackError' });
    await expect(
      runBatch({ entries, job: async () => Promise.reject(broken), commit: () => {} }),
    ).rejects.toThrow('pack is broken');
  });

  it('throttles in-image progress to a few events a second', async () => {
    const events: BatchProgress[] = [];
    await runBatch({
      entries: entries.slice(0, 1),
      job: async (entry, context) => {
        context.onStage('masks');
        for (let k = 1; k <= 1000; k++) context.onWithin({ done: k, total: 1000, unit: 'prompts' });
        return done(entry);
      },
      commit: () => {},
      onProgress: (p) => events.push(p),
    });
    const within = events.filter((e) => e.within);
    // 1000 synchronous steps inside 250 ms: at most one event gets through
    expect(within.length).toBeLessThanOrEqual(1);
    expect(within[0]?.within).toEqual({ done: 1, total: 1000, unit: 'prompts' });
  });
});
