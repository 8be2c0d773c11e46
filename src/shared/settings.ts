/**
 * Pipeline settings: one zod schema with the paper's defaults (DESIGN.md §5) and named presets.
 *
 * Every run records the full, parsed settings with its results, so a project can be reproduced from its own folder.
 * `parseSettings({})` gives the paper defaults; `settingsPreset('reference')` gives the reference-equivalent run.
 * Extras beyond the reference are options whose defaults reproduce it, except the plain-sampling comparison
 * candidates, which the default preset adds so the report can compare beam / plain sampling / DCS (they are scored
 * and reported but never exported).
 */
import { z } from 'zod';
import type { DecodingOptions } from './caption.ts';

/** Box-crop margin factors of the reference: 0 / 10 / 20 % (DESIGN.md §5 Crops). */
export const REFERENCE_MARGINS = [1.0, 1.1, 1.2] as const;
/** DCS top-k set of the reference. */
export const REFERENCE_TOP_K = [5, 7, 9, 11, 13] as const;
/** DCS top-p set of the reference. */
export const REFERENCE_TOP_P = [0.4, 0.5, 0.6, 0.7, 0.8] as const;
/** The distinctiveness threshold τ: the paper's (Sec. 5.1). The released loader filters `doc > 1` instead. */
export const REFERENCE_TAU = 1.3;

const probability = z.number().gt(0).lte(1);

/** The range τ may take everywhere (settings, API, CLI): DoS is a difference of softmax-like ratios, so ≥ 0. */
export const TAU_MIN = 0;
export const TAU_MAX = 10;

/** τ as every entry point validates it: a finite number in [{@link TAU_MIN}, {@link TAU_MAX}]. */
export const TauSchema = z
  .number()
  .refine(Number.isFinite, 'tau must be a finite number')
  .min(TAU_MIN, `tau must be ≥ ${TAU_MIN}`)
  .max(TAU_MAX, `tau must be ≤ ${TAU_MAX}`);

/**
 * Parses a τ given as text (a CLI flag): throws a message naming `flag` and the value when it is not a number in
 * [{@link TAU_MIN}, {@link TAU_MAX}].
 */
export function parseTau(flag: string, value: string): number {
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n)) throw new Error(`${flag} must be a number, got "${value}"`);
  if (n < TAU_MIN || n > TAU_MAX)
    throw new Error(`${flag} must be between ${TAU_MIN} and ${TAU_MAX}, got ${value}`);
  return n;
}

/**
 * Default pixel limit: 50,000,000 pixels (e.g. 8660 × 5773, or up to 7071² for a square image).
 *
 * Every common camera sensor (≤ 45 MP) fits; the decoded RGB image is ≤ 143 MiB and SAM's full-resolution float32
 * logits for 4 masks ≤ 763 MiB. The model sees at most 1024 pixels per side, so larger images gain nothing.
 */
export const DEFAULT_MAX_PIXELS = 50_000_000;

/**
 * Largest image file read, in bytes (512 MiB), checked with `stat` before any byte is read: no image within the
 * pixel limit needs more (an uncompressed 50 MP 16-bit RGBA TIFF is 400 MB), and a multi-GiB file would otherwise be
 * read whole into memory (or fail past 2 GiB with no file name).
 */
export const MAX_IMAGE_BYTES = 512 * 1024 * 1024;

