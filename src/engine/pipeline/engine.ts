/**
 * The one opener of model packs outside the runtime: the runner's stages over a pack ({@link openStages}: the
 * runtime's image loader and sessions, the segmenter's generation + selection (or a mask import), the captioner's
 * generation per crop type, and the CLIP scorer), a pack's recorded facts without sessions ({@link readPackFacts}),
 * and the bare pack for role-by-role work ({@link openPack}: `doctor`, the runtime bench).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { DecodingRecord } from '../../shared/results.ts';
import {
  decodingOptions,
  SettingsSchema,
  stableStringify,
  type RuntimeSettings,
} from '../../shared/settings.ts';
import {
  captionBatches,
  Captioner,
  loadTokenizer,
  type CaptionTokenizer,
  type PackCaptioner,
} from '../caption/index.ts';
import { openClipScorer } from '../filter/index.ts';
import { loadImage } from '../image/index.ts';
import type { ExecutionProvider, PackRole } from '../../shared/models.ts';
import {
  loadModelPack,
  type LoadModelPackOptions,
  type ModelPack,
  type ModelSession,
} from '../runtime/index.ts';
import {
  generateMasks,
  openBoxImport,
  openMaskImport,
  SamModel,
  selectMasks,
  selectMasksByBoxes,
  type BoxImport,
  type MaskImport,
  type MaskProposal,
} from '../segment/index.ts';
import type { ImageStages } from './run.ts';

/** The pack facts a project records: folder, name, demo flag and the checksum of every graph and file. */
export interface PackFacts {
  dir: string;
  name: string;
  demo: boolean;
  checksums: Record<string, string>;
}

/** Runtime-mode overrides of a captioner built by {@link PackStages.captionModelWith} (defaults: the settings'). */
export interface CaptionModelOverrides {
  /** `reference`: decoding as the reference's code does it (full prefix, nothing deduplicated). Default: the stages' mode. */
  mode?: 'engine' | 'reference';
  decoderCache?: RuntimeSettings['decoderCache'];
  decoderBatch?: RuntimeSettings['decoderBatch'];
  decoderGroups?: RuntimeSettings['decoderGroups'];
}

/** Runtime-mode overrides of a SAM model built by {@link PackStages.segmenterWith} (defaults: the settings'). */
export type SegmenterOverrides = Partial<Pick<RuntimeSettings, 'batchedPrompts' | 'promptBatch'>>;

/** Stages plus what a run records and the bench reads. */
export interface PackStages extends ImageStages {
  pack: ModelPack;
  captioner: Captioner;
  /**
   * The pack's captioner as `captionImage` takes it, with the default runtime settings (`pseudo-ris caption`, the
   * decoding inspector).
   */
  captionModel: PackCaptioner;
  /** The pack's SAM model with the default runtime settings, opened on first use and kept (the mask editor, `masks`). */
  segmenter(): Promise<SamModel>;
  /** The captioner's tokenizer, loaded once with the pack. */
  captionTokenizer: CaptionTokenizer;
  /**
   * A new captioner over the stages' sessions with runtime-mode overrides — cached or full-prefix decoding, engine
   * or reference mode, a decoder batch — each with its own state and batch measurement (the caption bench).
   */
  captionModelWith(overrides: CaptionModelOverrides): Promise<PackCaptioner>;
  /** A new SAM model over the stages' pack with runtime-mode overrides: batched or batch-1 prompts (the masks bench). */
  segmenterWith(overrides: SegmenterOverrides): Promise<SamModel>;
  /** Facts recorded in the project: pack name and file checksums. */
  packInfo: PackFacts;
  /** Releases every session. */
  dispose(): Promise<void>;
}

