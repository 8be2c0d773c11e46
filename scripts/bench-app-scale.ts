// The app at scale (issue 20), timed through the engine's API in process: writes a synthetic project of N images
// (src/engine/testing/scale-project.ts), then opens it (cold: the catalog builds its index from the log; warm: from
// its index segments), asks the first gallery page, moves τ, orders by kept count and builds the report.
// Usage: node --import tsx scripts/bench-app-scale.ts 20000 [100000 …]
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startTestEngine } from '../src/engine/testing/engine.ts';
import { writeScaleProject } from '../src/engine/testing/scale-project.ts';

const sizes = process.argv.slice(2).map(Number);
for (const count of sizes.length ? sizes : [20000]) {
  const testEngine = await startTestEngine('pris-bench-scale-');
  const call = <T>(channel: string, params: unknown = {}) =>
    testEngine.engine.request(channel as never, params) as Promise<T>;
  const time = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const at = performance.now();
    const value = await work();
    return [value, performance.now() - at];
  };
  try {
    const [dir, writeMs] = await time(() =>
      writeScaleProject(join(testEngine.base, 'allowed', 'scale'), count, {
        filter: { emptyMask: 'keep-best', singleMask: 'keep-by-cos-rank' },
      }),
    );
    const open = async () => {
      await call('project:open', { dir });
      return call<{ total: number }>('project:images', { offset: 0, limit: 120 });
    };
    const [, coldMs] = await time(open);
    const [, warmMs] = await time(open);
    const page = await call<{ images: { id: string }[] }>('project:images', { offset: 0, limit: 120 });
    const ids = page.images.map((i) => i.id);
    const moves: number[] = [];
    for (const tau of [1.3, 0.5, 0.8, 1.1, 1.5, 2, 2.5, 1.3])
      moves.push((await time(() => call('filter:counts', { tau, imageIds: ids })))[1]);
    const [, keptOrderMs] = await time(() => call('project:images', { order: 'kept', limit: 120, tau: 0.9 }));
    const [, lastPageMs] = await time(() => call('project:images', { offset: count - 120, limit: 120 }));
    const [, reportMs] = await time(() => call('report:get', { tau: 1.3 }));
    const [, cachedReportMs] = await time(() => call('report:get', { tau: 1.3 }));
    const median = [...moves].sort((a, b) => a - b)[moves.length >> 1];
    console.log(
      `${count} images: write ${(writeMs / 1000).toFixed(1)} s; open → first page cold ${coldMs.toFixed(0)} ms, ` +
        `warm ${warmMs.toFixed(0)} ms; τ move (project + 120 tiles) first ${moves[0].toFixed(1)} ms (builds the ` +
        `counter), median ${median.toFixed(1)} ms, max of the rest ${Math.max(...moves.slice(1)).toFixed(1)} ms; ` +
        `page ordered by kept ${keptOrderMs.toFixed(0)} ms; last page ${lastPageMs.toFixed(0)} ms; ` +
        `report ${reportMs.toFixed(0)} ms, cached ${cachedReportMs.toFixed(1)} ms`,
    );
  } finally {
    await testEngine.close();
    rmSync(testEngine.base, { recursive: true, force: true });
  }
}