/** Mask generation / selection / import. */
export const MaskSettingsSchema = z.strictObject({
  /** `generated`: SAM automatic mask generation + selection; `imported`: masks read from `importPath`. */
  source: z.enum(['generated', 'imported']).default('generated'),
  /** AMG threshold set: `sam` = segment-anything defaults (pred IoU 0.88), `reference` = Pseudo-RIS (pred IoU 0.5). */
  preset: z.enum(['sam', 'reference']).default('reference'),
  /** Masks kept per image by the selector (the reference keeps ~5). */
  maxMasks: z.number().int().min(1).max(30).default(5),
  /** Absolute cap on masks per image, also for imported masks: DCS costs n² decoder rows per step. */
  hardCap: z.number().int().min(1).max(100).default(30),
  /** SAM AMG grid: points per side (32 in SAM and the reference). */
  pointsPerSide: z.number().int().min(1).max(64).default(32),
  /** Folder of PNG masks or a COCO JSON, for `source: imported`. */
  importPath: z.string().optional(),
  /**
   * How generated masks are selected: `top-k`, the selector's heuristic (keeps at most `maxMasks`); `boxes`, the
   * released code's rule over imported CutLER-style detections (`boxesPath`): each detection scoring above
   * `boxesMinScore` picks the SAM mask it overlaps most — duplicates allowed, no K (`hardCap` still bounds the count;
   * an image over it fails, named). Only with `source: generated`.
   */
  selection: z.enum(['top-k', 'boxes']).default('top-k'),
  /**
   * Detections for `selection: boxes`: a COCO JSON (`images` + `annotations` with `bbox` [x, y, w, h], optional
   * `score` and `segmentation`) or a bare detections list as detectron2's `coco_instances_results.json`.
   */
  boxesPath: z.string().optional(),
  /**
   * Detections scoring at or below this are ignored: the released script's `--confidence-threshold` (0.5), which
   * detectron2 applies as `score > threshold`. Detections without a score are kept.
   */
  boxesMinScore: z.number().min(0).max(1).default(0.5),
  /**
   * SHA-256 of the boxes file as the project first read it (`generate` records it): results depend on the file's
   * content, so a changed file is refused rather than mixed into a resume or a merge.
   */
  boxesSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'boxesSha256 must be 64 lowercase hex digits')
    .optional(),
});

/** The four crops per mask. */
export const CropSettingsSchema = z.strictObject({
  /** Box-crop margin factors (box scaled about its centre, clamped to the image). */
  margins: z
    .array(z.number().min(1).max(3))
    .min(1)
    .default([...REFERENCE_MARGINS]),
  /** Include the masked crop (pixels outside the mask filled). The reference does. */
  masked: z.boolean().default(true),
  /** Fill: `reference` = the mean vector written in normalized space (≈ (0.611, 0.578, 0.521)), or explicit 0–1 RGB. */
  fill: z
    .union([
      z.literal('reference'),
      z.tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)]),
    ])
    .default('reference'),
});

/** Caption generation per crop: beam + DCS (11 per crop), optional plain-sampling comparison. */
export const CaptionSettingsSchema = z.strictObject({
  /** One beam-search caption per crop. */
  beam: z.boolean().default(true),
  /** `reference`: 6 beams in 3 groups of 2, raw-logit scores; `log-prob`: a standard log-probability beam search. */
  beamMode: z.enum(['reference', 'log-prob']).default('reference'),
  topK: z.array(z.number().int().min(1)).default([...REFERENCE_TOP_K]),
  topP: z.array(probability).default([...REFERENCE_TOP_P]),
  /** Distinctive caption sampling for every k and p; off = plain top-k/top-p sampling in their place. */
  dcs: z.boolean().default(true),
  /** DCS aggregation of the other masks' logits: the reference's mean, or the paper's weighted sum. */
  aggregation: z.enum(['mean', 'weighted-sum']).default('mean'),
  temperature: z.number().gt(0).default(1),
  maxLength: z.number().int().min(2).max(77).default(30),
  minLength: z.number().int().min(0).max(76).default(5),
  repetitionPenalty: z.number().gt(0).default(1),
  /** End a caption when the pad token (id 0) is sampled, as the released decoder does (the reference preset). */
  stopOnPad: z.boolean().default(false),
  /** Also sample every k/p setting without DCS, for the report's plain-vs-DCS comparison (never exported). */
  plainSampling: z.boolean().default(true),
  /**
   * The head noun CoS prompts with: `strip-frames` skips framing phrases ("a photo of a blue triangle" → "triangle");
   * `root-chunk` is the released rule (spaCy's root noun chunk, framing phrases included → "photo"; the whole
   * caption when none), approximated with compromise (filter/head-noun.ts).
   */
  headNoun: z.enum(['strip-frames', 'root-chunk']).default('strip-frames'),
});