/** Options of {@link openStages}. */
export interface OpenStagesOptions {
  /** Caption decoding as the reference's code does it (no caching or batching), for the bench's ratio. */
  mode?: 'engine' | 'reference';
  /**
   * The path policy for files a run opens on its own (imported masks): answers whether a real path is allowed. The
   * served engine passes its file scope, so a mask import is checked again when it is opened, not only when set.
   */
  contains?: (realPath: string) => boolean;
  /** Every session on the CPU provider (the app's `models:use` choice, `serve --cpu`). */
  forceCpu?: boolean;
  /** The provider order to request (CPU is appended; default: the platform's), e.g. the GPU bench's one provider. */
  providers?: ExecutionProvider[];
}

/** Options of {@link openPack}: providers and checksum verification (runtime/pack.ts `LoadModelPackOptions`). */
export type OpenPackOptions = Pick<LoadModelPackOptions, 'forceCpu' | 'providers' | 'verifyChecksums'>;

/**
 * Opens a model pack without opening a session (each opens, checksum-verified, on first use): the one call of the
 * runtime's loader. What runs images takes {@link openStages}; what needs the recorded facts only, {@link readPackFacts}.
 */
export function openPack(packDir: string, options: OpenPackOptions = {}): Promise<ModelPack> {
  return loadModelPack(packDir, options);
}

/**
 * The facts a project records of the pack in `packDir` (see {@link packFacts}) without opening a session: reads the
 * manifest and checks that every file is present and of its size. Throws `ModelPackError` as {@link openPack} does.
 */
export async function readPackFacts(packDir: string): Promise<PackFacts> {
  const pack = await openPack(packDir);
  try {
    return packFacts(pack);
  } finally {
    await pack.dispose();
  }
}

/** The caption engine's decoding options from the pipeline settings (stated once in shared/settings.ts). */
export { decodingOptions };

/**
 * The {@link PackFacts} of an open pack. The checksums are the pack's identity, what workers, resumes and merges
 * compare: every file its behaviour depends on. The graphs' are the manifest's, per `role.graph`; the manifest's own
 * (`manifest.json`: the constants, special tokens, preprocessing) and every other file it names (`tokenizer.json`, a
 * vocabulary…) are hashed here, keyed by file name, so a refusal names the file that differs.
 */
export function packFacts(pack: ModelPack): PackFacts {
  const checksums: Record<string, string> = {};
  for (const role of ['segmenter', 'captioner', 'scorer'] as const) {
    for (const [key, value] of Object.entries(pack.manifest[role])) {
      if (value && typeof value === 'object' && 'sha256' in value)
        checksums[`${role}.${key}`] = (value as { sha256: string }).sha256;
    }
  }
  // the manifest as parsed and re-serialised in a stable order: its layout (indentation, key order) is no identity
  const manifestText = readFileSync(pack.path('manifest.json'), 'utf8');
  checksums['manifest.json'] = sha256Text(stableStringify(JSON.parse(manifestText)));
  for (const file of namedFiles(pack)) checksums[file] = sha256Text(readFileSync(pack.path(file)));
  return { dir: pack.dir, name: pack.name, demo: pack.manifest.demo, checksums };
}

/** The side files a pack's manifest names (tokenizers, vocabularies): every string of a role naming a file there. */
function namedFiles(pack: ModelPack): string[] {
  const files = new Set<string>();
  for (const role of ['segmenter', 'captioner', 'scorer'] as const)
    for (const value of Object.values(pack.manifest[role]))
      if (typeof value === 'string' && isFile(pack, value)) files.add(value);
  return [...files].sort();
}

function isFile(pack: ModelPack, file: string): boolean {
  try {
    return statSync(pack.path(file)).isFile();
  } catch {
    return false;
  }
}

