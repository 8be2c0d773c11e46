import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REVIEW_FILE } from '../../shared/formats.ts';
import { readReview } from '../../engine/service/review-store.ts';
import { writeTestProject } from '../../engine/testing/project.ts';
import { runCli, type CliRun } from '../run-cli.ts';

let project: string;

function cli(args: string[]): Promise<CliRun> {
  return runCli(args, { timeout: 60_000 });
}

beforeAll(async () => {
  ({ project } = await writeTestProject(mkdtempSync(join(tmpdir(), 'pseudo-ris-cli-report-'))));
});

describe('pseudo-ris report with the review sidecar', () => {
  it("counts the app's review (an accepted candidate below τ is kept) and refuses a wrong-shaped review.json as the app does", async () => {
    const path = join(project, REVIEW_FILE);
    try {
      // 1:0:3 has DoS 1.1 ≤ τ = 1.3: not kept without the review (6 kept), kept once accepted
      writeFileSync(path, JSON.stringify({ decisions: { '1:0:3': 'accepted' } }));
      const good = await cli(['report', project, '--json']);
      expect(good.stderr).toBe('');
      expect(JSON.parse(good.stdout)).toMatchObject({ candidates: 8, kept: 7 });

      writeFileSync(
        path,
        JSON.stringify({ decisions: { '1:0:0': 'keep' }, userMasks: { 1: [{ area: 'big' }] } }),
      );
      const bad = await cli(['report', project]);
      // the app's review store reads the same file with the same reader: the same message, word for word
      const app = (() => {
        try {
          readReview(project);
        } catch (error) {
          return (error as Error).message;
        }
        return 'read without error';
      })();
      expect(app).toContain(
        `${path} is not a review file (decisions.1:0:0: decision of 1:0:0 is "keep", expected "accepted" or "rejected"; userMasks.1.0.rle: `,
      );
      expect(app).toMatch(/; move it aside to reset the review$/);
      expect({ code: bad.code, stdout: bad.stdout, stderr: bad.stderr }).toEqual({
        code: 1,
        stdout: '',
        stderr: `pseudo-ris: ${app}\n`,
      });
    } finally {
      rmSync(path, { force: true });
    }
  }, 120_000);
});