/** Distinctiveness filtering (DESIGN.md §5 Scores). */
export const FilterSettingsSchema = z.strictObject({
  /** Keep candidates with DoS > τ (strict). */
  tau: TauSchema.default(REFERENCE_TAU),
  /** Images with one mask have no ratio: keep all, keep the top share by CoS, or drop. */
  singleMask: z.enum(['keep-all', 'keep-by-cos-rank', 'drop']).default('keep-all'),
  /** With `keep-by-cos-rank`: the share of a mask's candidates kept, best CoS first (the reference trains on the top half). */
  singleMaskShare: probability.default(0.5),
  /**
   * With `keep-by-cos-rank`, the order of tied CoS (CoS depends on the noun prompt only, so ties are the rule):
   * `index`, candidate order; `numpy`, the released loader's `np.argsort(doc)[::-1]` — numpy's generic introsort,
   * reversed (shared/numpy-argsort.ts), which numpy builds dispatching argsort to x86-simd-sort do not reproduce.
   */
  singleMaskTies: z.enum(['index', 'numpy']).default('index'),
  /**
   * Masks with no candidate above τ: drop them, keep their best candidate by DoS, or keep one drawn at random
   * (the released code's loader; drawn here from the run's `seed` and the mask id, so a run is reproducible).
   */
  emptyMask: z.enum(['drop', 'keep-best', 'random']).default('drop'),
  /**
   * The caption text exports write (an export-time choice, as τ: nothing is regenerated): `trimmed`, the decoded
   * text with spacing cleaned; `released`, the released code's text (untrimmed: a last word's trailing space, and with
   * `stopOnPad` the "!" run of a pad-stopped row), kept per candidate (`releasedText`; results written before it
   * export trimmed, with a warning). Edited captions are exported as edited either way.
   */
  captionText: z.enum(['trimmed', 'released']).default('trimmed'),
});

/**
 * How the models run (never what they compute: results are the same either way, so these are not part of the
 * generation key). runtime/README.md "Fast contracts".
 */
export const RuntimeSettingsSchema = z.strictObject({
  /**
   * `auto`: the cached captioner decoder (cross K/V once per crop, one new position per row) when the pack offers
   * it; `off`: the full-prefix text + decoder graphs, as the reference computes them.
   */
  decoderCache: z.enum(['auto', 'off']).default('auto'),
  /**
   * `auto`: one cached-decoder run per step for the rows of all crops when the pack's decoder takes grouped crops
   * (manifest `captioner.crossGrouped`); `off`: one run per crop.
   */
  decoderGroups: z.enum(['auto', 'off']).default('auto'),
  /** `auto`: SAM point prompts in batches when the pack offers the batched decoder; `off`: one prompt per run. */
  batchedPrompts: z.enum(['auto', 'off']).default('auto'),
  /** Point prompts handed to the SAM decoder together (segment-anything's `points_per_batch`). */
  pointsPerBatch: z.number().int().min(1).max(1024).default(64),
  /** Rows per cached-decoder run: measured per provider when the session starts (`auto`), or fixed. */
  decoderBatch: z.union([z.literal('auto'), z.number().int().min(1).max(4096)]).default('auto'),
  /** Prompts per batched SAM decoder run: measured per provider when the session starts (`auto`), or fixed. */
  promptBatch: z.union([z.literal('auto'), z.number().int().min(1).max(1024)]).default('auto'),
});

/** The complete settings of a run. */
export const SettingsSchema = z
  .strictObject({
    version: z.literal(1).default(1),
    /** The preset these settings started from (informational). */
    preset: z.enum(['default', 'reference', 'custom']).default('default'),
    masks: MaskSettingsSchema.prefault({}),
    crops: CropSettingsSchema.prefault({}),
    captions: CaptionSettingsSchema.prefault({}),
    filter: FilterSettingsSchema.prefault({}),
    runtime: RuntimeSettingsSchema.prefault({}),
    /** Seeds every random draw; a candidate's own seed derives from it and its position. */
    seed: z.number().int().min(0).max(0xffffffff).default(0),
    /** Images above this many pixels are refused (decompression-bomb guard). */
    maxPixels: z.number().int().positive().default(DEFAULT_MAX_PIXELS),
  })
  .superRefine((value, context) => {
    if (value.captions.minLength >= value.captions.maxLength) {
      context.addIssue({
        code: 'custom',
        path: ['captions', 'minLength'],
        message: `minLength (${value.captions.minLength}) must be below maxLength (${value.captions.maxLength})`,
      });
    }
    if (value.masks.maxMasks > value.masks.hardCap) {
      context.addIssue({
        code: 'custom',
        path: ['masks', 'maxMasks'],
        message: `maxMasks (${value.masks.maxMasks}) exceeds hardCap (${value.masks.hardCap})`,
      });
    }
    if (value.masks.source === 'imported' && !value.masks.importPath) {
      context.addIssue({
        code: 'custom',
        path: ['masks', 'importPath'],
        message: 'masks.source "imported" needs masks.importPath',
      });
    }
    if (value.masks.selection === 'boxes' && !value.masks.boxesPath) {
      context.addIssue({
        code: 'custom',
        path: ['masks', 'boxesPath'],
        message: 'masks.selection "boxes" needs masks.boxesPath (a COCO JSON of detections)',
      });
    }
    if (value.masks.selection === 'boxes' && value.masks.source === 'imported') {
      context.addIssue({
        code: 'custom',
        path: ['masks', 'selection'],
        message:
          'masks.selection "boxes" selects among generated SAM masks; it cannot be used with masks.source "imported"',
      });
    }
  });

