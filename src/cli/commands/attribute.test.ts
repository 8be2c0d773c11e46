import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoPack } from '../../engine/demo/index.ts';
import { openStages, Project, type PackStages } from '../../engine/pipeline/index.ts';
import { runDemoProject } from '../../engine/testing/fixtures.ts';
import type { OcclusionAttribution } from '../../shared/attribution.ts';
import { runCliInProcess } from '../in-process.ts';

let stages: PackStages;
let project: string;

beforeAll(async () => {
  stages = await openStages(await ensureDemoPack());
  project = await runDemoProject('pseudo-ris-cli-attribute-', stages, { images: 1, sceneSeed: 31, seed: 4 });
});
afterAll(async () => {
  await stages?.dispose();
});

describe('pseudo-ris attribute', () => {
  it('prints the drops as JSON and as two grids whose numbers are the JSON ones', async () => {
    const result = [...Project.open(project).results()][0]!;
    const candidate = result.candidates.find((c) => c.method === 'dcs')!;
    const args = [
      'attribute',
      project,
      '--image',
      '1',
      '--mask',
      String(candidate.mask),
      '--candidate',
      String(candidate.index),
      '--step',
      '1',
      '--grid',
      '3',
    ];
    const json = await runCliInProcess([...args, '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const attribution = JSON.parse(json.stdout) as OcclusionAttribution;
    expect(attribution.grid).toBe(3);
    expect(attribution.token).toBe(candidate.tokens[2]);
    expect(attribution.boxes.map((b) => b.width)).toEqual([75, 74, 75, 75, 74, 75, 75, 74, 75]);
    expect(attribution.naive.drop).toHaveLength(9);

    const table = await runCliInProcess(args);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toContain(`→ token ${candidate.tokens[2]} "${attribution.tokenText.trim()}"`);
    expect(lines).toHaveLength(1 + 2 * 4);
    expect(lines[1]).toBe(`naive: log p = ${attribution.naive.base!.toFixed(4)}`);
    expect(lines[2]!.trim().split(/\s+/)).toEqual(
      attribution.naive.drop.slice(0, 3).map((d) => d!.toFixed(4)),
    );
    expect(lines[5]).toMatch(/^DCS \(/);
    expect(lines[8]!.trim().split(/\s+/)).toEqual(attribution.dcs.drop.slice(6, 9).map((d) => d!.toFixed(4)));
  });

  it('refuses a grid outside 2–16 and a step past the caption', async () => {
    const base = ['attribute', project, '--image', '1', '--mask', '0', '--candidate', '0'];
    const grid = await runCliInProcess([...base, '--step', '0', '--grid', '17']);
    expect(grid).toMatchObject({
      code: 1,
      stderr: 'pseudo-ris: --grid must be 2–16 patches per side, got 17\n',
    });
    const step = await runCliInProcess([...base, '--step', '99']);
    expect(step.code).toBe(1);
    expect(step.stderr).toMatch(/^pseudo-ris: step must be an integer in 0\.\.\d+/);
  });
});