function sha256Text(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Opens a model pack and builds the runner's stages over it. */
export async function openStages(packDir: string, options: OpenStagesOptions = {}): Promise<PackStages> {
  const pack = await openPack(packDir, { forceCpu: options.forceCpu, providers: options.providers });
  const { manifest } = pack;
  // Every session opens when first needed (the pack caches it): `masks` opens the segmenter only, captioning the
  // captioner's graphs of its path, scoring CLIP. A captioner gets openers, not sessions, so the cached path never
  // opens the full-prefix text + decoder graphs (1.27 GB for coca_ViT-L-14's decoder) it does not run.
  const opener = (role: PackRole) => () => pack.session(role);
  const mode = options.mode ?? 'engine';
  // The cached contract's sessions when the pack offers them (runtime/README.md "Fast contracts"); the reference mode
  // decodes as the reference does, over the full prefix.
  const offersCache = pack.offers('captioner.cross') && pack.offers('captioner.decoderWithPast');
  const cached = offersCache
    ? {
        cross: opener('captioner.cross'),
        decoderWithPast: opener('captioner.decoderWithPast') as () => Promise<ModelSession>,
      }
    : {};
  const newCaptioner = (
    runtime: Pick<RuntimeSettings, 'decoderCache' | 'decoderBatch' | 'decoderGroups'>,
    captionMode: 'engine' | 'reference',
  ): Captioner =>
    new Captioner(
      {
        visual: opener('captioner.visual'),
        text: opener('captioner.text'),
        decoder: opener('captioner.decoder'),
        ...(captionMode === 'engine' ? cached : {}),
      },
      {
        dedupe: captionMode === 'engine',
        cache: runtime.decoderCache,
        decoderBatch: runtime.decoderBatch,
        cropGroups: runtime.decoderGroups === 'auto' && manifest.captioner.crossGrouped === true,
      },
    );
  const captioners = new Map<string, Captioner>();
  const captionerFor = (runtime: RuntimeSettings): Captioner => {
    const key = `${runtime.decoderCache}|${runtime.decoderBatch}|${runtime.decoderGroups}`;
    let found = captioners.get(key);
    if (!found) {
      found = newCaptioner(runtime, mode);
      captioners.set(key, found);
    }
    return found;
  };
  const captioner = captionerFor(SettingsSchema.parse({}).runtime);
  const captionTokenizer = await loadTokenizer(
    pack.path(manifest.captioner.tokenizer),
    manifest.captioner.specialTokens,
  );
  const clip = await openClipScorer(pack, captionTokenizer);
  const captionModelOf = (captioner: Captioner): PackCaptioner => ({
    captioner,
    tokenizer: captionTokenizer,
    special: manifest.captioner.specialTokens,
    cropSize: manifest.captioner.preprocess.size,
    packName: pack.name,
  });
  const captionModelFor = (runtime: RuntimeSettings) => captionModelOf(captionerFor(runtime));
  const defaults = SettingsSchema.parse({}).runtime;
  const sams = new Map<string, Promise<SamModel>>();
  const samFor = (runtime: RuntimeSettings): Promise<SamModel> => {
    const key = `${runtime.batchedPrompts}|${runtime.promptBatch}`;
    let found = sams.get(key);
    if (!found) {
      found = SamModel.open(pack, { batched: runtime.batchedPrompts, promptBatch: runtime.promptBatch });
      sams.set(key, found);
      found.catch(() => sams.delete(key));
    }
    return found;
  };
  let lastSam: SamModel | null = null;
  const imports = new Map<string, Promise<MaskImport>>();
  const boxFiles = new Map<string, Promise<BoxImport>>();
  return {
    pack,
    captioner,
    captionModel: captionModelFor(defaults),
    segmenter: () => samFor(defaults),
    async captionModelWith(overrides) {
      const captionMode = overrides.mode ?? mode;
      const runtime = {
        decoderCache: overrides.decoderCache ?? defaults.decoderCache,
        decoderBatch: overrides.decoderBatch ?? defaults.decoderBatch,
        decoderGroups: overrides.decoderGroups ?? defaults.decoderGroups,
      };
      return captionModelOf(newCaptioner(runtime, captionMode));
    },
    segmenterWith: (overrides) =>
      SamModel.open(pack, {
        batched: overrides.batchedPrompts ?? defaults.batchedPrompts,
        promptBatch: overrides.promptBatch ?? defaults.promptBatch,
      }),
    captionTokenizer,
    packInfo: packFacts(pack),
    logitScale: clip.logitScale,
    cropSize: clip.cropSize,
    // image paths come from the project's files (untrusted): in served mode the opened file's real path must lie in
    // the session's folders (image/load.ts `contains`), checked at the moment of use
    load: (path, maxPixels) => loadImage(path, { maxPixels, contains: options.contains }),
    async masks(image, entry, settings, signal, onWithin) {
      if (settings.masks.source === 'imported') {
        const path = settings.masks.importPath!;
        if (!imports.has(path)) imports.set(path, openMaskImport(path, { contains: options.contains }));
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
      const generate = async () => {
        const sam = await samFor(settings.runtime);
        lastSam = sam;
        const { proposals } = await generateMasks(sam, image, {
          preset: settings.masks.preset,
          pointsPerSide: settings.masks.pointsPerSide,
          pointsPerBatch: settings.runtime.pointsPerBatch,
          signal,
          onProgress: onWithin && ((done, total) => onWithin({ done, total, unit: 'prompts' })),
        });
        return proposals;
      };
      let selected: MaskProposal[];
      let importedIds: string[] | undefined;
      if (settings.masks.selection === 'boxes') {
        // the released code's selection over imported detections (segment/select-boxes.ts); each mask records the
        // detection that chose it
        const path = settings.masks.boxesPath!;
        if (!boxFiles.has(path)) {
          const opening = openBoxImport(path, { contains: options.contains });
          boxFiles.set(path, opening);
          opening.catch(() => boxFiles.delete(path));
        }
        const found = await selectMasksByBoxes(
          await boxFiles.get(path)!,
          entry.path,
          image,
          generate,
          settings.masks,
        );
        selected = found.selected;
        importedIds = found.matches.map((m) => m.sourceId);
      } else {
        selected = selectMasks(await generate(), {
          maxMasks: Math.min(settings.masks.maxMasks, settings.masks.hardCap),
        }).selected;
      }
      // predicted IoU and stability are kept apart too: the mask list shows both, the selector ranks by their product
      return {
        masks: selected.map((p) => p.mask),
        scores: selected.map((p) => p.predictedIou * p.stability),
        source: 'generated',
        ...(importedIds ? { importedIds } : {}),
        predictedIous: selected.map((p) => p.predictedIou),
        stabilities: selected.map((p) => p.stability),
      };
    },
    async captions({ crops, settings, imageKey, onWithin, signal }) {
      // the one caption path, shared with `pseudo-ris caption` (caption/image.ts)
      const { candidates } = await captionBatches({
        model: captionModelFor(settings.runtime),
        batches: crops,
        imageId: imageKey,
        options: decodingOptions(settings),
        mode,
        signal,
        onWithin,
      });
      return candidates;
    },
    decoding(settings): DecodingRecord {
      const used = captionerFor(settings.runtime);
      const record: DecodingRecord = {
        captioner: used.path,
        segmenter: settings.masks.source === 'imported' || !lastSam ? 'imported' : lastSam.path,
      };
      if (used.path === 'cached') record.cropGroups = used.cropGroups;
      if (used.path === 'cached' && used.decoderBatch) {
        const { size, source } = used.decoderBatch;
        const provider = pack.providers().find((p) => p.role === 'captioner.decoderWithPast')?.used;
        record.decoderBatch = { size, source, provider };
      }
      if (record.segmenter === 'batched' && lastSam?.promptBatch) {
        const { size, source } = lastSam.promptBatch;
        record.promptBatch = { size, source, provider: lastSam.batched?.provider };
      }
      return record;
    },
    embedImages: clip.embedImages,
    embedTexts: clip.embedTexts,
    dispose: () => pack.dispose(),
  };
}
