/**
 * Agreement between two model packs, or between two decoding paths of one pack (issue 21), printed, never asserted.
 *
 * `npm run bench -- agreement --models A --against B` runs the same shapes-world images with the same imported
 * ground-truth masks (so only captions and scores can differ) through A and B, reference preset, and prints over
 * candidates aligned by (image, mask, candidate index): the share of identical captions, the mean token agreement
 * (same token at the same position, over the longer caption), the DoS rank correlation (Spearman over candidates
 * where both have a DoS), the Jaccard index of the kept sets at τ (as (mask, caption) pairs) and the speed ratio B / A
 * of the caption + score stages. `--against` left out: B is A with the full-prefix decoder (`decoderCache: 'off'`).
 *
 * Then, for A when it offers the cached decoder, cached vs full-prefix: the share of identical captions and, for each
 * differing caption, the first step (token position after sot) where the two differ.
 *
 * Env: AGREEMENT_BENCH_SCENES (images, default 3), AGREEMENT_BENCH_SEED (default 5).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { groundTruthToCoco } from '../src/engine/dataset/evaluate.ts';
import { ensureDemoPack, generateScenes } from '../src/engine/demo/index.ts';
import { decideResult } from '../src/engine/filter/index.ts';
import { openStages } from '../src/engine/pipeline/engine.ts';
import { runProject } from '../src/engine/pipeline/run.ts';
import { Project } from '../src/engine/pipeline/store/index.ts';
import type { ImageResult } from '../src/shared/results.ts';
import { parseSettings, settingsPreset, type Settings } from '../src/shared/settings.ts';

interface Side {
  label: string;
  results: ImageResult[];
  /** Milliseconds of the captions and scores stages over all images. */
  ms: number;
}

