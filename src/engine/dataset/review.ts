/**
 * The project's review sidecar (`review.json`, written by the app: decisions, edits, deleted and prompted masks) read
 * from a project folder by its one schema (shared/review.ts), for the exporters, the CLI's `report` and `eval`, and
 * the app's review store alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REVIEW_FILE } from '../../shared/formats.ts';
import { parseReviewFile, type ReviewState } from '../../shared/review.ts';

export { REVIEW_FILE } from '../../shared/formats.ts';

/**
 * The review of a project folder, or null when it has none. Throws naming the file (and each wrong field) when it is
 * not valid JSON or not a review file (shared/review.ts `parseReviewFile`).
 */
export function readProjectReview(projectDir: string): ReviewState | null {
  const path = join(projectDir, REVIEW_FILE);
  if (!existsSync(path)) return null;
  return parseReviewFile(readFileSync(path, 'utf8'), path);
}
