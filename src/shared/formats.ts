// File-level facts of a project folder and its exports, stated once for the engine, the CLI and the page.

/** The dataset formats the exporters write (DESIGN.md §7). */
export const DATASET_FORMATS = ['refcoco', 'cris', 'csv', 'jsonl', 'masks', 'parquet'] as const;
/** One dataset format. */
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** The formats with refs (RefCOCO, CRIS): they split by image, name a dataset and can be appended to. */
export const SPLITTABLE_FORMATS: readonly DatasetFormat[] = ['refcoco', 'cris'];

/** Whether a format has refs ({@link SPLITTABLE_FORMATS}): the one test of the CLI, the app and the exporters. */
export function hasRefs(format: string): format is DatasetFormat {
  return (SPLITTABLE_FORMATS as readonly string[]).includes(format);
}

/** Dataset names refer.py accepts (research/formats.md §1); the RIS code exits on other names. */
export const REFER_DATASETS = ['refcoco', 'refcoco+', 'refcocog', 'refclef'] as const;
/** One dataset name refer.py accepts. */
export type ReferDataset = (typeof REFER_DATASETS)[number];
/** The dataset the RefCOCO/CRIS exports name when none is given. */
export const DEFAULT_REFER_DATASET: ReferDataset = 'refcocog';

/** The splitBy values each dataset is released with (first = default), i.e. the `refs(<splitBy>).p` names. */
export const SPLIT_BY: Record<ReferDataset, readonly string[]> = {
  refcoco: ['unc', 'google'],
  'refcoco+': ['unc'],
  refcocog: ['umd', 'google'],
  refclef: ['unc', 'berkeley'],
};

/**
 * Why `splitBy` is not one `dataset` is released with — `does not exist for refcoco+: use unc` — or null. The
 * exporter and the `export:run` contract say it after the splitBy they name.
 */
export function splitByMismatch(dataset: ReferDataset, splitBy: string): string | null {
  const allowed = SPLIT_BY[dataset];
  return allowed.includes(splitBy) ? null : `does not exist for ${dataset}: use ${allowed.join(' or ')}`;
}

/** CRIS's layout has no refclef folder (its anns/masks/lmdb cover the three RefCOCO datasets). */
export const CRIS_HAS_NO_REFCLEF = 'CRIS has no refclef setup: export refcoco, refcoco+ or refcocog';

/**
 * The splits CRIS reads per folder (its `tools/data_process.py` and `RefDataset`: refcoco and refcoco+ have
 * train/val/testA/testB, refcocog umd train/val/test, refcocog google train/val). A ref in another split is dropped
 * by `data_process.py` without a word, and `RefDataset(split=…)` raises `KeyError` for it.
 */
export const CRIS_SPLITS: Record<string, readonly string[]> = {
  refcoco: ['train', 'val', 'testA', 'testB'],
  'refcoco+': ['train', 'val', 'testA', 'testB'],
  refcocog_u: ['train', 'val', 'test'],
  refcocog_g: ['train', 'val'],
};

/** CRIS's folder of a dataset and splitBy: refcoco, refcoco+, refcocog_u (umd) or refcocog_g (google). */
export function crisFolderName(dataset: string, splitBy: string): string {
  if (dataset === 'refcocog') return splitBy === 'google' ? 'refcocog_g' : 'refcocog_u';
  return dataset;
}

/**
 * Why CRIS cannot read these split names for its folder — `CRIS has no "test" split for refcoco+ (its splits:
 * train, val, testA, testB)` — or null.
 */
export function crisSplitMismatch(folder: string, names: readonly string[]): string | null {
  const allowed = CRIS_SPLITS[folder];
  const other = names.filter((name) => !allowed?.includes(name));
  if (!allowed || other.length === 0) return null;
  return (
    `CRIS has no ${other.map((n) => `"${n}"`).join(', ')} split for ${folder} ` +
    `(its splits: ${allowed.join(', ')})`
  );
}

/** Split names refer.py's getRefIds accepts (formats.md §1.2). */
export const SPLIT_NAMES = ['train', 'val', 'test', 'testA', 'testB', 'testC'] as const;

/** Single-mask policies an export can apply (`project`: the project's filter setting; `cos-top-half`: the reference loader's top half by CoS). */
export const SINGLE_MASK_POLICIES = ['project', 'keep-all', 'cos-top-half', 'drop'] as const;
/** One single-mask policy of an export. */
export type SingleMaskOption = (typeof SINGLE_MASK_POLICIES)[number];

/** What the app's export offers: the dataset formats plus the run's reproduction record (`repro`). */
export const EXPORT_FORMATS = [...DATASET_FORMATS, 'repro'] as const;
/** One export choice. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The review sidecar's file name in a project folder (decisions, edits, deleted and prompted masks). */
export const REVIEW_FILE = 'review.json';
