import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng, renderScene } from '../../engine/demo/index.ts';
import { readMaskPng } from '../../engine/image/mask.ts';
import { runCli, type CliRun } from '../run-cli.ts';

const pack = resolve(import.meta.dirname, '../../../resources/models/demo');
let root: string;

function cli(args: string[]): Promise<CliRun> {
  return runCli(args, { timeout: 110_000, maxBuffer: 64 * 1024 * 1024 });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pseudo-ris-masks-'));
  await writeFile(join(root, 'scene.png'), await encodePng(renderScene(7, 9).image));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pseudo-ris masks', () => {
  it('writes the selected masks as PNGs and every proposal as JSON', async () => {
    const out = join(root, 'out');
    const { code, stdout, stderr } = await cli([
      'masks',
      join(root, 'scene.png'),
      '--models',
      pack,
      '--points-per-side',
      '6',
      '--out',
      out,
      '--json',
    ]);
    expect(stderr).not.toMatch(/pseudo-ris:/);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      width: number;
      height: number;
      preset: string;
      stats: { decoderRuns: number; points: number };
      sessions: Array<{ role: string; openMilliseconds: number }>;
      prompts: { path: string; batch: { size: number; source: string; reason: string } };
      selected: Array<{ index: number; id: number }>;
      proposals: Array<{
        id: number;
        kept: boolean;
        reason: string;
        rle: { size: number[]; counts: string };
      }>;
    };
    expect(report.preset).toBe('reference');
    expect(report.stats.points).toBe(36);
    // the demo pack's batched decoder: ⌈36 / B⌉ runs for the batch size B ∈ {1, 4, 16, 64} measured at start
    expect([36, 9, 3, 1]).toContain(report.stats.decoderRuns);
    // the choice and why: fewest runs within 5 % of the fastest total for the 36 prompts of the call
    expect(report.prompts.path).toBe('batched');
    expect(report.prompts.batch.source).toBe('measured');
    expect(report.stats.decoderRuns).toBe(Math.ceil(36 / report.prompts.batch.size));
    expect(report.prompts.batch.reason).toContain('for 36 prompts (predicted 1: 36 runs');
    // lazy stages: masks opens the segmenter's sessions only
    expect(report.sessions.map((s) => s.role).sort()).toEqual([
      'segmenter.decoder',
      'segmenter.decoderBatched',
      'segmenter.encoder',
    ]);
    expect(report.proposals.length).toBeGreaterThan(0);
    expect(report.proposals.every((p) => p.reason.length > 0 && p.rle.size[0] === report.height)).toBe(true);
    const files = (await readdir(join(out, 'scene'))).sort();
    expect(files).toEqual([...report.selected.map((s) => `${s.index}.png`), 'proposals.json'].sort());
    const first = await readMaskPng(join(out, 'scene', '0.png'));
    expect(first.width).toBe(report.width);
    expect(JSON.parse(await readFile(join(out, 'scene', 'proposals.json'), 'utf8'))).toEqual(report);
  });

  it('rejects an unknown preset', async () => {
    const { code, stderr } = await cli([
      'masks',
      join(root, 'scene.png'),
      '--models',
      pack,
      '--preset',
      'fast',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain('--preset must be "sam" or "reference", got "fast"');
  });
});