export async function run(): Promise<void> {
  const option = (name: string) => {
    const at = process.argv.indexOf(name);
    return at >= 0 ? resolve(process.argv[at + 1]!) : undefined;
  };
  const a = option('--models') ?? (await ensureDemoPack());
  const b = option('--against');
  const count = Number(process.env.AGREEMENT_BENCH_SCENES ?? 3);
  const seed = Number(process.env.AGREEMENT_BENCH_SEED ?? 5);
  const dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-agreement-'));
  try {
    const truth = await generateScenes({ count, seed, outDir: join(dir, 'scenes') });
    const coco = join(dir, 'coco.json');
    writeFileSync(coco, JSON.stringify(groundTruthToCoco(truth)));
    const settings = parseSettings({
      ...settingsPreset('reference'),
      masks: { source: 'imported', importPath: coco },
    });
    const images = join(dir, 'scenes');
    let sides = 0;
    // each side its own project (two sides with the same pack must not resume one another)
    const runSide = (label: string, pack: string, runtime: Partial<Settings['runtime']> = {}) =>
      side(label, pack, images, join(dir, `side-${++sides}`), {
        ...settings,
        runtime: { ...settings.runtime, ...runtime },
      });
    console.log(
      `${count} shapes-world images (seed ${seed}), ground-truth masks imported, reference preset, τ = ${settings.filter.tau}`,
    );
    const left = await runSide(a, a);
    const right = b
      ? await runSide(b, b)
      : await runSide(`${a} (full-prefix decoder)`, a, { decoderCache: 'off' });
    printAgreement(left, right, settings);
    if (b) {
      // cached vs full-prefix on A itself (issue 21 §5)
      const full = await runSide(`${a} (full-prefix decoder)`, a, { decoderCache: 'off' });
      printPaths(left, full);
    } else printPaths(left, right);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function side(
  label: string,
  pack: string,
  images: string,
  project: string,
  settings: Settings,
): Promise<Side> {
  const stages = await openStages(pack);
  try {
    await runProject({ project, images, settings, stages });
  } finally {
    await stages.dispose();
  }
  const results = [...Project.open(project).results({ order: 'id', status: 'done' })];
  const ms = results.reduce(
    (sum, r) => sum + (r.counters?.stageMs.captions ?? 0) + (r.counters?.stageMs.scores ?? 0),
    0,
  );
  return { label, results, ms };
}

/** Candidate pairs aligned by image, mask and candidate index. */
function pairs(left: Side, right: Side) {
  const byKey = new Map(
    right.results.flatMap((r) =>
      r.candidates.map((c) => [`${r.image.name}|${c.mask}|${c.index}`, c] as const),
    ),
  );
  return left.results.flatMap((r) =>
    r.candidates.flatMap((c) => {
      const other = byKey.get(`${r.image.name}|${c.mask}|${c.index}`);
      return other ? [{ left: c, right: other }] : [];
    }),
  );
}

function printAgreement(left: Side, right: Side, settings: Settings): void {
  const aligned = pairs(left, right);
  const identical = aligned.filter((p) => p.left.text === p.right.text).length;
  const tokenAgreement =
    aligned.reduce((sum, p) => {
      const length = Math.max(p.left.tokens.length, p.right.tokens.length);
      let same = 0;
      for (let i = 0; i < length; i++) if (p.left.tokens[i] === p.right.tokens[i]) same++;
      return sum + same / length;
    }, 0) / Math.max(1, aligned.length);
  const dos = aligned.filter((p) => p.left.scores.dos !== null && p.right.scores.dos !== null);
  const rho = spearman(
    dos.map((p) => p.left.scores.dos!),
    dos.map((p) => p.right.scores.dos!),
  );
  const kept = (s: Side) =>
    new Set(
      s.results.flatMap((r) => {
        const decisions = decideResult(r, { ...settings.filter, seed: settings.seed });
        return decisions
          .filter((d) => d.kept)
          .map((d) => `${r.image.name}|${d.mask}|${r.candidates.find((c) => c.index === d.candidate)?.text}`);
      }),
    );
  const keptLeft = kept(left);
  const keptRight = kept(right);
  const both = [...keptLeft].filter((k) => keptRight.has(k)).length;
  const union = new Set([...keptLeft, ...keptRight]).size;
  console.log(`A: ${left.label}\nB: ${right.label}`);
  console.log(
    'candidates  identical captions  mean token agreement  DoS rank correlation  Jaccard kept at τ  speed B / A',
  );
  console.log(
    [
      String(aligned.length).padStart(10),
      `${((100 * identical) / Math.max(1, aligned.length)).toFixed(1)} %`.padStart(19),
      tokenAgreement.toFixed(3).padStart(21),
      (Number.isNaN(rho) ? '—' : rho.toFixed(3)).padStart(21),
      (union === 0 ? '—' : (both / union).toFixed(3)).padStart(18),
      `${(right.ms / Math.max(1, left.ms)).toFixed(2)}×`.padStart(13),
    ].join(' '),
  );
}

function printPaths(cached: Side, full: Side): void {
  const aligned = pairs(cached, full);
  const differing = aligned.filter((p) => p.left.text !== p.right.text);
  console.log(
    `cached vs full-prefix: ${aligned.length - differing.length}/${aligned.length} captions identical (${((100 * (aligned.length - differing.length)) / Math.max(1, aligned.length)).toFixed(1)} %), captions + scores time full-prefix / cached ${(full.ms / Math.max(1, cached.ms)).toFixed(2)}×`,
  );
  for (const p of differing) {
    let step = 0;
    while (p.left.tokens[step] === p.right.tokens[step]) step++;
    console.log(
      `  mask ${p.left.mask} #${p.left.index} ${p.left.settingKey} ${p.left.cropKey}: first differs at token ${step} — "${p.left.text}" vs "${p.right.text}"`,
    );
  }
}

/** Spearman's rank correlation (average ranks for ties); NaN for fewer than two pairs or a constant side. */
function spearman(x: readonly number[], y: readonly number[]): number {
  if (x.length < 2) return Number.NaN;
  const rx = ranks(x);
  const ry = ranks(y);
  const mean = (rx.length + 1) / 2;
  let num = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < rx.length; i++) {
    num += (rx[i]! - mean) * (ry[i]! - mean);
    dx += (rx[i]! - mean) ** 2;
    dy += (ry[i]! - mean) ** 2;
  }
  return num / Math.sqrt(dx * dy);
}

function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}
