import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CaptionTrace, TraceComparison } from '../../shared/caption.ts';
import { encodePng, renderScene } from '../../engine/demo/index.ts';
import { encodeMaskPng } from '../../engine/image/mask.ts';
import { replayTrace } from '../../engine/caption/trace.ts';
import { main } from '../index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'caption-cli-'));
  const scene = renderScene(2024, 1);
  await writeFile(join(dir, 'scene.png'), await encodePng(scene.image));
  await mkdir(join(dir, 'masks'));
  for (const [k, object] of scene.truth.objects.entries())
    await writeFile(join(dir, 'masks', `${k}.png`), await encodeMaskPng(object.mask));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = await main(['node', 'pseudo-ris', 'caption', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('pseudo-ris caption', () => {
  it('captions every mask with the chosen crops and settings and prints JSON with replayable traces', async () => {
    const image = join(dir, 'scene.png');
    const { code, stdout } = await run([
      image,
      '--masks',
      join(dir, 'masks'),
      '--crops',
      'masked,box-1.2',
      '--decoding',
      'dcs',
      '--k',
      '5',
      '--p',
      '0.5',
      '--seed',
      '3',
      '--trace',
      '--json',
    ]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as {
      masks: number;
      candidates: { maskIndex: number; settingKey: string; text: string }[];
      traces: CaptionTrace[];
      comparisons: TraceComparison[];
    };
    expect(result.masks).toBe(4);
    // 4 masks × 2 crops × (2 DCS settings + their 2 plain partners for the traces)
    expect(result.candidates).toHaveLength(4 * 2 * 4);
    expect(new Set(result.candidates.map((c) => c.settingKey))).toEqual(
      new Set(['dcs-top-k-5', 'dcs-top-p-0.5', 'top-k-5', 'top-p-0.5']),
    );
    expect(result.traces).toHaveLength(result.candidates.length);
    expect(result.comparisons).toHaveLength(4 * 2 * 2);
    for (const trace of result.traces) expect(replayTrace(trace).matches).toBe(true);
  });

  it('writes traces to a file and prints a table', async () => {
    const traceFile = join(dir, 'trace.json');
    const { code, stdout } = await run([
      join(dir, 'scene.png'),
      '--masks',
      join(dir, 'masks'),
      '--crops',
      'masked',
      '--decoding',
      'top-k',
      '--k',
      '5',
      '--trace',
      traceFile,
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^mask 0 +masked +top-k-5 +[a-z]+ /m);
    const saved = JSON.parse(await readFile(traceFile, 'utf8')) as { traces: CaptionTrace[] };
    expect(saved.traces).toHaveLength(4);
  });

  it('rejects a bad decoding name and missing masks with clear messages', async () => {
    const bad = await run([join(dir, 'scene.png'), '--masks', join(dir, 'masks'), '--decoding', 'greedy']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      '--decoding must be one of reference, beam, top-k, top-p, dcs, all, got "greedy"',
    );
    const missing = await run([join(dir, 'scene.png'), '--masks', join(dir, 'nowhere')]);
    expect(missing.stderr).toContain('does not exist');
  });
});
