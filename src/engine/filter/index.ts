/**
 * Distinctiveness filtering (DESIGN.md §5 Scores): CLIP scores UoS / CoS / DoS and the engine's side of the keep rule.
 *
 * The stage's public surface: other stages import it only through this file (eslint.config.js, stage fences).
 */
export * from './decide.ts';
export * from './head-noun.ts';
export * from './score-image.ts';
export * from './scores.ts';
