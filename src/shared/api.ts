/**
 * The one contract between the UI and the engine (CONVENTIONS.md "One contract"; GitHub Desktop's `ipc-shared.ts`).
 *
 * - Requests: `domain:verb` channel → parameter schema (zod, validated by every adapter before the engine sees it)
 *   and result type. Every call returns a Promise.
 * - Events: channel → payload type, pushed by the engine (run progress, image updates, run finished, …).
 * - `Api`: the named functions the renderer calls (`api.startRun(…)`, `api.onProgress(cb) → unsubscribe`), built by
 *   the Electron preload or by `createApiClient(transport)` over the served mode's WebSocket.
 * - `ApiHandlers`: what an engine facade implements; the adapters (Electron IPC, WebSocket server) forward to it.
 *
 * Everything that crosses is plain data: objects, arrays, numbers, strings, typed arrays. Never class instances.
 * No channel string appears outside this file and `api-names.ts`.
 */
import { z } from 'zod';
import {
  API_EVENTS,
  API_METHODS,
  type ApiListenerName,
  type ApiMethodName,
  type EventChannel,
  type RequestChannel,
} from './api-names.ts';
import type { OcclusionAttribution } from './attribution.ts';
import type { BeamTrace, CaptionTrace, TraceComparison } from './caption.ts';
import type { PackSummary, ProviderInfo } from './models.ts';
import type { CandidateResult, DecodingMethod, RunProgress as EngineRunProgress } from './results.ts';
import { SettingsSchema, TauSchema, type Settings } from './settings.ts';
import {
  CRIS_HAS_NO_REFCLEF,
  crisFolderName,
  crisSplitMismatch,
  SPLIT_BY,
  EXPORT_FORMATS,
  REFER_DATASETS,
  SINGLE_MASK_POLICIES,
  SPLITTABLE_FORMATS,
  DEFAULT_REFER_DATASET,
  hasRefs,
  splitByMismatch,
  type DatasetFormat,
  type ExportFormat,
  type ReferDataset,
} from './formats.ts';
import type { Rle } from './rle.ts';

export * from './api-names.ts';
export type { CaptionTrace, CropType, DecodingSetting, TraceComparison, TraceStep } from './caption.ts';
export type { DecodingMethod } from './results.ts';
export type { Settings } from './settings.ts';

// ---------------------------------------------------------------------------------------------------------------
// Parameter schemas
// ---------------------------------------------------------------------------------------------------------------

const MAX_PATH = 4096;

/** An absolute file-system path (POSIX `/…`, Windows `C:\…` or UNC `\\…`); NUL bytes refused. */
export const AbsolutePathSchema = z
  .string()
  .min(1, 'a path is required')
  .max(MAX_PATH, `a path is at most ${MAX_PATH} characters`)
  .refine((value) => !value.includes('\0'), 'a path may not contain NUL bytes')
  .refine((value) => /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(value), 'the path must be absolute');

