/**
 * Datasets out of a project: exports, the review sidecar, the report, evaluation against ground truth, pickle.
 *
 * The stage's public surface: other stages import it only through this file (eslint.config.js, stage fences).
 */
export * from './evaluate.ts';
export * from './export.ts';
export * from './pickle.ts';
export * from './report.ts';
export * from './review.ts';
