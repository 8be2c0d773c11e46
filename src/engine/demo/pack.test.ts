import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManifestSchema } from '../runtime/manifest.ts';
import { validateModelPack } from '../runtime/validate.ts';
import { buildDemoCaptioner } from './captioner.ts';
import {
  BUILD_ID_FILE,
  buildDemoPack,
  buildDemoPackFiles,
  defaultDemoPackDir,
  ensureDemoPack,
} from './pack.ts';

const temporary: string[] = [];
afterAll(async () => {
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function scratch(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

const EXPECTED_FILES = [
  BUILD_ID_FILE,
  'captioner-cross.onnx',
  'captioner-decoder-with-past.onnx',
  'captioner-decoder.onnx',
  'captioner-text.onnx',
  'captioner-visual.onnx',
  'manifest.json',
  'scorer-image.onnx',
  'scorer-text.onnx',
  'segmenter-decoder-batched.onnx',
  'segmenter-decoder.onnx',
  'segmenter-encoder.onnx',
  'tokenizer.json',
];

describe('demo pack', () => {
  it('writes the seven graphs, the three fast-contract graphs, the tokenizer and a schema-valid demo manifest, byte-identical across builds', async () => {
    const a = await scratch('demo-pack-a-');
    const b = await scratch('demo-pack-b-');
    const manifest = await buildDemoPack(a);
    await buildDemoPack(b);
    expect((await readdir(a)).sort()).toEqual(EXPECTED_FILES);
    for (const file of EXPECTED_FILES) {
      expect((await readFile(join(a, file))).equals(await readFile(join(b, file)))).toBe(true);
    }
    const parsed = ManifestSchema.parse(JSON.parse(await readFile(join(a, 'manifest.json'), 'utf8')));
    expect(parsed).toEqual(manifest);
    expect(parsed.demo).toBe(true);
    expect(parsed.description).toMatch(/demo pack for exercising the pipeline/i);
    expect(parsed.description).toMatch(/not a real model/);
    const captioner = buildDemoCaptioner();
    expect(parsed.captioner.specialTokens).toEqual(captioner.specialTokens);
    expect(parsed.captioner.vocabSize).toBe(captioner.vocabSize);
    expect(parsed.segmenter.encoder.bytes).toBe((await stat(join(a, parsed.segmenter.encoder.file))).size);
    // the demo pack offers the fast contracts, so CI runs the cached decoder and batched SAM prompts
    expect(parsed.segmenter.decoderBatched?.file).toBe('segmenter-decoder-batched.onnx');
    expect(parsed.captioner.cross?.file).toBe('captioner-cross.onnx');
    expect(parsed.captioner.decoderWithPast?.file).toBe('captioner-decoder-with-past.onnx');
  });

  it('passes the runtime validation: files, checksums and every session against its contract', async () => {
    const dir = await scratch('demo-pack-valid-');
    await buildDemoPack(dir);
    const summary = await validateModelPack(dir);
    expect(summary.issues).toEqual([]);
    expect(summary.valid).toBe(true);
    expect(summary.demo).toBe(true);
  });

  it('builds once, skips an up-to-date pack, and replaces a stale one, also when called concurrently', async () => {
    const dir = join(await scratch('demo-pack-ensure-'), 'demo');
    const results = await Promise.all([ensureDemoPack(dir), ensureDemoPack(dir), ensureDemoPack(dir)]);
    expect(results).toEqual([dir, dir, dir]);
    expect((await readdir(dir)).sort()).toEqual(EXPECTED_FILES);
    expect((await readdir(join(dir, '..'))).sort()).toEqual(['demo']);
    const before = (await stat(join(dir, 'segmenter-decoder.onnx'))).mtimeMs;
    await ensureDemoPack(dir);
    expect((await stat(join(dir, 'segmenter-decoder.onnx'))).mtimeMs).toBe(before);

    await mkdir(join(dir, '..', 'demo.tmp-1-2'));
    await writeFile(join(dir, '..', 'demo.tmp-1-2', 'manifest.json'), '{}');
    await writeFile(join(dir, BUILD_ID_FILE), 'an older build\n');
    await writeFile(join(dir, 'segmenter-decoder.onnx'), 'stale');
    await Promise.all([ensureDemoPack(dir), ensureDemoPack(dir)]);
    expect((await readdir(join(dir, '..'))).sort()).toEqual(['demo']);
    const { files, buildId } = buildDemoPackFiles();
    expect((await readFile(join(dir, BUILD_ID_FILE), 'utf8')).trim()).toBe(buildId);
    expect(
      (await readFile(join(dir, 'segmenter-decoder.onnx'))).equals(
        Buffer.from(files.get('segmenter-decoder.onnx') as Uint8Array),
      ),
    ).toBe(true);
  });

  it('lets two processes ensure the same pack at once: one builds, both return a complete pack', async () => {
    const dir = join(await scratch('demo-pack-processes-'), 'demo');
    const repo = resolve(import.meta.dirname, '../../..');
    const packModule = join(repo, 'src/engine/demo/pack.ts');
    const code = `import(${JSON.stringify(packModule)}).then((m) => m.ensureDemoPack(${JSON.stringify(dir)})).then((d) => process.stdout.write(d))`;
    const run = () =>
      new Promise<string>((done, fail) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', '-e', code],
          { cwd: repo, timeout: 90_000 },
          (error, stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout)),
        );
      });
    expect(await Promise.all([run(), run()])).toEqual([dir, dir]);
    expect((await readdir(dir)).sort()).toEqual(EXPECTED_FILES);
    expect((await readdir(join(dir, '..'))).sort()).toEqual(['demo']);
    expect((await validateModelPack(dir, { level: 'quick' })).valid).toBe(true);
  });

  it('is built by the global test setup into resources/models/demo', async () => {
    const dir = defaultDemoPackDir();
    expect(dir.endsWith(join('resources', 'models', 'demo'))).toBe(true);
    const id = (await readFile(join(dir, BUILD_ID_FILE), 'utf8')).trim();
    expect(id).toBe(buildDemoPackFiles().buildId);
  });
});
