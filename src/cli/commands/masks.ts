/**
 * `pseudo-ris masks <image>`: SAM automatic mask generation + selection on one image. Writes the selected masks as
 * `<out>/<image-stem>/<k>.png` (0/255, the layout `--masks` imports) and every proposal with its scores and the
 * selector's reason as `<out>/<image-stem>/proposals.json`.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadImage } from '../../engine/image/load.ts';
import { encodeMaskPng } from '../../engine/image/mask.ts';
import { encodeRle } from '../../engine/image/rle.ts';
import { openStages } from '../../engine/pipeline/index.ts';
import type { BatchChoice } from '../../engine/runtime/index.ts';
import { proposeMasks, SegmentSession } from '../../engine/segment/index.ts';
import { MODELS_OPTION_HELP, resolvePackDir } from '../pack.ts';

interface MasksFlags {
  models?: string;
  preset: string;
  maxMasks: string;
  pointsPerSide?: string;
  predIouThresh?: string;
  minRegionArea?: string;
  cropLayers?: string;
  out: string;
  json?: boolean;
}

/** Registers `masks`. */
export function registerMasks(program: Command): void {
  program
    .command('masks')
    .description(
      'generate SAM masks for one image, select the best K, write them as PNGs (+ all proposals as JSON)',
    )
    .argument('<image>', 'image file')
    .option('--models <pack>', MODELS_OPTION_HELP)
    .option(
      '--preset <name>',
      'generator thresholds: sam (pred IoU > 0.88) or reference (Pseudo-RIS, > 0.5)',
      'reference',
    )
    .option('--max-masks <k>', 'masks kept (K)', '5')
    .option('--points-per-side <n>', 'grid points per side (32 = 1024 decoder runs)')
    .option('--pred-iou-thresh <t>', "override the preset's predicted-IoU threshold")
    .option('--min-region-area <px>', 'remove islands and fill holes below this many pixels (0 = off)')
    .option('--crop-layers <n>', 'extra crop layers (0 = whole image only)')
    .option('--out <dir>', 'output folder (masks go to <out>/<image-stem>/)', 'masks')
    .option('--json', 'print the proposals and decisions as JSON on stdout')
    .action(async (imagePath: string, flags: MasksFlags) => {
      const preset = flags.preset;
      if (preset !== 'sam' && preset !== 'reference')
        throw new Error(`--preset must be "sam" or "reference", got "${preset}"`);
      const maxMasks = integerFlag('--max-masks', flags.maxMasks, 1);
      const image = await loadImage(imagePath);
      // the pack's stages as generate opens them (one place opens a pack's sessions)
      const stages = await openStages(await resolvePackDir(flags.models));
      try {
        const model = await stages.segmenter();
        const session = new SegmentSession(model, image);
        let lastTenth = -1;
        const result = await proposeMasks(session, {
          preset,
          maxMasks,
          pointsPerSide:
            flags.pointsPerSide === undefined
              ? undefined
              : integerFlag('--points-per-side', flags.pointsPerSide, 1),
          predIouThresh:
            flags.predIouThresh === undefined
              ? undefined
              : numberFlag('--pred-iou-thresh', flags.predIouThresh),
          minMaskRegionArea:
            flags.minRegionArea === undefined
              ? undefined
              : integerFlag('--min-region-area', flags.minRegionArea, 0),
          cropNLayers:
            flags.cropLayers === undefined ? undefined : integerFlag('--crop-layers', flags.cropLayers, 0),
          onProgress: (done, total) => {
            const tenth = Math.floor((10 * done) / total);
            if (!flags.json && tenth !== lastTenth) {
              lastTenth = tenth;
              process.stderr.write(`\rdecoding prompts ${done}/${total}`);
              if (done === total) process.stderr.write('\n');
            }
          },
        });
        const stem = basename(imagePath, extname(imagePath));
        const dir = resolve(flags.out, stem);
        await mkdir(dir, { recursive: true });
        const files: string[] = [];
        for (const [k, proposal] of result.selected.entries()) {
          const file = join(dir, `${k}.png`);
          await atomicWrite(file, await encodeMaskPng(proposal.mask));
          files.push(file);
        }
        const decisionOf = new Map(result.decisions.map((d) => [d.id, d]));
        const selectedIndex = new Map(result.selected.map((p, k) => [p.id, k]));
        const report = {
          image: resolve(imagePath),
          width: image.width,
          height: image.height,
          pack: stages.packInfo.name,
          preset,
          options: result.options,
          maxMasks,
          stats: result.stats,
          // the roles this command opened (lazy stages: the segmenter only) and how long each took to open
          sessions: stages.pack.openSessions(),
          // prompts per SAM decoder run: the path, the size and why (measured at the first batched decode, or set)
          prompts: { path: model.path, batch: model.promptBatch },
          selected: result.selected.map((p, k) => ({ index: k, id: p.id, file: files[k] })),
          proposals: result.proposals.map((p) => ({
            id: p.id,
            selectedIndex: selectedIndex.get(p.id) ?? null,
            kept: decisionOf.get(p.id)?.kept ?? false,
            reason: decisionOf.get(p.id)?.reason ?? '',
            score: decisionOf.get(p.id)?.score ?? p.predictedIou * p.stability,
            predictedIou: p.predictedIou,
            stability: p.stability,
            area: p.area,
            bbox: p.bbox,
            point: p.point,
            output: p.output,
            cropBox: p.cropBox,
            rle: encodeRle(p.mask),
          })),
        };
        await atomicWrite(join(dir, 'proposals.json'), JSON.stringify(report, null, 2));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(report)}\n`);
          return;
        }
        const s = result.stats;
        process.stdout.write(
          `${basename(imagePath)} ${image.width}×${image.height}: ${s.points} prompts, ${s.decoderRuns} decoder runs, ` +
            `${s.afterIou} past pred IoU, ${s.afterStability} stable, ${s.afterNms} after NMS; kept ${result.selected.length} ` +
            `(${(s.milliseconds / 1000).toFixed(1)} s, ${((100 * (s.milliseconds - s.sessionMilliseconds)) / Math.max(1, s.milliseconds)).toFixed(0)} % outside session.run)\n`,
        );
        process.stdout.write(`${promptBatchLine(model.path, model.promptBatch)}\n`);
        for (const p of result.proposals) {
          const d = decisionOf.get(p.id);
          process.stdout.write(
            `  #${p.id} IoU ${p.predictedIou.toFixed(3)} stab ${p.stability.toFixed(3)} area ${p.area} bbox [${p.bbox.join(', ')}]: ${d?.reason ?? ''}\n`,
          );
        }
        process.stdout.write(`wrote ${files.length} mask(s) and proposals.json to ${dir}\n`);
      } finally {
        await stages.dispose();
      }
    });
}

/** "prompt batch 64 (measured: …)": the prompts per SAM decoder run and why, as `masks` and `doctor` print it. */
export function promptBatchLine(path: 'batched' | 'batch-1', choice: BatchChoice | null): string {
  if (path === 'batch-1')
    return 'prompt batch 1: the pack offers no batched SAM decoder (segmenter.decoderBatched)';
  if (!choice) return 'prompt batch: not chosen yet (no batched decode ran)';
  const timings = choice.timings
    ?.map((t) => `${t.batch} → ${t.msPerRow.toFixed(t.msPerRow >= 10 ? 0 : 2)} ms`)
    .join(', ');
  return `prompt batch ${choice.size} (${choice.source}${timings ? `, per prompt ${timings}` : ''}): ${choice.reason ?? ''}`;
}

function integerFlag(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

function numberFlag(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${value}"`);
  return n;
}

async function atomicWrite(file: string, data: string | Uint8Array): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, data);
  await rename(temp, file);
}