export type Settings = z.infer<typeof SettingsSchema>;
export type SettingsInput = z.input<typeof SettingsSchema>;
export type MaskSettings = Settings['masks'];
export type CropSettings = Settings['crops'];
export type CaptionSettings = Settings['captions'];
export type FilterSettings = Settings['filter'];
export type RuntimeSettings = Settings['runtime'];

/**
 * The mask-selection line of {@link REFERENCE_DIFFERENCES}. The released rule (generate_masks/cutler_sam_masks.py of
 * Seonghoon-Yu/Pseudo-RIS, l. 184–197): every CutLER detection above the score threshold picks the SAM mask of
 * largest pixel intersection with its mask; duplicates allowed, no cap.
 */
const MASK_SELECTION_DIFFERENCE =
  'mask selection: the released code matches each CutLER detection (score > 0.5) to the SAM mask of largest ' +
  'pixel overlap (duplicates allowed, no cap); CutLER is not part of this project, so without imported detections ' +
  'the top-K heuristic (masks.maxMasks) selects the masks; with them (generate --boxes FILE, masks.selection ' +
  '"boxes") the selection is the released code’s — exact when the detections carry their masks (segmentation), ' +
  'with each box standing in for its CutLER mask otherwise';

/**
 * What the `reference` preset still does differently from the released Pseudo-RIS code, listed in `--help`, the
 * README and every run's repro record ({@link referenceDifferences} for a run's own settings).
 */
export const REFERENCE_DIFFERENCES: readonly string[] = [
  MASK_SELECTION_DIFFERENCE,
  'SAM input: the released mask script reads images as BGR (detectron2 read_image(format="BGR")) and hands them to ' +
    'SAM’s generator, which takes RGB, so its masks come from channel-swapped images; here SAM sees RGB',
  'τ: the preset keeps DoS > 1.3, the paper’s τ (Sec. 5.1); the released loader filters doc > 1',
  'random draws: the released loader draws one caption each time it loads a mask (every epoch, unseeded): ' +
    'random.choice among the captions with doc > 1, or numpy’s np.random.choice over all of them when none passes; ' +
    'here every caption above τ is exported, and a mask with none keeps one caption drawn once from the run’s seed ' +
    '(settings.seed) and the mask id (the same pick on every run, in the app, the exports and the stored decisions, ' +
    'not the pick of a Python run)',
  'beam search: with transformers 4.31 the released code raises before decoding (open_clip #575/#617); with ≤ 4.30 ' +
    'its shared hypothesis list behaves as independent groups, which is what is run here',
  'precision: the released code runs CoCa under fp16 autocast and CLIP RN50 in fp16 on CUDA; the packs here run ' +
    'fp32 graphs, so logits and scores differ in the low digits and a near-tied sampling step can pick another token',
  'CutLER input: the released mask script feeds CutLER the BGR image its config declares as RGB; detections imported ' +
    'here (generate --boxes) are whatever the file holds',
  'single-mask top half: singleMaskTies "numpy" reproduces np.argsort(doc)[::-1] as numpy’s generic introsort orders ' +
    'ties (numpy 2.4.6 with NPY_DISABLE_CPU_FEATURES=X86_V3, checked on 2,009 arrays); numpy builds that dispatch ' +
    'argsort to x86-simd-sort (AVX2/AVX-512) order ties otherwise, so the released pick itself depends on the numpy ' +
    'build and CPU; with one caption the released code takes none (num_sent // 2 = 0, then draws from an empty ' +
    'list), here it keeps that caption',
  'head noun: headNoun "root-chunk" follows the released rule (the root noun chunk, framing phrases kept, the whole ' +
    'caption when none) with compromise’s tags, not spaCy en_core_web_lg’s parse, so some captions get another noun',
  'caption text: with stop-on-pad the released DCS row keeps the sampled pad (token 0, decoded "!") and the pads ' +
    'after it up to the longest row of its batch (every mask × every k/p setting of one crop), so its text ends in a ' +
    '"!" run, and a row ended by end-of-text decodes with a trailing space; the preset exports that text ' +
    '(filter.captionText "released"; results generated before it have no released text and export trimmed, with a ' +
    'warning), but CoS, UoS and the head noun are computed on the trimmed text, where the released code scores and ' +
    'parses the text with its "!" run',
  'duplicate captions: the released loader samples among all of a mask’s captions, repeats included; the refcoco and ' +
    'cris exports keep each distinct caption once unless exported with --keep-duplicates',
  'caption/mask pairing: the released caption script numbers seg_id within the list left after skipping whole-image ' +
    'masks while its loader reads {img_id}/{seg_id}.png, so after a skipped mask it pairs captions with the wrong mask ' +
    'file; here every caption stays with the mask it was generated for',
];

