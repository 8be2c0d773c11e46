/**
 * `pseudo-ris caption <image> --masks <dir-or-json>`: captions the given masks of one image with the four crop types
 * (DESIGN.md §5): beam search and plain / distinctive (DCS) top-k and top-p sampling, optionally with step traces.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import {
  cropKey,
  DEFAULT_DECODING,
  parseCropKey,
  type CropType,
  type DecodingOptions,
} from '../../shared/caption.ts';
import { captionImage } from '../../engine/caption/index.ts';
import { MODELS_OPTION_HELP, resolvePackDir } from '../pack.ts';
import { loadImage } from '../../engine/image/load.ts';
import { readMaskPng } from '../../engine/image/mask.ts';
import type { BinaryMask } from '../../engine/image/types.ts';
import { hashFile, openStages } from '../../engine/pipeline/index.ts';
import { openMaskImport } from '../../engine/segment/import.ts';

const DECODINGS = ['reference', 'beam', 'top-k', 'top-p', 'dcs', 'all'] as const;
type Decoding = (typeof DECODINGS)[number];

interface CaptionFlags {
  masks: string;
  models?: string;
  decoding: string;
  k?: string;
  p?: string;
  seed: string;
  temperature?: string;
  aggregation?: string;
  beamScoring?: string;
  crops?: string;
  trace?: string | boolean;
  topN?: string;
  mode?: string;
  json?: boolean;
}

/** Registers `caption`. */
export function registerCaption(program: Command): void {
  program
    .command('caption')
    .description(
      'caption the masks of one image: beam search, plain and distinctive (DCS) sampling, with traces',
    )
    .argument('<image>', 'image file')
    .requiredOption(
      '--masks <dir-or-json>',
      'masks: a folder of <k>.png (or <folder>/<image-stem>/<k>.png), or a COCO JSON',
    )
    .option('--models <pack>', MODELS_OPTION_HELP)
    .option(
      '--decoding <which>',
      'reference (beam + DCS, 11 per crop) | beam | top-k | top-p (plain sampling) | dcs (DCS only) | all (beam + DCS + plain)',
      'reference',
    )
    .option('--k <list>', 'top-k values, comma-separated (default 5,7,9,11,13)')
    .option('--p <list>', 'top-p values, comma-separated (default 0.4,0.5,0.6,0.7,0.8)')
    .option('--seed <n>', 'seed of every random stream', '0')
    .option('--temperature <t>', 'softmax temperature (default 1)')
    .option('--aggregation <mode>', 'DCS aggregation: mean (reference) | weighted-sum')
    .option('--beam-scoring <mode>', 'beam scores: raw-logits (reference) | log-prob')
    .option('--crops <list>', 'crop types, comma-separated (default masked,box-1.0,box-1.1,box-1.2)')
    .option(
      '--trace [file]',
      'record step traces of the sampled captions (into the --json output, or this file)',
    )
    .option('--top-n <n>', 'tokens per distribution kept in traces besides the kept set', '10')
    .option(
      '--mode <mode>',
      "engine (batched, cached) | reference (the reference code's cost, for comparisons)",
      'engine',
    )
    .option('--json', 'print everything as JSON on stdout')
    .action(async (imagePath: string, flags: CaptionFlags) => {
      const decoding = flags.decoding as Decoding;
      if (!DECODINGS.includes(decoding))
        throw new Error(`--decoding must be one of ${DECODINGS.join(', ')}, got "${flags.decoding}"`);
      if (flags.mode !== 'engine' && flags.mode !== 'reference')
        throw new Error(`--mode must be "engine" or "reference", got "${flags.mode}"`);
      const options = decodingOptions(decoding, flags);
      const crops: CropType[] | undefined = flags.crops?.split(',').map((key) => parseCropKey(key.trim()));
      const topN = integerFlag('--top-n', flags.topN ?? '10', 0);

      const image = await loadImage(imagePath);
      const masks = await readMasks(flags.masks, imagePath, image);
      // the pack's stages as generate opens them (one place opens a pack's sessions)
      const stages = await openStages(await resolvePackDir(flags.models), { mode: flags.mode });
      try {
        const result = await captionImage({
          model: stages.captionModel,
          image,
          masks,
          // named by content hash, as `generate` names it: the same image, masks and seed give the same candidates
          imageId: await hashFile(imagePath),
          options,
          crops,
          trace: flags.trace ? { topN } : false,
          mode: flags.mode,
        });
        const traceFile = typeof flags.trace === 'string' ? flags.trace : null;
        if (traceFile)
          await writeFile(
            traceFile,
            `${JSON.stringify({ traces: result.traces, comparisons: result.comparisons })}\n`,
          );
        if (flags.json) {
          const { traces, comparisons, ...rest } = result;
          const out = traceFile || !flags.trace ? rest : { ...rest, traces, comparisons };
          process.stdout.write(
            `${JSON.stringify({ image: imagePath, masks: masks.length, pack: stages.packInfo.name, sessions: stages.pack.openSessions(), ...out }, null, 2)}\n`,
          );
          return;
        }
        for (const candidate of result.candidates) {
          process.stdout.write(
            `mask ${candidate.maskIndex}  ${cropKey(candidate.crop).padEnd(8)}  ${candidate.settingKey.padEnd(14)}  ${candidate.text}\n`,
          );
        }
        // Naive vs DCS on the same stream, one line per mask and crop: setting@first-divergence-step ("=" identical).
        const lines = new Map<string, string[]>();
        for (const comparison of result.comparisons) {
          const key = `mask ${comparison.maskIndex}  ${comparison.crop.padEnd(8)}`;
          const where = comparison.firstDivergence === null ? '=' : `@${comparison.firstDivergence}`;
          lines.set(key, [...(lines.get(key) ?? []), `${comparison.left.settingKey}${where}`]);
        }
        if (lines.size > 0) process.stdout.write('plain vs DCS, first divergent step (= identical):\n');
        for (const [key, items] of lines) process.stdout.write(`${key}  ${items.join(' ')}\n`);
        const c = result.counters;
        process.stdout.write(
          `${result.candidates.length} captions of ${masks.length} mask(s) in ${(result.wallMilliseconds / 1000).toFixed(2)} s ` +
            `(session.run ${(c.sessionMilliseconds / 1000).toFixed(2)} s; ${c.visualRuns} visual, ${c.textRuns} text, ${c.decoderRuns} decoder runs)` +
            `${traceFile ? `; traces in ${traceFile}` : ''}\n`,
        );
      } finally {
        await stages.dispose();
      }
    });
}

