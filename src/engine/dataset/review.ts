/**
 * The project's review sidecar (`review.json`, written by the app: decisions, edits, deleted and prompted masks) as
 * the exporters and the report read it, so the CLI's `export` and `report` apply the same review as the app.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReviewInput } from '../../shared/decide.ts';
import { REVIEW_FILE } from '../../shared/formats.ts';

export { REVIEW_FILE } from '../../shared/formats.ts';

/** The review of a project folder, or null when it has none. Throws naming the file when it is not a review. */
export function readProjectReview(projectDir: string): ReviewInput | null {
  const path = join(projectDir, REVIEW_FILE);
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(
      `${path} is not valid JSON (${(error as Error).message}); move it aside to export without the review`,
      { cause: error },
    );
  }
  const record = (raw ?? {}) as Partial<Record<keyof ReviewInput, unknown>>;
  const isRecord = (value: unknown) =>
    value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value));
  if (
    typeof raw !== 'object' ||
    raw === null ||
    !isRecord(record.decisions) ||
    !isRecord(record.edits) ||
    (record.deletedMasks !== undefined && !Array.isArray(record.deletedMasks))
  ) {
    throw new Error(
      `${path} is not a review file: expected { decisions: {…}, edits: {…}, deletedMasks: […] }`,
    );
  }
  for (const [id, decision] of Object.entries((record.decisions ?? {}) as Record<string, unknown>)) {
    if (decision !== 'accepted' && decision !== 'rejected')
      throw new Error(
        `${path}: decision of ${id} is ${JSON.stringify(decision)}, expected "accepted" or "rejected"`,
      );
  }
  return {
    decisions: (record.decisions ?? {}) as ReviewInput['decisions'],
    edits: (record.edits ?? {}) as ReviewInput['edits'],
    deletedMasks: (record.deletedMasks ?? []) as string[],
  };
}
