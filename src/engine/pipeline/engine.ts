/**
 * The runner's stages over a model pack: the runtime's image loader and sessions, the segmenter's generation +
 * selection (or a mask import), the captioner's generation per crop type, and the CLIP scorer.
 */
import * as ort from 'onnxruntime-node';
import { decodingOptions } from '../../shared/settings.ts';
import { Captioner, generateCaptions, loadTokenizer, type CaptionTokenizer } from '../caption/index.ts';
import { loadImage, type CropBatch } from '../image/index.ts';
import { loadModelPack, throwIfCancelled, type ModelPack, type ModelSession } from '../runtime/index.ts';
import { generateMasks, openMaskImport, type MaskImport, SamModel, selectMasks } from '../segment/index.ts';
import type { ImageStages } from './run.ts';

/** Stages plus what a run records and the bench reads. */
export interface PackStages extends ImageStages {
  pack: ModelPack;
  captioner: Captioner;
  /** The captioner's tokenizer, loaded once with the pack. */
  captionTokenizer: CaptionTokenizer;
  /** Facts recorded in the project: pack name and file checksums. */
  packInfo: { dir: string; name: string; demo: boolean; checksums: Record<string, string> };
  /** Releases every session. */
  dispose(): Promise<void>;
}

/** Options of {@link openStages}. */
export interface OpenStagesOptions {
  /** Caption decoding as the reference's code does it (no caching or batching), for the bench's ratio. */
  mode?: 'engine' | 'reference';
}

/** The caption engine's decoding options from the pipeline settings (stated once in shared/settings.ts). */
export { decodingOptions };

/** Opens a model pack and builds the runner's stages over it. */
export async function openStages(packDir: string, options: OpenStagesOptions = {}): Promise<PackStages> {
  const pack = await loadModelPack(packDir);
  const { manifest } = pack;
  const [visual, text, decoder, scorerImage, scorerText] = await Promise.all([
    pack.session('captioner.visual'),
    pack.session('captioner.text'),
    pack.session('captioner.decoder'),
    pack.session('scorer.image'),
    pack.session('scorer.text'),
  ]);
  const mode = options.mode ?? 'engine';
  const captioner = new Captioner({ visual, text, decoder }, { dedupe: mode === 'engine' });
  const captionTokenizer = await loadTokenizer(
    pack.path(manifest.captioner.tokenizer),
    manifest.captioner.specialTokens,
  );
  const scorerTokenizer =
    manifest.scorer.tokenizer === manifest.captioner.tokenizer
      ? captionTokenizer
      : await loadTokenizer(pack.path(manifest.scorer.tokenizer), manifest.scorer.specialTokens);
  let sam: SamModel | null = null;
  const imports = new Map<string, Promise<MaskImport>>();
  const checksums: Record<string, string> = {};
  for (const role of ['segmenter', 'captioner', 'scorer'] as const) {
    for (const [key, value] of Object.entries(manifest[role])) {
      if (value && typeof value === 'object' && 'sha256' in value)
        checksums[`${role}.${key}`] = (value as { sha256: string }).sha256;
    }
  }
  const cropSize = manifest.scorer.preprocess.size;
  return {
    pack,
    captioner,
    captionTokenizer,
    packInfo: { dir: pack.dir, name: pack.name, demo: manifest.demo, checksums },
    logitScale: manifest.scorer.logitScale,
    cropSize,
    load: (path, maxPixels) => loadImage(path, { maxPixels }),
    async masks(image, entry, settings, signal, onWithin) {
      if (settings.masks.source === 'imported') {
        const path = settings.masks.importPath!;
        if (!imports.has(path)) imports.set(path, openMaskImport(path));
        const source = await imports.get(path)!;
        const found = await source.masksFor(entry.path, image, {
          required: true,
          limit: settings.masks.hardCap,
        });
        return {
          masks: found.map((m) => m.mask),
          scores: found.map(() => 1),
          source: 'imported',
          importedIds: found.map((m) => m.sourceId),
        };
      }
      sam ??= await SamModel.open(pack);
      const { proposals } = await generateMasks(sam, image, {
        preset: settings.masks.preset,
        pointsPerSide: settings.masks.pointsPerSide,
        signal,
        onProgress: onWithin && ((done, total) => onWithin({ done, total, unit: 'prompts' })),
      });
      const { selected } = selectMasks(proposals, {
        maxMasks: Math.min(settings.masks.maxMasks, settings.masks.hardCap),
      });
      // predicted IoU and stability are kept apart too: the mask list shows both, the selector ranks by their product
      return {
        masks: selected.map((p) => p.mask),
        scores: selected.map((p) => p.predictedIou * p.stability),
        source: 'generated',
        predictedIous: selected.map((p) => p.predictedIou),
        stabilities: selected.map((p) => p.stability),
      };
    },
    async captions({ masks, crops, settings, imageKey, onWithin, signal }) {
      const options = decodingOptions(settings);
      const all = [];
      for (const [k, batch] of crops.entries()) {
        throwIfCancelled(signal, 'captioning');
        onWithin?.({ done: k, total: crops.length, unit: 'crops' });
        const out = await generateCaptions({
          captioner,
          tokenizer: captionTokenizer,
          special: manifest.captioner.specialTokens,
          crops: batch.data,
          count: masks.length,
          size: cropSize,
          crop: batch.crop,
          imageId: imageKey,
          options,
          mode,
          model: { pack: pack.name },
        });
        all.push(...out.candidates);
      }
      onWithin?.({ done: crops.length, total: crops.length, unit: 'crops' });
      // candidate order: by mask, then crop type, then setting (the order the caption engine emits per crop type)
      return all
        .map((c, k) => ({ c, k }))
        .sort((a, b) => a.c.maskIndex - b.c.maskIndex || a.k - b.k)
        .map((x) => x.c);
    },
    embedImages: (batch: CropBatch) => embedImages(scorerImage, batch),
    embedTexts: (texts) => embedTexts(scorerText, scorerTokenizer, texts, manifest.scorer.contextLength),
    dispose: () => pack.dispose(),
  };
}

