import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoTokenizerObject } from '../src/engine/demo/tokenizer-json.ts';
import { ManifestSchema } from '../src/engine/runtime/manifest.ts';

// The export itself needs PyTorch and multi-GB checkpoints, which our machines do not have; these tests check what
// can be checked without them: the script compiles, its CLI parses, and what it writes has the engine's shapes.
const script = resolve(import.meta.dirname, 'export_models.py');
const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : undefined;
const scratch = mkdtempSync(join(tmpdir(), 'pseudo-ris-export-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs python without writing __pycache__ into the repository. */
function py(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(python!, ['-B', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe.runIf(python)('scripts/export_models.py without torch', () => {
  it('compiles', () => {
    const run = py([
      '-c',
      `import py_compile; py_compile.compile(${JSON.stringify(script)}, cfile=${JSON.stringify(join(scratch, 'x.pyc'))}, doraise=True)`,
    ]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('prints its help', () => {
    const run = py([script, '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--sam-checkpoint');
    expect(run.stdout).toContain('--coca-checkpoint');
    expect(run.stdout).toContain('--dry-run-manifest');
  });

  it('writes a manifest that the engine’s schema accepts, with the roles, files and CLIP token ids', () => {
    const run = py([script, '--dry-run-manifest', '--name', 'sam-coca-clip', '--sam-type', 'vit_b']);
    expect(run.stderr).toBe('');
    const manifest = ManifestSchema.parse(JSON.parse(run.stdout));
    expect(manifest.name).toBe('sam-coca-clip');
    expect(manifest.demo).toBe(false);
    expect(manifest.description).toContain('SAM vit_b');
    expect([manifest.segmenter.encoder.file, manifest.segmenter.decoder.file]).toEqual([
      'sam_encoder.onnx',
      'sam_decoder.onnx',
    ]);
    expect([
      manifest.captioner.visual.file,
      manifest.captioner.text.file,
      manifest.captioner.decoder.file,
    ]).toEqual(['coca_visual.onnx', 'coca_text.onnx', 'coca_decoder.onnx']);
    expect([manifest.scorer.image.file, manifest.scorer.text.file]).toEqual([
      'clip_image.onnx',
      'clip_text.onnx',
    ]);
    expect(manifest.captioner.specialTokens).toEqual({ sot: 49406, eot: 49407, pad: 0 });
    expect(manifest.captioner.vocabSize).toBe(49408);
    expect(manifest.scorer.contextLength).toBe(77);
    expect(manifest.segmenter.preprocess).toEqual({
      longestSide: 1024,
      mean: [123.675, 116.28, 103.53],
      std: [58.395, 57.12, 57.375],
    });
  });

  it('builds tokenizer.json with the same structure as the demo tokenizer the engine loads', () => {
    // A stand-in BPE file with the real one's line count (1 header + 48,894 merges), so the 49,408 ids come out.
    const code = `
import gzip, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("export_models", ${JSON.stringify(script)})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
path = ${JSON.stringify(join(scratch, 'bpe.txt.gz'))}
with gzip.open(path, "wt", encoding="utf-8") as f:
    f.write("#version: 0.2\\n" + "\\n".join(f"t{i} x</w>" for i in range(48894)) + "\\n")
t = m.clip_tokenizer_json(m.Path(path))
t["model"]["vocab_size"] = len(t["model"].pop("vocab")); t["model"]["merges_count"] = len(t["model"].pop("merges"))
print(json.dumps(t))`;
    const run = py(['-c', code]);
    expect(run.stderr).toBe('');
    const real = JSON.parse(run.stdout) as Record<string, Record<string, unknown>>;
    const demo = demoTokenizerObject() as Record<string, Record<string, unknown>>;
    expect(real.model.vocab_size).toBe(49408);
    expect(real.model.merges_count).toBe(48894);
    for (const key of ['normalizer', 'pre_tokenizer', 'decoder', 'version'])
      expect([key, real[key]]).toEqual([key, demo[key]]);
    expect(real.post_processor).toEqual({
      ...demo.post_processor,
      sep: ['<|endoftext|>', 49407],
      cls: ['<|startoftext|>', 49406],
    });
    const { vocab: _vocab, merges: _merges, ...demoModel } = demo.model;
    const { vocab_size: _size, merges_count: _count, ...realModel } = real.model;
    expect(realModel).toEqual(demoModel);
  });
});
