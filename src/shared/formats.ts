// File-level facts of a project folder and its exports, stated once for the engine, the CLI and the page.

/** The dataset formats the exporters write (DESIGN.md §7). */
export const DATASET_FORMATS = ['refcoco', 'cris', 'csv', 'jsonl', 'masks'] as const;
/** One dataset format. */
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** What the app's export offers: the dataset formats plus the run's reproduction record (`repro`). */
export const EXPORT_FORMATS = [...DATASET_FORMATS, 'repro'] as const;
/** One export choice. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The review sidecar's file name in a project folder (decisions, edits, deleted and prompted masks). */
export const REVIEW_FILE = 'review.json';
