import { decodeLine } from '../../engine/pipeline/store/index.ts';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cropKey, type CaptionTrace, type CropType, type TraceComparison } from '../../shared/caption.ts';
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
  // the same ground-truth masks as a mask import for `generate` (<folder>/<image-stem>/<k>.png)
  await mkdir(join(dir, 'import', 'scene'), { recursive: true });
  for (const [k, object] of scene.truth.objects.entries())
    await writeFile(join(dir, 'import', 'scene', `${k}.png`), await encodeMaskPng(object.mask));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(
  args: string[],
  command = 'caption',
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = await main(['node', 'pseudo-ris', command, ...args]);
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
      sessions: { role: string }[];
    };
    expect(result.masks).toBe(4);
    // lazy stages: the visual encoder and the cached pair only, no segmenter, no CLIP, no full-prefix decoder
    expect(result.sessions.map((s) => s.role).sort()).toEqual([
      'captioner.cross',
      'captioner.decoderWithPast',
      'captioner.visual',
    ]);
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

  it('gives the same candidates as generate for the same image, masks and seed (one caption path)', async () => {
    const image = join(dir, 'scene.png');
    const caption = await run([
      image,
      '--masks',
      join(dir, 'masks'),
      '--k',
      '5',
      '--p',
      '0.5',
      '--seed',
      '7',
      '--json',
    ]);
    expect(caption.code).toBe(0);
    const captioned = (
      JSON.parse(caption.stdout) as {
        candidates: {
          maskIndex: number;
          crop: CropType;
          settingKey: string;
          text: string;
          streamId?: string;
        }[];
      }
    ).candidates;
    const settings = join(dir, 'same.json');
    await writeFile(settings, JSON.stringify({ captions: { topK: [5], topP: [0.5], plainSampling: false } }));
    const project = join(dir, 'project');
    const generate = await run(
      [
        image,
        '--project',
        project,
        '--settings',
        settings,
        '--masks',
        join(dir, 'import'),
        '--seed',
        '7',
        '--no-progress',
      ],
      'generate',
    );
    expect(generate.code).toBe(0);
    const [result] = (await readFile(join(project, 'results.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => decodeLine(line));
    const generated = result.candidates.map((c) => ({
      mask: c.mask,
      crop: c.cropKey,
      setting: c.settingKey,
      text: c.text,
      stream: c.streamId,
    }));
    // beam + DCS top-k 5 + DCS top-p 0.5, for 4 masks × 4 crops; the streams are named by the image's content hash
    expect(generated).toHaveLength(4 * 4 * 3);
    expect(
      captioned.map((c) => ({
        mask: c.maskIndex,
        crop: cropKey(c.crop),
        setting: c.settingKey,
        text: c.text,
        stream: c.streamId,
      })),
    ).toEqual(generated);
    expect(generated.some((c) => c.stream?.includes(result.image.sha256))).toBe(true);
  }, 30_000);

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
