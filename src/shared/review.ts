/**
 * The one schema of a project's review sidecar (`review.json`, formats.ts `REVIEW_FILE`): accept/reject decisions,
 * caption edits, masks added with prompts, deleted masks and the result revision each image's entries refer to.
 * The app's review store writes and reads it; the CLI's `export`, `report` and `eval` read it through the same
 * {@link parseReviewFile}, so a wrong-shaped file is refused everywhere with the same message. Pure: no file access.
 */
import { z } from 'zod';

const RleSchema = z.object({ size: z.tuple([z.number(), z.number()]), counts: z.string() });

/** A mask the user added with a prompt, as review.json stores it. */
const UserMaskSchema = z.object({
  rle: RleSchema,
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  area: z.number(),
  predictedIou: z.number(),
  stability: z.number(),
});

/** The schema of `review.json` (every field may be absent: it then starts empty). */
export const ReviewFileSchema = z.object({
  /** Per candidate id `image:mask:candidate`. */
  decisions: z.record(z.string(), z.enum(['accepted', 'rejected'])).default({}),
  /** Per candidate id, the reviewer's text. */
  edits: z.record(z.string(), z.string()).default({}),
  /** Masks added with prompts, per image id. */
  userMasks: z.record(z.string(), z.array(UserMaskSchema)).default({}),
  /** Mask ids the user deleted. */
  deletedMasks: z.array(z.string()).default([]),
  /**
   * Per image id, the result revision the entries above refer to (absent = 0). When a re-caption commits a newer
   * revision, the image's entries are dropped (service/review-store.ts `supersede`).
   */
  revisions: z.record(z.string(), z.number()).default({}),
});

/** The review state of a project, as `review.json` holds it. */
export type ReviewState = z.infer<typeof ReviewFileSchema>;

/** An empty review state. */
export function emptyReview(): ReviewState {
  return { decisions: {}, edits: {}, userMasks: {}, deletedMasks: [], revisions: {} };
}

/** What to do with a refused review file, said in every message. */
const ADVICE = 'move it aside to reset the review';

/**
 * Parses the text of the review file at `path` (named in every message). Throws when it is not JSON, or names each
 * wrong field (`decisions.1:0:0: decision of 1:0:0 is "keep", expected "accepted" or "rejected"`).
 */
export function parseReviewFile(text: string, path: string): ReviewState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${(error as Error).message}); ${ADVICE}`, { cause: error });
  }
  const parsed = ReviewFileSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => {
      const field = issue.path.map(String).join('.') || '(root)';
      if (issue.path.length === 2 && issue.path[0] === 'decisions') {
        const value = (raw as { decisions: Record<string, unknown> }).decisions[String(issue.path[1])];
        return `${field}: decision of ${String(issue.path[1])} is ${JSON.stringify(value)}, expected "accepted" or "rejected"`;
      }
      return `${field}: ${issue.message}`;
    });
    throw new Error(`${path} is not a review file (${fields.join('; ')}); ${ADVICE}`);
  }
  return parsed.data;
}