/**
 * {@link REFERENCE_DIFFERENCES} as they apply to a run: with imported detections (`masks.selection: boxes`) the
 * mask-selection line says what remains (boxes without a segmentation stand in for CutLER's masks).
 */
export function referenceDifferences(settings: Pick<Settings, 'masks'>): readonly string[] {
  if (settings.masks.selection !== 'boxes') return REFERENCE_DIFFERENCES;
  return REFERENCE_DIFFERENCES.map((line) =>
    line === MASK_SELECTION_DIFFERENCE
      ? 'mask selection: the released code’s rule over the imported detections (masks.boxesPath): each detection ' +
        `scoring above ${settings.masks.boxesMinScore} picks the SAM mask of largest pixel overlap (duplicates ` +
        'allowed, no cap); a detection without a segmentation is matched by its box, which stands in for its ' +
        'CutLER mask'
      : line,
  );
}

/**
 * The settings that differ from the `reference` preset's, one line each (`filter.tau: 1 (reference: 1.3)`), in
 * schema order; none for a run with the preset's settings. Where a run's masks, boxes or paths are its own (import and
 * detection paths, their hashes) they are not listed: the preset has none.
 */
export function settingsDifferingFromReference(settings: Settings): string[] {
  const reference = settingsPreset('reference') as unknown as Record<string, unknown>;
  const lines: string[] = [];
  const own = new Set(['preset', 'masks.importPath', 'masks.boxesPath', 'masks.boxesSha256']);
  const walk = (path: string, value: unknown, expected: unknown) => {
    if (own.has(path)) return;
    const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    if (isObject(value) && isObject(expected)) {
      const a = value as Record<string, unknown>;
      const b = expected as Record<string, unknown>;
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
        walk(path ? `${path}.${key}` : key, a[key], b[key]);
      return;
    }
    if (stableStringify(value) !== stableStringify(expected))
      lines.push(`${path}: ${stableStringify(value)} (reference: ${stableStringify(expected)})`);
  };
  walk('', settings, reference);
  return lines;
}

/**
 * What export-record.json says about the reference (always present): whether the run used the reference preset's
 * settings, the settings that differ from it when not, and what the reference preset itself still does differently
 * from the released code ({@link referenceDifferences}).
 */
export function referenceRecord(settings: Settings): {
  referencePreset: boolean;
  settingsDifferingFromReference: string[];
  releasedCodeDifferences: readonly string[];
} {
  const differing = settingsDifferingFromReference(settings);
  return {
    referencePreset: differing.length === 0,
    settingsDifferingFromReference: differing,
    releasedCodeDifferences: referenceDifferences(settings),
  };
}