/** An identifier minted by the engine (image, mask, candidate, run): short, no path characters. */
export const IdSchema = z
  .string()
  .min(1, 'an id is required')
  .max(200, 'an id is at most 200 characters')
  .regex(/^[A-Za-z0-9_.:#-]+$/, 'an id holds only letters, digits and _ . : # -')
  .refine((value) => !value.includes('..'), 'an id may not contain ".."');

const Empty = z.strictObject({});

/** Which images a gallery page shows: all, finished, finished with candidates not reviewed, pending, failed. */
export const GALLERY_FILTERS = ['all', 'done', 'unreviewed', 'pending', 'failed'] as const;
/** The order of a gallery page: the project's list, file name, or most kept candidates at τ first. */
export const GALLERY_ORDERS = ['project', 'name', 'kept'] as const;
/** The most images one `project:images` page (or one `filter:counts` request) names. */
export const IMAGE_PAGE_MAX = 1000;
const finite = z.number().finite();
const pixel = finite.min(0, 'pixel coordinates are ≥ 0').max(100_000, 'pixel coordinates are ≤ 100000');

/** One prompt point in image pixels; label 1 = foreground, 0 = background (SAM's point labels). */
export const PromptPointSchema = z.strictObject({
  x: pixel,
  y: pixel,
  label: z.union([z.literal(0), z.literal(1)]),
});

/** A prompt box in image pixels, XYXY. */
export const PromptBoxSchema = z
  .strictObject({ x0: pixel, y0: pixel, x1: pixel, y1: pixel })
  .refine((box) => box.x1 > box.x0 && box.y1 > box.y0, 'box: x1 > x0 and y1 > y0 are required');

/** A point/box prompt for the segmenter: at least one point or a box. */
export const MaskPromptSchema = z
  .strictObject({
    points: z.array(PromptPointSchema).max(64, 'at most 64 prompt points').default([]),
    box: PromptBoxSchema.optional(),
  })
  .refine(
    (prompt) => prompt.points.length > 0 || prompt.box !== undefined,
    'a prompt needs at least one point or a box',
  );

/** Settings overrides: any subset of the settings; the engine merges them over the current settings. */
export const SettingsPatchSchema = z.record(z.string(), z.unknown());

/** Decoding overrides for re-running one crop in the inspector. */
export const DecodingOverridesSchema = z.strictObject({
  topK: z.number().int().min(1).max(100_000).optional(),
  topP: z.number().gt(0).lte(1).optional(),
  temperature: z.number().gt(0).max(100).optional(),
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  aggregation: z.enum(['mean', 'weighted-sum']).optional(),
});

export {
  EXPORT_FORMATS,
  hasRefs,
  REFER_DATASETS,
  SINGLE_MASK_POLICIES,
  SPLIT_BY,
  SPLITTABLE_FORMATS,
  type ExportFormat,
  type ReferDataset,
  type SingleMaskOption,
} from './formats.ts';

/** What a folder dialog is for: it picks the dialog's title and remembers the folder's role. */
export const FOLDER_PURPOSES = ['images', 'project', 'export', 'models'] as const;
export type FolderPurpose = (typeof FOLDER_PURPOSES)[number];

/**
 * A Redis URL of a queued run: `redis://[:password@]host:port/db`, or `rediss://…` for TLS. The engine checks the
 * rest (host, database number) and reaches Redis once before the run starts.
 */
export const RedisUrlSchema = z
  .string()
  .max(2048, 'a queue URL is at most 2048 characters')
  .regex(
    /^rediss?:\/\/[^\s\0]+$/,
    'the queue URL must be redis://[:password@]host:port/db, or rediss://… for TLS',
  );

/** A queue name: several projects can share one Redis, each on a queue of its own. */
export const QueueNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'a queue name is 1–100 letters, digits, _ . or -');

const count = z.number().int().min(0);

/**
 * Progress of a queued run (`pseudo-ris generate --queue`, or `run:start` with `queue`): the one shape the
 * coordinator reports, the CLI renders, the project's `queue-progress.json` holds (so an app that opens a project
 * another process coordinates shows it) and `run:progress` carries in `queue`. Validated when read from the file.
 */
export const QueueProgressSchema = z.strictObject({
  /** The queue's Redis URL, its password masked (`redis://:***@host:6379/0`). */
  url: z.string().max(2048),
  /** The queue name (`--queue-name`). */
  name: z.string().max(200),
  stage: z.enum(['start', 'running', 'done', 'cancelled']),
  /** Images of the project. */
  total: count,
  /** Images committed, this run and before (failed ones too). */
  done: count,
  /** Of which failed. */
  failed: count,
  /** Committed before this coordinator started. */
  skipped: count,
  /** Jobs waiting for a worker (waiting + delayed + prioritized, all runs of the queue). */
  waiting: count,
  /** Active jobs per worker name (`pseudo-ris worker --name`, default host:pid). */
  active: z.record(z.string().max(300), count),
  /** Workers connected to the queue. */
  workers: count,
  /** Images per minute committed by this coordinator. */
  rate: finite.min(0),
  /** Seconds left at that rate; null before the first commit. */
  etaSeconds: finite.min(0).nullable(),
  /** The coordinating process; `since` is when it took the project's lock (project.lock's `since`). */
  coordinator: z.strictObject({
    pid: count,
    host: z.string().max(300),
    since: z.string().max(64),
  }),
  /** ISO time of this snapshot. */
  updated: z.string().max(64),
});
/** Progress of a queued run; see {@link QueueProgressSchema}. */
export type QueueProgress = z.infer<typeof QueueProgressSchema>;

/** The `export:run` fields that only the formats with refs (RefCOCO, CRIS) take, as the CLI names them. */
const REFS_ONLY_OPTIONS = [
  'dataset',
  'splitBy',
  'splitSeed',
  'cocoNames',
  'appendTo',
  'allowRepeat',
  'keepDuplicates',
] as const;

/**
 * The cross-field rules of `export:run`, those of `pseudo-ris export`: the refcoco/cris options need one of those
 * formats, splitBy must exist for the dataset, CRIS has no refclef setup, and `appendTo` names one export folder, so
 * one of refcoco or cris (the folder's own format, which the exporter checks with its dataset and splitBy).
 */
function checkExportOptions(
  params: {
    formats: readonly ExportFormat[];
    dataset?: ReferDataset;
    splitBy?: string;
    splitSeed?: number;
    cocoNames?: boolean;
    appendTo?: string;
    allowRepeat?: boolean;
    keepDuplicates?: boolean;
    split?: string;
  },
  context: z.RefinementCtx,
): void {
  const withRefs = params.formats.filter(hasRefs);
  if (withRefs.length === 0) {
    for (const name of REFS_ONLY_OPTIONS)
      if (params[name] !== undefined)
        context.addIssue({
          code: 'custom',
          path: [name],
          message: `only for the ${SPLITTABLE_FORMATS.join(' or ')} formats, not ${params.formats.join(', ')}`,
        });
    return;
  }
  const dataset = params.dataset ?? DEFAULT_REFER_DATASET;
  const mismatch = params.splitBy === undefined ? null : splitByMismatch(dataset, params.splitBy);
  if (mismatch)
    context.addIssue({ code: 'custom', path: ['splitBy'], message: `"${params.splitBy}" ${mismatch}` });
  if (dataset === 'refclef' && withRefs.includes('cris'))
    context.addIssue({ code: 'custom', path: ['dataset'], message: CRIS_HAS_NO_REFCLEF });
  const crisSplits =
    withRefs.includes('cris') && dataset !== 'refclef' && params.split !== undefined
      ? crisSplitMismatch(
          crisFolderName(dataset, params.splitBy ?? SPLIT_BY[dataset][0]),
          params.split.split(',').map((part) => part.split('=')[0]),
        )
      : null;
  if (crisSplits) context.addIssue({ code: 'custom', path: ['split'], message: crisSplits });
  if (params.appendTo !== undefined && withRefs.length > 1)
    context.addIssue({
      code: 'custom',
      path: ['appendTo'],
      message: `one export folder takes one format: choose ${withRefs.join(' or ')}, not both`,
    });
}

/** The parameter schema of every request channel. */
export const REQUEST_SCHEMAS = {
  'app:info': Empty,

  'models:list': Empty,
  'models:validate': z.strictObject({ dir: AbsolutePathSchema }),
  'models:addFolder': z.strictObject({ dir: AbsolutePathSchema }),
  'models:use': z.strictObject({ dir: AbsolutePathSchema, forceCpu: z.boolean().default(false) }),
  'models:providers': Empty,

  'project:create': z.strictObject({
    dir: AbsolutePathSchema,
    name: z.string().min(1).max(200).optional(),
    /** An image folder to start with: read before anything is written, so a missing folder creates no project. */
    images: AbsolutePathSchema.optional(),
  }),
  'project:open': z.strictObject({ dir: AbsolutePathSchema }),
  'project:openDemo': z.strictObject({
    dir: AbsolutePathSchema,
    count: z.number().int().min(1, 'count must be ≥ 1').max(500, 'count must be ≤ 500').default(8),
    seed: z.number().int().min(0).max(0xffffffff).default(1),
  }),
  'project:current': Empty,
  'project:addImages': z.strictObject({ folder: AbsolutePathSchema, recursive: z.boolean().default(false) }),
  /**
   * A page of the gallery, computed in the engine (a 100k-image project never ships whole): the images matching
   * `filter`, in `order` (`kept`: most kept at `tau` first, ties in project order), from `offset`, at most `limit`.
   */
  'project:images': z.strictObject({
    offset: z.number().int().min(0).default(0),
    limit: z
      .number()
      .int()
      .min(1)
      .max(IMAGE_PAGE_MAX, `limit must be ≤ ${IMAGE_PAGE_MAX}`)
      .default(IMAGE_PAGE_MAX),
    filter: z.enum(GALLERY_FILTERS).default('all'),
    order: z.enum(GALLERY_ORDERS).default('project'),
    /** τ of the tiles' kept counts and of `order: 'kept'` (default: the project's). */
    tau: TauSchema.optional(),
  }),

  'settings:get': Empty,
  'settings:defaults': z.strictObject({ preset: z.enum(['default', 'reference']).default('default') }),
  'settings:set': z.strictObject({ settings: SettingsPatchSchema }),

  'run:start': z.strictObject({
    settings: SettingsPatchSchema.optional(),
    /** Only these images (default: every image not done with the current settings). */
    imageIds: z.array(IdSchema).max(100_000).optional(),
    /**
     * Redo images already done: each finished image is re-captioned with its current masks (stored minus deleted,
     * plus prompted ones), its new result supersedes the old one (revision + 1), and the image's accept/reject/edit
     * decisions, prompted masks and deletions, which referred to the old candidates and masks, are dropped.
     * Failed images are run again from scratch.
     */
    force: z.boolean().default(false),
    /**
     * Run through a Redis work queue instead of here: this engine becomes the coordinator (as `pseudo-ris generate
     * --queue`) and `pseudo-ris worker` processes anywhere compute the images. Every image not done yet is queued
     * (not with `imageIds` or `force`); a queued run does not pause, and cancelling it stops the coordinator only
     * (queued jobs stay in Redis; the next queued run collects them).
     */
    queue: z
      .strictObject({
        url: RedisUrlSchema,
        name: QueueNameSchema.optional(),
        /** Put each image's bytes in its job (workers without shared storage). */
        shipImages: z.boolean().default(false),
      })
      .optional(),
  }),
  'run:pause': Empty,
  'run:resume': Empty,
  'run:cancel': Empty,
  'run:status': Empty,

  'image:get': z.strictObject({
    imageId: IdSchema,
    /** Longest side of a thumbnail; omitted = the full upright image. */
    maxSide: z.number().int().min(16).max(4096).optional(),
  }),
  'image:masks': z.strictObject({ imageId: IdSchema }),

  'mask:predict': z.strictObject({
    imageId: IdSchema,
    prompt: MaskPromptSchema,
    /** The mask these prompts refine (it is not compared for a near-twin: the refined mask replaces it). */
    refining: IdSchema.optional(),
  }),
  'mask:add': z.strictObject({ imageId: IdSchema, prompt: MaskPromptSchema }),
  'mask:refine': z.strictObject({ maskId: IdSchema, prompt: MaskPromptSchema }),
  'mask:delete': z.strictObject({ maskId: IdSchema }),
  /** Undoes a delete (or the replacement of a refined mask): the mask counts again. */
  'mask:restore': z.strictObject({ maskId: IdSchema }),

  'candidates:list': z.strictObject({ imageId: IdSchema, maskId: IdSchema.optional() }),
  'candidates:decide': z.strictObject({
    candidateId: IdSchema,
    decision: z.enum(['accepted', 'rejected', 'none']),
  }),
  /** One decision for several candidates (a group of equal captions, "accept every kept"): one undo step. */
  'candidates:decideMany': z.strictObject({
    candidateIds: z
      .array(IdSchema)
      .min(1, 'name at least one candidate')
      .max(2000, 'at most 2000 candidates at once'),
    decision: z.enum(['accepted', 'rejected', 'none']),
  }),
  'candidates:edit': z.strictObject({
    candidateId: IdSchema,
    text: z.string().trim().min(1, 'text may not be empty').max(500),
  }),
  'candidates:undo': Empty,

  'filter:scores': Empty,
  /** Kept counts at τ: the project's, and per image for `imageIds` (every finished image when left out). */
  'filter:counts': z.strictObject({
    tau: TauSchema,
    imageIds: z.array(IdSchema).max(IMAGE_PAGE_MAX, `at most ${IMAGE_PAGE_MAX} images at once`).optional(),
  }),

  'inspector:trace': z.strictObject({ candidateId: IdSchema }),
  'inspector:beam': z.strictObject({ candidateId: IdSchema }),
  'inspector:rerun': z.strictObject({
    candidateId: IdSchema,
    overrides: DecodingOverridesSchema.default({}),
  }),
  /**
   * Occlusion attribution of step `step` of a candidate (its tokens teacher-forced): the drop of the token's
   * log-probability per grey patch of a `grid`×`grid` grid over the crop, naive and DCS. `token` defaults to the
   * candidate's own token at that step; the engine checks `step` against the candidate's length.
   */
  'inspector:attribute': z.strictObject({
    candidateId: IdSchema,
    step: z.number().int('step must be an integer').min(0, 'step must be ≥ 0'),
    token: z.number().int('token must be an integer id').min(0, 'token must be ≥ 0').optional(),
    grid: z
      .number()
      .int('grid must be an integer')
      .min(2, 'grid must be 2–16 patches per side')
      .max(16, 'grid must be 2–16 patches per side')
      .default(8),
  }),

  'report:get': z.strictObject({ tau: TauSchema.optional() }),
  'export:run': z
    .strictObject({
      formats: z.array(z.enum(EXPORT_FORMATS)).min(1, 'choose at least one format'),
      /** Destination folder; default `<project>/exports`. */
      dest: AbsolutePathSchema.optional(),
      tau: TauSchema.optional(),
      /**
       * RefCOCO/CRIS: the split of every ref (`train`) or a split by image, `train=0.8,val=0.1,test=0.1` (names refer.py
       * accepts: train, val, test, testA, testB, testC; shares sum to 1; seeded by the project's seed).
       */
      split: z
        .string()
        .regex(
          /^(?:[A-Za-z]{1,10}|[A-Za-z]{1,10}=[0-9.]{1,12}(?:,[A-Za-z]{1,10}=[0-9.]{1,12}){0,5})$/,
          'split is a name such as "train" or shares by image such as "train=0.8,val=0.1,test=0.1"',
        )
        .default('train'),
      // The options of `pseudo-ris export` (src/cli/commands/export.ts), with its defaults when omitted.
      /** RefCOCO/CRIS: the dataset name refer.py reads (default refcocog). */
      dataset: z
        .enum(REFER_DATASETS, { error: `must be one refer.py accepts: ${REFER_DATASETS.join(', ')}` })
        .optional(),
      /** RefCOCO/CRIS: the splitBy of `refs(<splitBy>).p` (SPLIT_BY of the dataset; default its first). */
      splitBy: z.string().max(20).optional(),
      /** RefCOCO/CRIS: seed of the split by image (default: the project's seed). */
      splitSeed: z.number().int('must be an integer').optional(),
      /** RefCOCO/CRIS: name images `COCO_train2014_%012d.jpg` after their image id. */
      cocoNames: z.boolean().optional(),
      /** Images with one mask (every format; default `project`: the project's filter setting). */
      singleMask: z
        .enum(SINGLE_MASK_POLICIES, { error: `must be one of ${SINGLE_MASK_POLICIES.join(', ')}` })
        .optional(),
      /** RefCOCO/CRIS: add the project to the export in this folder (fresh ids, no file-name clash) instead of `dest`. */
      appendTo: AbsolutePathSchema.optional(),
      /** RefCOCO/CRIS with `appendTo`: add images the export already holds (same content hash); refused otherwise. */
      allowRepeat: z.boolean().optional(),
      /** RefCOCO/CRIS: every kept caption of a mask, repeats included (the released loader's weights). */
      keepDuplicates: z.boolean().optional(),
      /** The caption text written (default the project's `filter.captionText`): trimmed, or the released code's. */
      captionText: z.enum(['trimmed', 'released']).optional(),
      /**
       * Replace a non-empty export folder whole (`<dest>/<format>`); without it a chosen destination's format folder
       * must be new or empty. The default destination (`<project>/exports`) belongs to the project and is replaced.
       */
      overwrite: z.boolean().optional(),
    })
    .superRefine(checkExportOptions),

  'dialog:chooseFolder': z.strictObject({
    purpose: z.enum(FOLDER_PURPOSES),
    title: z.string().max(200).optional(),
  }),
} satisfies Record<RequestChannel, z.ZodType>;

// ---------------------------------------------------------------------------------------------------------------
// Result types
// ---------------------------------------------------------------------------------------------------------------

/** Where the UI runs and what it can do there. */
export interface AppInfo {
  mode: 'electron' | 'served';
  version: string;
  /** Native folder dialogs exist (Electron only); in served mode the UI asks for typed paths. */
  nativeDialogs: boolean;
  /** A suggested folder for new projects (e.g. the served mode's working folder). */
  defaultProjectDir: string;
  /** Served mode: projects, image folders and exports must lie under one of these. Electron: empty (no limit). */
  allowedRoots: string[];
}

/** A model pack as the models panel shows it. */
export interface PackView extends PackSummary {
  /** The pack the engine uses now. */
  active: boolean;
  /** Where it was found: bundled resources, or a folder the user added. */
  origin: 'resources' | 'user';
}

/** Which provider each role of the active pack runs on. */
export interface ProvidersView {
  pack: string | null;
  demo: boolean;
  /** Execution providers that ran a probe graph on this machine (not merely bundled in the build). */
  available: string[];
  /** Bundled providers that cannot run here, each with the reason (no GPU adapter, libraries not installed …). */
  unavailable: { name: string; reason: string }[];
  roles: ProviderInfo[];
}

/** The open project. */
export interface ProjectInfo {
  dir: string;
  name: string;
  imageFolders: string[];
  imageCount: number;
  /** The model pack this project runs with. */
  pack: { name: string; dir: string; demo: boolean } | null;
  settings: Settings;
  /**
   * What opening the project found and how it was handled, each once: a damaged results line skipped, an index
   * rebuilt, a folder that cannot be written (then the project is read-only: it reports and exports, runs refuse).
   */
  notes: string[];
}

/** Processing state of one image. */
export type ImageStatus = 'pending' | 'running' | 'done' | 'error';

/** One image of the project, for the gallery. */
export interface ImageSummary {
  id: string;
  /** File name relative to its image folder. */
  file: string;
  folder: string;
  width: number | null;
  height: number | null;
  status: ImageStatus;
  /** Why the image failed (unreadable, too large, corrupt, …). */
  error: { code: string; message: string } | null;
  masks: number;
  candidates: number;
  /** Candidates kept at τ (the page's, default the project's), review applied. */
  kept: number;
  /** Candidates the review accepted or rejected. */
  reviewed: number;
  /**
   * Only on the `run:image` event that commits a re-caption (`run:start` with `force`): each mask id of the image
   * before it (stored `image:k` and prompted `image:u<k>`) → the id of the same mask in the new revision, or null
   * where the mask was deleted. The UI keeps its selection and open views on the right mask with it.
   */
  maskIds?: Record<string, string | null>;
}

/** Image bytes for display (PNG/JPEG), upright. */
export interface ImageBytes {
  width: number;
  height: number;
  mime: 'image/png' | 'image/jpeg' | 'image/webp';
  // in: encoded image file bytes
  bytes: Uint8Array;
}

/** A mask of an image with its scores and why it was selected. */
export interface MaskView {
  id: string;
  imageId: string;
  /** Position among the image's masks (0-based); candidates refer to other masks by id. */
  index: number;
  /** Box in pixels, XYWH. */
  bbox: [number, number, number, number];
  area: number;
  rle: Rle;
  /** SAM predicted IoU and stability score; null for imported masks. */
  predictedIou: number | null;
  stability: number | null;
  source: 'generated' | 'prompt' | 'imported';
  /** Why the selector kept it (e.g. "rank 2 by score, overlap 0.12"). */
  selectionReason: string;
  candidates: number;
  kept: number;
}

/** A mask proposed from a prompt, not yet saved. */
export interface MaskPreview {
  imageId: string;
  bbox: [number, number, number, number];
  area: number;
  rle: Rle;
  predictedIou: number;
  stability: number;
  /**
   * The shown mask this one nearly repeats (IoU ≥ 0.9), or null: twins split their object's candidates between
   * them and both lose them, so the workspace asks whether to replace it, keep both or cancel.
   */
  duplicateOf: { maskId: string; iou: number } | null;
}

/**
 * One referring-expression candidate of a mask, with its scores (DESIGN.md §5 Scores). `text` is the generated text;
 * edits are kept apart in `editedText`.
 */
export interface CandidateView extends Pick<
  CandidateResult,
  'crop' | 'cropKey' | 'setting' | 'settingKey' | 'method' | 'text'
> {
  id: string;
  maskId: string;
  imageId: string;
  editedText: string | null;
  /** Uniqueness, correctness and distinctiveness; null where no ratio exists (single-mask image). */
  uos: number | null;
  cos: number | null;
  dos: number | null;
  /** The image has one mask: the single-mask policy decides. */
  singleMask: boolean;
  /** The other mask this candidate points at most (the arg-max of the DoS denominator). */
  confusedWith: string | null;
  /** Comparison-only candidates (plain sampling) are scored but never exported. */
  exportable: boolean;
  decision: 'accepted' | 'rejected' | null;
}

/** Result of an undo: which candidate changed back, or null when nothing was left to undo. */
export interface UndoResult {
  candidate: CandidateView | null;
  /** Every candidate the undone step changed back (several after `candidates:decideMany`; empty when none). */
  candidates: CandidateView[];
}

/**
 * What the τ slider draws, whatever the project's size (the candidates themselves stay in the engine: each τ move
 * asks `filter:counts`): the project's τ, its exportable candidates and a histogram of their DoS.
 */
export interface DosScores {
  tau: number;
  /** Exportable candidates of finished images. */
  candidates: number;
  /** Finished images. */
  images: number;
  /** DoS histogram: `counts[i]` candidates in [i·width, (i+1)·width) (below 0 in the first, beyond in the last). */
  histogram: { width: number; counts: number[] };
}

/** One page of the gallery (`project:images`). */
export interface ImagePage {
  /** Images matching the page's filter. */
  total: number;
  offset: number;
  images: ImageSummary[];
  /** τ of the tiles' kept counts. */
  tau: number;
  /** Every image of the project by status (the top bar's counts). */
  counts: Record<ImageStatus, number>;
}

/** Kept counts at one τ, computed from stored scores without re-decoding. */
export interface KeptCounts {
  tau: number;
  candidates: number;
  kept: number;
  masks: number;
  /** Per image: exportable candidates, kept at τ, and reviewed (accepted or rejected; the tiles' review bar). */
  perImage: Record<string, { candidates: number; kept: number; reviewed: number }>;
}

/** The decoding trace of one candidate, with the ids of the masks its `maskIndex` fields refer to. */
export interface InspectorTrace {
  candidateId: string;
  /** `trace.target.maskIndex` and `trace.steps[].others[].maskIndex` index this list of mask ids. */
  maskIds: string[];
  trace: CaptionTrace;
}

/**
 * The beam view of one beam-search candidate: its crop's search re-run with tracing. The engine checks that the
 * replayed winner is the stored candidate token for token before answering.
 */
export interface InspectorBeamTrace {
  candidateId: string;
  /** `trace.target.maskIndex` indexes this list of mask ids. */
  maskIds: string[];
  trace: BeamTrace;
  /** The score stored with the candidate (null for results written before scores were stored). */
  storedScore: number | null;
}

/** Naive (plain top-k/top-p) vs DCS decoding of the same crop with the same random stream, after overrides. */
export interface InspectorRerun {
  candidateId: string;
  maskIds: string[];
  naive: CaptionTrace;
  dcs: CaptionTrace;
  /** Step-by-step comparison, left = naive, right = DCS, with the first divergence. */
  comparison: TraceComparison;
}

/** The occlusion attribution of one step of a candidate, with its candidate id (engine: pipeline/attribute.ts). */
export interface InspectorAttribution extends OcclusionAttribution {
  candidateId: string;
}

/** A histogram: `counts[i]` values fall in [edges[i], edges[i+1]). */
export interface HistogramView {
  edges: number[];
  counts: number[];
}

/** The quality report (DESIGN.md §7). */
export interface ReportView {
  tau: number;
  images: number;
  imagesFailed: number;
  masks: number;
  candidates: number;
  kept: number;
  keptShare: number;
  /** Mean scores by decoding method. */
  means: Record<
    DecodingMethod,
    { count: number; uos: number | null; cos: number | null; dos: number | null }
  >;
  dosHistogram: Record<DecodingMethod, HistogramView>;
  keptShareVsTau: { tau: number[]; share: number[] };
  vocabularySize: number;
  /** Shapes world only: share of kept expressions the oracle says identify their object. */
  oracle: { identified: number; total: number; rate: number } | null;
  demo: boolean;
}

/** Files an export wrote. */
export interface ExportResult {
  dest: string;
  files: string[];
  expressions: number;
  /**
   * RefCOCO/CRIS: images, refs and expressions per split of each such format written, over its whole export folder
   * (`folder`; the parts appended to included). Empty when neither format was chosen.
   */
  splits: ExportSplitCount[];
}

/** One split of a RefCOCO/CRIS export: what it holds over the whole export folder. */
export interface ExportSplitCount {
  format: DatasetFormat;
  folder: string;
  name: string;
  images: number;
  refs: number;
  expressions: number;
}

/** Run state. */
export interface RunStatus {
  runId: string;
  state: 'running' | 'paused' | 'cancelling';
  imagesDone: number;
  imagesFailed: number;
  imagesTotal: number;
  /**
   * Queued runs only: who coordinates it. `here`: this engine (`run:start` with `queue`); `elsewhere`: another
   * process holding the project's lock (e.g. `pseudo-ris generate --queue` in a terminal), whose progress this engine
   * only shows: pause, cancel and new runs are refused until it ends (stop it where it runs). The image counts of a
   * queued run are the project's (committed before it included), as the coordinator reports them.
   */
  coordinator?: 'here' | 'elsewhere';
}

// ---------------------------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------------------------

/** Progress of a run (`run:progress`). */
export interface RunProgress extends RunStatus {
  /** The image being processed and its stage. */
  imageId: string | null;
  stage: EngineRunProgress['stage'];
  /** Progress inside the current image's stage (see the engine's `RunProgress.within`); null between images. */
  within: EngineRunProgress['within'] | null;
  imagesSkipped: number;
  /** Images per minute in this run; seconds left at that rate (null before the first image). */
  rate: number;
  etaSeconds: number | null;
  elapsedSeconds: number;
  /** A queued run's queue: waiting, active per worker, done, failed, images/min (`imagesDone` counts this run). */
  queue?: QueueProgress;
}

/** A run ended (`run:finished`). */
export interface RunFinished {
  runId: string;
  outcome: 'completed' | 'cancelled' | 'failed';
  imagesDone: number;
  imagesFailed: number;
  seconds: number;
  error: string | null;
}

/** Progress of an export (`export:progress`). */
export interface ExportProgress {
  format: ExportFormat;
  done: number;
  total: number;
}

/** The payload of every event channel. */
export interface ApiEventPayloads {
  'run:progress': RunProgress;
  'run:image': ImageSummary;
  'run:finished': RunFinished;
  'export:progress': ExportProgress;
  'project:changed': ProjectInfo | null;
}

/** The result type of every request channel. */
export interface ApiResults {
  'app:info': AppInfo;
  'models:list': PackView[];
  'models:validate': PackView;
  'models:addFolder': PackView[];
  'models:use': ProvidersView;
  'models:providers': ProvidersView;
  'project:create': ProjectInfo;
  'project:open': ProjectInfo;
  'project:openDemo': ProjectInfo;
  'project:current': ProjectInfo | null;
  'project:addImages': { added: number; skipped: number; project: ProjectInfo };
  'project:images': ImagePage;
  'settings:get': Settings;
  'settings:defaults': Settings;
  'settings:set': Settings;
  'run:start': RunStatus;
  'run:pause': RunStatus | null;
  'run:resume': RunStatus | null;
  'run:cancel': RunStatus | null;
  'run:status': RunStatus | null;
  'image:get': ImageBytes;
  'image:masks': MaskView[];
  'mask:predict': MaskPreview;
  'mask:add': MaskView;
  'mask:refine': MaskView;
  'mask:delete': { deleted: string };
  'mask:restore': { restored: string };
  'candidates:list': CandidateView[];
  'candidates:decide': CandidateView;
  'candidates:decideMany': CandidateView[];
  'candidates:edit': CandidateView;
  'candidates:undo': UndoResult;
  'filter:scores': DosScores;
  'filter:counts': KeptCounts;
  'inspector:trace': InspectorTrace;
  'inspector:beam': InspectorBeamTrace;
  'inspector:rerun': InspectorRerun;
  'inspector:attribute': InspectorAttribution;
  'report:get': ReportView;
  'export:run': ExportResult;
  'dialog:chooseFolder': string | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Derived types
// ---------------------------------------------------------------------------------------------------------------

type Schemas = typeof REQUEST_SCHEMAS;
/** What a caller sends on `C` (fields with defaults may be omitted). */
export type Params<C extends RequestChannel> = z.input<Schemas[C]>;
/** What a handler receives on `C` after validation (defaults filled in). */
export type ParsedParams<C extends RequestChannel> = z.output<Schemas[C]>;
/** What a request on `C` resolves to. */
export type Result<C extends RequestChannel> = ApiResults[C];
/** The payload of event `E`. */
export type EventPayload<E extends EventChannel> = ApiEventPayloads[E];

type MethodFunction<C extends RequestChannel> =
  Record<never, never> extends Params<C>
    ? (params?: Params<C>) => Promise<Result<C>>
    : (params: Params<C>) => Promise<Result<C>>;

/** The renderer's API: a named function per request, a named listener per event (returns its unsubscribe). */
export type Api = { [M in ApiMethodName]: MethodFunction<(typeof API_METHODS)[M]> } & {
  [L in ApiListenerName]: (listener: (payload: EventPayload<(typeof API_EVENTS)[L]>) => void) => () => void;
};

/** Context of one request inside the engine: cancellation and event emission. */
export interface RequestContext {
  /** Aborted when the caller goes away (window closed, socket dropped) or cancels. */
  signal: AbortSignal;
  emit<E extends EventChannel>(event: E, payload: EventPayload<E>): void;
}

/** What an engine facade implements: one handler per request channel, receiving validated parameters. */
export type ApiHandlers = {
  [C in RequestChannel]: (params: ParsedParams<C>, context: RequestContext) => Promise<Result<C>>;
};

// ---------------------------------------------------------------------------------------------------------------
// Errors and validation
// ---------------------------------------------------------------------------------------------------------------

/** Error kinds that cross the boundary. */
export type ApiErrorCode =
  | 'invalid-params'
  | 'unknown-channel'
  | 'forbidden'
  | 'not-found'
  | 'no-project'
  | 'busy'
  | 'cancelled'
  | 'unsupported'
  | 'engine';

/** An error as it travels over IPC/WebSocket. */
export interface ApiErrorData {
  code: ApiErrorCode;
  message: string;
}

/** An API error: a code the UI can branch on and a message a person can read. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  constructor(code: ApiErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }

  /** Plain data for the wire. */
  toData(): ApiErrorData {
    return { code: this.code, message: this.message };
  }

  /** An ApiError from anything thrown; unknown errors become `engine` errors with their message. */
  static from(error: unknown): ApiError {
    if (error instanceof ApiError) return error;
    if (isApiErrorData(error)) return new ApiError(error.code, error.message);
    const message = error instanceof Error ? error.message : String(error);
    return new ApiError('engine', message);
  }
}

const ERROR_CODES: readonly ApiErrorCode[] = [
  'invalid-params',
  'unknown-channel',
  'forbidden',
  'not-found',
  'no-project',
  'busy',
  'cancelled',
  'unsupported',
  'engine',
];

/** True for `{ code, message }` error data. */
export function isApiErrorData(value: unknown): value is ApiErrorData {
  if (!value || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  return typeof record.message === 'string' && ERROR_CODES.includes(record.code as ApiErrorCode);
}

/**
 * Validates the parameters of a request; throws `ApiError('invalid-params')` naming the channel and every bad field,
 * or `ApiError('unknown-channel')` for a channel outside the contract.
 */
export function parseParams<C extends RequestChannel>(channel: C, params: unknown): ParsedParams<C> {
  const schema = (REQUEST_SCHEMAS as Record<string, z.ZodType>)[channel];
  if (!schema || !Object.hasOwn(REQUEST_SCHEMAS, channel)) {
    throw new ApiError(
      'unknown-channel',
      `unknown request channel ${JSON.stringify(String(channel)).slice(0, 80)}`,
    );
  }
  const result = schema.safeParse(params === undefined ? {} : params);
  if (!result.success) {
    const issues = result.error.issues.map(
      (issue) => `${issue.path.length ? issue.path.join('.') : 'params'}: ${issue.message}`,
    );
    throw new ApiError('invalid-params', `${channel}: invalid parameters: ${issues.join('; ')}`);
  }
  return result.data as ParsedParams<C>;
}

/** Validates a settings patch merged over `base`; throws `invalid-params` naming every bad field. */
export function mergeSettings(base: Settings, patch: Record<string, unknown> | undefined): Settings {
  if (!patch) return base;
  const merged = deepMerge(base as unknown as Record<string, unknown>, patch);
  const result = SettingsSchema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map(
      (issue) => `settings.${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new ApiError('invalid-params', `invalid settings: ${issues.join('; ')}`);
  }
  return result.data;
}

function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    const current = out[key];
    if (isPlainObject(value) && isPlainObject(current)) out[key] = deepMerge(current, value);
    else out[key] = value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Client factory
// ---------------------------------------------------------------------------------------------------------------

/** How a client reaches the engine: Electron IPC (preload) or the served mode's WebSocket. */
export interface ApiTransport {
  /** Sends one request; rejects with the engine's error (data or ApiError). */
  request(channel: RequestChannel, params: unknown): Promise<unknown>;
  /** Subscribes to one event channel; returns the unsubscribe function. */
  listen(event: EventChannel, listener: (payload: unknown) => void): () => void;
}

/**
 * Builds the named-function `Api` over a transport. Errors arrive as `ApiError`s. Parameters are validated here
 * too, so a UI bug shows as a clear message before anything is sent (the receiving side validates again).
 */
export function createApiClient(transport: ApiTransport): Api {
  const api: Record<string, unknown> = {};
  for (const [name, channel] of Object.entries(API_METHODS) as [ApiMethodName, RequestChannel][]) {
    api[name] = async (params?: unknown) => {
      parseParams(channel, params);
      try {
        return await transport.request(channel, params ?? {});
      } catch (error) {
        throw ApiError.from(error);
      }
    };
  }
  for (const [name, event] of Object.entries(API_EVENTS) as [ApiListenerName, EventChannel][]) {
    api[name] = (listener: (payload: unknown) => void) => {
      if (typeof listener !== 'function') throw new TypeError(`${name}: the listener must be a function`);
      return transport.listen(event, listener);
    };
  }
  return Object.freeze(api) as unknown as Api;
}
