import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REVIEW_FILE } from '../../shared/formats.ts';
import { emptyReview, readReview } from './review-store.ts';

const dirs: string[] = [];
function folderWith(text?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'review-store-'));
  dirs.push(dir);
  if (text !== undefined) writeFileSync(join(dir, REVIEW_FILE), text);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('readReview', () => {
  it('answers an empty review when the project has no review.json', () => {
    expect(readReview(folderWith())).toEqual(emptyReview());
  });

  it('fills the fields a review.json leaves out with empty ones', () => {
    const review = readReview(folderWith(JSON.stringify({ decisions: { '1:0:0': 'accepted' } })));
    expect(review).toEqual({ ...emptyReview(), decisions: { '1:0:0': 'accepted' } });
  });

  it('refuses a review.json that is not JSON, naming the file', () => {
    const dir = folderWith('{ nope');
    expect(() => readReview(dir)).toThrow(`${join(dir, REVIEW_FILE)} is not valid JSON`);
  });

  it('refuses a review.json of the wrong shape, naming the file and the bad field', () => {
    const dir = folderWith(JSON.stringify({ decisions: { '1:0:0': 'maybe' }, deletedMasks: 'all' }));
    expect(() => readReview(dir)).toThrow(`${join(dir, REVIEW_FILE)} is not a review file (decisions.1:0:0:`);
    expect(() => readReview(dir)).toThrow(/deletedMasks: .*; move it aside to reset the review$/);
  });
});