/** Preset names accepted by `settingsPreset` and the CLI's `--preset`. */
export const PRESETS = ['default', 'reference'] as const;
export type PresetName = (typeof PRESETS)[number];

/**
 * The settings of a named preset.
 *
 * `default`: the paper's numbers plus plain-sampling comparison candidates for the report.
 * `reference`: as close to the released code's run as the pieces allow — no comparison candidates, reference AMG
 * thresholds, a random (seeded) caption for masks with none above τ, single-mask images trained on the top half by
 * CoS, decoding that ends at a sampled pad token. Masks are selected by the top-K heuristic; with imported CutLER-style
 * detections (`masks.selection: 'boxes'`) the selection is the released code's. What still differs is
 * {@link REFERENCE_DIFFERENCES}.
 */
export function settingsPreset(name: PresetName): Settings {
  switch (name) {
    case 'default':
      return SettingsSchema.parse({ preset: 'default' });
    case 'reference':
      return SettingsSchema.parse({
        preset: 'reference',
        masks: { preset: 'reference' },
        captions: { plainSampling: false, stopOnPad: true, headNoun: 'root-chunk' },
        // masks: the top-K heuristic unless CutLER-style detections are imported (masks.selection "boxes")
        filter: {
          singleMask: 'keep-by-cos-rank',
          singleMaskShare: 0.5,
          singleMaskTies: 'numpy',
          emptyMask: 'random',
          captionText: 'released',
        },
        // the reference's own computation: full-prefix decoding, one SAM prompt per run (a real export's cached
        // logits match the full-prefix ones within 1e-4, not bit for bit)
        runtime: { decoderCache: 'off', batchedPrompts: 'off' },
      });
    default:
      throw new Error(`unknown preset "${String(name)}": expected one of ${PRESETS.join(', ')}`);
  }
}

/**
 * Parses settings, filling defaults; throws one message naming every invalid field.
 */
export function parseSettings(input: unknown): Settings {
  const result = SettingsSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) => `settings.${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`invalid settings: ${lines.join('; ')}`);
  }
  return result.data;
}

/** The caption engine's decoding options from the pipeline settings (the one mapping; the engine's defaults too). */
export function decodingOptions(settings: Settings): DecodingOptions {
  const c = settings.captions;
  return {
    topK: c.topK,
    topP: c.topP,
    distinctive: c.dcs,
    alsoPlain: c.dcs && c.plainSampling,
    beam: c.beam
      ? { kind: 'beam', beams: 6, groups: 3, scoring: c.beamMode === 'reference' ? 'raw-logits' : 'log-prob' }
      : null,
    aggregation: c.aggregation,
    temperature: c.temperature,
    repetitionPenalty: c.repetitionPenalty,
    minLength: c.minLength,
    maxLength: c.maxLength,
    maxCalibrationCrops: 30,
    stopOnPad: c.stopOnPad,
    seed: settings.seed,
  };
}

/** Number of candidates generated per crop (11 with the defaults; +10 with the plain-sampling comparison). */
export function candidatesPerCrop(captions: CaptionSettings): number {
  const sampled = captions.topK.length + captions.topP.length;
  return (captions.beam ? 1 : 0) + sampled + (captions.plainSampling && captions.dcs ? sampled : 0);
}

/** The parts of the settings that change generated results (τ and the filter policies do not). */
export function generationKey(settings: Settings): string {
  const { masks, crops, captions, seed, maxPixels } = settings;
  return stableStringify({ masks, crops, captions, seed, maxPixels });
}

/** JSON with object keys sorted, so equal settings give equal strings. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Why `JSON.parse` refused a user's file, without its content: V8's messages quote the text around the error
 * (`Unexpected token 'r', "root:x:0:0"... is not valid JSON`), which must never reach a client or a log. Keeps the
 * position when the message has one.
 */
export function jsonSyntaxReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/end of JSON input/i.test(message)) return 'not valid JSON (it ends early)';
  const position = /position (\d+)/.exec(message);
  const line = /line (\d+) column (\d+)/.exec(message);
  if (line) return `not valid JSON (syntax error at line ${line[1]} column ${line[2]})`;
  if (position) return `not valid JSON (syntax error at byte ${position[1]})`;
  return 'not valid JSON';
}
