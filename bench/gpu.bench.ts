/**
 * Providers bench (issue 21): for every execution provider this machine can run (probed by running a graph on it, as
 * `doctor` does), one image with up to 5 masks through the whole pipeline — SAM automatic masks, captions on every
 * crop, CLIP scores, the commit — on that provider, and images/hour. Prints, per provider: sessions opened and the
 * seconds they took, the image's seconds per stage twice — cold (the first image opens the sessions and measures batch
 * sizes) and warm — peak RSS, and images/hour (3600 / the warm image's seconds). Made to finish in under 10 minutes on a GPU with a real pack; on a machine without one it shows CPU.
 *
 * `--models DIR` runs on another pack (default: the demo pack). Env: GPU_BENCH_POINTS (points per side, default 32),
 * GPU_BENCH_SCENE (shapes-world scene index, default 0: 6 objects).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureDemoPack, generateScenes, sceneFileName } from '../src/engine/demo/index.ts';
import { openStages } from '../src/engine/pipeline/engine.ts';
import { runProject } from '../src/engine/pipeline/run.ts';
import { Project } from '../src/engine/pipeline/store/index.ts';
import { probeProviders } from '../src/engine/runtime/index.ts';
import type { ExecutionProvider } from '../src/shared/models.ts';
import { parseSettings, settingsPreset } from '../src/shared/settings.ts';

const STAGES = ['load', 'masks', 'crops', 'captions', 'scores'] as const;

export async function run(): Promise<void> {
  const at = process.argv.indexOf('--models');
  const pack = at >= 0 ? resolve(process.argv[at + 1]!) : await ensureDemoPack();
  const points = Number(process.env.GPU_BENCH_POINTS ?? 32);
  const scene = Number(process.env.GPU_BENCH_SCENE ?? 0);
  const probes = await probeProviders();
  for (const p of probes)
    console.log(
      `probe ${p.provider.padEnd(9)} ${p.runs ? 'runs' : `cannot run: ${p.reason}`}${p.engine ? '' : ' (not used by the engine)'}`,
    );
  const usable = probes.filter((p) => p.runs && p.engine).map((p) => p.provider as ExecutionProvider);
  const dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-gpu-bench-'));
  try {
    await generateScenes({ count: scene + 1, seed: 7, outDir: join(dir, 'all') });
    const image = join(dir, 'all', sceneFileName(scene));
    const settings = parseSettings({
      ...settingsPreset('reference'),
      masks: { pointsPerSide: points, maxMasks: 5 },
    });
    console.log(
      `pack ${pack}; one image (scene ${scene} of seed 7), ${points}×${points} points, up to 5 masks, reference preset`,
    );
    console.log(
      'provider  pass  sessions opened (s)   masks    load   masks   crops  captions  scores   image s  peak RSS MiB  images/hour',
    );
    for (const provider of usable) {
      let peak = process.memoryUsage().rss;
      const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
      const stages = await openStages(pack, { providers: [provider] });
      // twice on the same stages: the first image opens the sessions (lazily) and measures the batch sizes, the
      // second is the steady state that images/hour is about
      const runs: { wall: number; stageMs: Record<string, number>; masks: number; error?: string }[] = [];
      try {
        for (const pass of ['cold', 'warm']) {
          const project = join(dir, `project-${provider}-${pass}`);
          const started = performance.now();
          await runProject({ project, images: [image], settings, stages });
          const [result] = [...Project.open(project).results()];
          runs.push({
            wall: (performance.now() - started) / 1000,
            stageMs: (result?.counters?.stageMs ?? {}) as Record<string, number>,
            masks: result?.masks.length ?? 0,
            ...(result?.status === 'done' ? {} : { error: result?.error?.message ?? 'no result' }),
          });
        }
      } finally {
        clearInterval(sample);
      }
      const sessions = stages.pack.openSessions();
      const used = [...new Set(sessions.map((s) => s.provider))].join('+');
      const opened = sessions.reduce((sum, s) => sum + s.openMilliseconds, 0) / 1000;
      await stages.dispose();
      for (const [k, r] of runs.entries()) {
        if (r.error) {
          console.log(`${provider}: the image did not finish (${r.error})`);
          continue;
        }
        const seconds = STAGES.reduce((sum, stage) => sum + (r.stageMs[stage] ?? 0), 0) / 1000;
        console.log(
          [
            `${provider}${used !== provider ? `→${used}` : ''}`.padEnd(9),
            (k === 0 ? 'cold' : 'warm').padEnd(5),
            (k === 0 ? `${sessions.length} (${opened.toFixed(1)})` : '—').padEnd(21),
            String(r.masks).padStart(5),
            ...STAGES.map((stage) =>
              ((r.stageMs[stage] ?? 0) / 1000).toFixed(1).padStart(stage === 'captions' ? 9 : 7),
            ),
            seconds.toFixed(1).padStart(9),
            (peak / 2 ** 20).toFixed(0).padStart(13),
            (k === 0 ? '—' : (3600 / seconds).toFixed(0)).padStart(12),
          ].join(' '),
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