function decodingOptions(decoding: Decoding, flags: CaptionFlags): DecodingOptions {
  const options: DecodingOptions = { ...DEFAULT_DECODING, seed: integerFlag('--seed', flags.seed, 0) };
  if (flags.k !== undefined) options.topK = listFlag('--k', flags.k).map((k) => checkInteger('--k', k, 1));
  if (flags.p !== undefined) {
    options.topP = listFlag('--p', flags.p).map((p) => {
      if (!(p > 0 && p <= 1)) throw new Error(`--p values must be in (0, 1], got ${p}`);
      return p;
    });
  }
  if (flags.temperature !== undefined) {
    options.temperature = Number(flags.temperature);
    if (!(options.temperature > 0)) throw new Error(`--temperature must be > 0, got "${flags.temperature}"`);
  }
  if (flags.aggregation !== undefined) {
    if (flags.aggregation !== 'mean' && flags.aggregation !== 'weighted-sum')
      throw new Error(`--aggregation must be mean or weighted-sum, got "${flags.aggregation}"`);
    options.aggregation = flags.aggregation;
  }
  if (flags.beamScoring !== undefined) {
    if (flags.beamScoring !== 'raw-logits' && flags.beamScoring !== 'log-prob') {
      throw new Error(`--beam-scoring must be raw-logits or log-prob, got "${flags.beamScoring}"`);
    }
    options.beam = { ...DEFAULT_DECODING.beam!, scoring: flags.beamScoring };
  }
  switch (decoding) {
    case 'reference':
      return options;
    case 'beam':
      return { ...options, topK: [], topP: [] };
    case 'top-k':
      return { ...options, beam: null, topP: [], distinctive: false };
    case 'top-p':
      return { ...options, beam: null, topK: [], distinctive: false };
    case 'dcs':
      return { ...options, beam: null };
    case 'all':
      return { ...options, alsoPlain: true };
  }
}

/** Masks from a folder of `<k>.png`, a folder of `<image-stem>/<k>.png`, or a COCO JSON. */
async function readMasks(
  path: string,
  imagePath: string,
  size: { width: number; height: number },
): Promise<BinaryMask[]> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new Error(`--masks: ${path} does not exist`);
  let masks: BinaryMask[];
  if (info.isDirectory()) {
    const pngs = (await readdir(path)).filter((file) => /^\d+\.png$/i.test(file));
    if (pngs.length > 0) {
      pngs.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
      masks = [];
      for (const file of pngs) {
        const mask = await readMaskPng(join(path, file));
        if (mask.width !== size.width || mask.height !== size.height) {
          throw new Error(
            `--masks: ${join(path, file)} is ${mask.width}×${mask.height}, the image is ${size.width}×${size.height}`,
          );
        }
        masks.push(mask);
      }
    } else {
      masks = (await (await openMaskImport(path)).masksFor(imagePath, size)).map((entry) => entry.mask);
    }
  } else {
    masks = (await (await openMaskImport(path)).masksFor(imagePath, size)).map((entry) => entry.mask);
  }
  if (masks.length === 0) {
    const stem = basename(imagePath, extname(imagePath));
    throw new Error(
      `--masks: ${path} has no masks for ${basename(imagePath)} (expected <k>.png, ${stem}/<k>.png or COCO annotations)`,
    );
  }
  masks.forEach((mask, index) => {
    if (!mask.data.some((value) => value !== 0)) throw new Error(`--masks: mask ${index} is empty`);
  });
  return masks;
}

function listFlag(name: string, value: string): number[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  if (items.length === 0) throw new Error(`${name} needs at least one value`);
  return items.map((item) => {
    const number = Number(item);
    if (!Number.isFinite(number)) throw new Error(`${name}: "${item}" is not a number`);
    return number;
  });
}

function integerFlag(name: string, value: string, min: number): number {
  return checkInteger(name, Number(value), min, value);
}

function checkInteger(name: string, value: number, min: number, text = String(value)): number {
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be an integer ≥ ${min}, got "${text}"`);
  return value;
}
