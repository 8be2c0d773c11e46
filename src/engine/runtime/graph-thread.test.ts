// The graph thread on the demo pack's real graphs: a whole demo image through the engine gives the same masks and
// candidates as sessions in the caller's thread, and the caller's thread stays free while a graph runs there.
import { constants, getPriority } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CandidateView, ImagePage, MaskView, RunFinished } from '../../shared/api.ts';
import { openPack } from '../pipeline/engine.ts';
import { startTestEngine } from '../testing/engine.ts';
import { SamModel, SegmentSession } from '../segment/model.ts';
import { renderScene } from '../demo/index.ts';
import { GraphThread, useGraphThread } from './graph-thread.ts';

const PACK = join(import.meta.dirname, '../../../resources/models/demo');

afterEach(() => {
  useGraphThread(false);
});

/** Runs demo scene 0 of seed 3 through a test engine; answers its masks and candidates. */
async function runDemoImage(): Promise<{ masks: MaskView[]; candidates: CandidateView[] }> {
  const test = await startTestEngine('pris-graph-thread-');
  const call = <T>(channel: Parameters<typeof test.engine.request>[0], params: unknown = {}) =>
    test.engine.request(channel, params) as Promise<T>;
  try {
    await call('project:openDemo', { dir: join(test.base, 'allowed', 'demo'), count: 1, seed: 3 });
    const [image] = (await call<ImagePage>('project:images')).images;
    const finished = new Promise<RunFinished>((resolve) => {
      const off = test.engine.onEvent((event, payload) => {
        if (event !== 'run:finished') return;
        off();
        resolve(payload as RunFinished);
      });
    });
    await call('run:start', {});
    expect((await finished).outcome).toBe('completed');
    return {
      masks: await call<MaskView[]>('image:masks', { imageId: image!.id }),
      candidates: await call<CandidateView[]>('candidates:list', { imageId: image!.id }),
    };
  } finally {
    await test.close();
  }
}

describe('the graph thread', () => {
  it('gives a demo image the masks and candidates, scores included, that sessions in this thread give', async () => {
    const here = await runDemoImage();
    useGraphThread(true);
    const there = await runDemoImage();
    expect(here.masks.length).toBeGreaterThan(0);
    expect(here.candidates.length).toBeGreaterThan(0);
    // exact equality: the same graphs, options and onnxruntime, so the same bytes (floats compared with ===)
    expect(there).toEqual(here);
  }, 120_000);

  it('leaves this thread free while a batch of 64 prompts decodes there', async () => {
    const scene = renderScene(3, 0);
    const prompts = Array.from({ length: 64 }, (_, i) => ({
      points: [{ x: 8 + (i % 8) * 60, y: 8 + Math.floor(i / 8) * 40, label: 1 as const }],
    }));
    /** The longest this thread went without running a timer while the decode was in flight, and the decode's time. */
    const longestGap = async (): Promise<{ gap: number; milliseconds: number }> => {
      const pack = await openPack(PACK);
      try {
        const session = new SegmentSession(await SamModel.open(pack, { promptBatch: 64 }), scene.image);
        await session.decode(prompts.slice(0, 1)); // embeddings computed, sessions open
        let last = performance.now();
        let gap = 0;
        const timer = setInterval(() => {
          const now = performance.now();
          gap = Math.max(gap, now - last);
          last = now;
        }, 1);
        const start = performance.now();
        await session.decode(prompts);
        const milliseconds = performance.now() - start;
        clearInterval(timer);
        return { gap: Math.max(gap, performance.now() - last), milliseconds };
      } finally {
        await pack.dispose();
      }
    };
    const here = await longestGap();
    useGraphThread(true);
    const there = await longestGap();
    // In this thread the graph run holds it for most of the decode; there, the timer runs while the graph does (the
    // decode's JS around the run — feeds, copies — is a small part of it).
    expect(here.gap).toBeGreaterThan(here.milliseconds / 2);
    expect(there.gap).toBeLessThan(there.milliseconds / 2);
  }, 120_000);

  it.runIf(process.platform === 'linux')(
    'runs in the background below normal priority, the caller’s thread staying where it was',
    async () => {
      const before = getPriority(0);
      const background = new GraphThread({ background: true });
      const plain = new GraphThread();
      try {
        expect(await background.priority()).toBe(Math.max(before, constants.priority.PRIORITY_BELOW_NORMAL));
        expect(await plain.priority()).toBe(before);
        expect(getPriority(0)).toBe(before);
      } finally {
        await background.close();
        await plain.close();
      }
    },
  );
});
