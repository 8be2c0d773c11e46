/**
 * The runner's stages over a model pack: the runtime's image loader and sessions, the segmenter's generation +
 * selection (or a mask import), the captioner's generation per crop type, and the CLIP scorer.
 */
import { decodingOptions } from '../../shared/settings.ts';
import {
  captionBatches,
  openPackCaptioner,
  type Captioner,
  type PackCaptioner,
  type CaptionTokenizer,
} from '../caption/index.ts';
import { openClipScorer } from '../filter/index.ts';
import { loadImage } from '../image/index.ts';
import { loadModelPack, type ModelPack } from '../runtime/index.ts';
import { generateMasks, openMaskImport, type MaskImport, SamModel, selectMasks } from '../segment/index.ts';
import type { ImageStages } from './run.ts';

/** Stages plus what a run records and the bench reads. */
export interface PackStages extends ImageStages {
  pack: ModelPack;
  captioner: Captioner;
  /** The pack's captioner as `captionImage` takes it (`pseudo-ris caption`, the decoding inspector). */
  captionModel: PackCaptioner;
  /** The pack's SAM model, opened on first use and kept (mask generation, prompts in the mask editor). */
  segmenter(): Promise<SamModel>;
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
  const mode = options.mode ?? 'engine';
  const captionModel = await openPackCaptioner(pack, mode);
  const { captioner, tokenizer: captionTokenizer } = captionModel;
  const clip = await openClipScorer(pack, captionTokenizer);
  let sam: Promise<SamModel> | null = null;
  const segmenter = (): Promise<SamModel> => (sam ??= SamModel.open(pack));
  const imports = new Map<string, Promise<MaskImport>>();
  const checksums: Record<string, string> = {};
  for (const role of ['segmenter', 'captioner', 'scorer'] as const) {
    for (const [key, value] of Object.entries(manifest[role])) {
      if (value && typeof value === 'object' && 'sha256' in value)
        checksums[`${role}.${key}`] = (value as { sha256: string }).sha256;
    }
  }
  return {
    pack,
    captioner,
    captionModel,
    segmenter,
    captionTokenizer,
    packInfo: { dir: pack.dir, name: pack.name, demo: manifest.demo, checksums },
    logitScale: clip.logitScale,
    cropSize: clip.cropSize,
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
      const { proposals } = await generateMasks(await segmenter(), image, {
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
    async captions({ crops, settings, imageKey, onWithin, signal }) {
      // the one caption path, shared with `pseudo-ris caption` (caption/image.ts)
      const { candidates } = await captionBatches({
        model: captionModel,
        batches: crops,
        imageId: imageKey,
        options: decodingOptions(settings),
        mode,
        signal,
        onWithin,
      });
      return candidates;
    },
    embedImages: clip.embedImages,
    embedTexts: clip.embedTexts,
    dispose: () => pack.dispose(),
  };
}