/** CLIP image embeddings of a crop batch. in: image float32[n,3,S,S] → out: embedding float32[n,E]. */
async function embedImages(session: ModelSession, batch: CropBatch): Promise<Float32Array[]> {
  const [n, , h, w] = batch.dims;
  const out = await session.run({ image: new ort.Tensor('float32', batch.data, [n, 3, h, w]) });
  return rows(out.embedding, n, 'scorer.image');
}

/** CLIP text embeddings. in: text int64[B,77] (zero-padded) → out: embedding float32[B,E]. */
async function embedTexts(
  session: ModelSession,
  tokenizer: CaptionTokenizer,
  texts: string[],
  contextLength: number,
): Promise<Float32Array[]> {
  const result: Float32Array[] = [];
  const batchSize = 64;
  for (let start = 0; start < texts.length; start += batchSize) {
    const slice = texts.slice(start, start + batchSize);
    const tokens = tokenizer.encodeForScorer(slice, { contextLength, dtype: 'int64' });
    const out = await session.run({ text: new ort.Tensor('int64', tokens.data, tokens.dims) });
    result.push(...rows(out.embedding, slice.length, 'scorer.text'));
  }
  return result;
}

function rows(tensor: ort.Tensor | undefined, n: number, role: string): Float32Array[] {
  if (!tensor || tensor.dims.length !== 2 || tensor.dims[0] !== n) {
    throw new Error(`${role} returned embedding [${tensor?.dims.join(',') ?? 'none'}], expected [${n},E]`);
  }
  const e = Number(tensor.dims[1]);
  const data = tensor.data as Float32Array;
  return Array.from({ length: n }, (_, i) => data.slice(i * e, (i + 1) * e));
}
