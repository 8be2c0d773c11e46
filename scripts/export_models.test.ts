import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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

/** Python code that loads the script as module `m` (its top level imports no torch). */
const loadScript = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("export_models", ${JSON.stringify(script)})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
`;

/** Writes a stand-in BPE file with the real one's line count (1 header + 48,894 merges). */
function fakeBpe(path: string): string {
  return `
import gzip
with gzip.open(${JSON.stringify(path)}, "wt", encoding="utf-8") as f:
    f.write("#version: 0.2\\n" + "\\n".join(f"t{i} x</w>" for i in range(48894)) + "\\n")
`;
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

  it('compiles its precision module', () => {
    const module = join(dirname(script), 'export_precision.py');
    const run = py([
      '-c',
      `import py_compile; py_compile.compile(${JSON.stringify(module)}, cfile=${JSON.stringify(join(scratch, 'p.pyc'))}, doraise=True)`,
    ]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('refuses --fp16 and --quantize int8, naming the package, where this Python lacks their converter', () => {
    const cases = [
      {
        flag: ['--fp16'],
        module: 'onnxconverter_common',
        text: '--fp16 needs the Python package onnxconverter-common',
      },
      {
        flag: ['--quantize', 'int8'],
        module: 'onnxruntime',
        text: '--quantize int8 needs the Python package onnxruntime',
      },
    ];
    for (const { flag, module, text } of cases) {
      if (py(['-c', `import ${module}`]).status === 0) continue; // installed: the export would convert
      const run = py([script, '--out', join(scratch, 'precision'), '--random-init', ...flag]);
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(text);
    }
    expect(py([script, '--fp16', '--quantize', 'int8', '--dry-run-manifest']).stderr).toContain(
      'not allowed with',
    );
  });

  it('prints its help', () => {
    const run = py([script, '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--sam-checkpoint');
    expect(run.stdout).toContain('--coca-checkpoint');
    expect(run.stdout).toContain('--dry-run-manifest');
  });

  it('writes a manifest that the engine’s schema accepts, with the roles, files and CLIP token ids', () => {
    const run = py([
      script,
      '--dry-run-manifest',
      '--no-fast-graphs',
      '--name',
      'sam-coca-clip',
      '--sam-type',
      'vit_b',
    ]);
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

  it('builds CLIP with QuickGELU for OpenAI weights and keeps other choices as given', () => {
    const code = `${loadScript}
print(json.dumps([m.clip_build_choice(*c) for c in [
    ("RN50", "openai"), ("RN50", "OpenAI"), ("RN50-quickgelu", "openai"), ("ViT-B-32", "laion2b_s34b_b79k"),
    ("RN50", None)]]))`;
    const run = py(['-c', code]);
    expect(run.stderr).toBe('');
    const choices = JSON.parse(run.stdout) as [string, string | null][];
    expect(choices.map(([name]) => name)).toEqual([
      'RN50-quickgelu',
      'RN50-quickgelu',
      'RN50-quickgelu',
      'ViT-B-32',
      'RN50',
    ]);
    expect(choices[0][1]).toBe(
      '--clip-pretrained openai needs QuickGELU: building RN50-quickgelu instead of RN50',
    );
    expect(choices.slice(2).map(([, note]) => note)).toEqual([null, null, null]);
  });

  it('refuses a CLIP built with GELU for OpenAI weights, and accepts QuickGELU or other weights', () => {
    const code = `${loadScript}
m.refuse_activation_mismatch("RN50-quickgelu", "openai", True)
m.refuse_activation_mismatch("ViT-B-32", "laion2b_s34b_b79k", False)
print("accepted")
m.refuse_activation_mismatch("RN50-quickgelu", "openai", False)`;
    const run = py(['-c', code]);
    expect(run.stdout.trim()).toBe('accepted');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'CLIP RN50-quickgelu was built with nn.GELU but OpenAI’s weights need QuickGELU'.replace('’', "'"),
    );
  });

  it('refuses torch, onnx or open_clip older than it supports and warns about versions it was not run with', () => {
    const code = `${loadScript}
print(json.dumps([m.parse_version("1.13.0a0+gitunknown"), m.check_version("torch", "1.13.1"),
                  m.check_version("open_clip", "3.2.0"), m.check_version("onnx", "1.12.0")]))
m.check_version("open_clip", "2.12.1")`;
    const run = py(['-c', code]);
    const [parsed, sameTorch, newer, sameOnnx] = JSON.parse(run.stdout) as [number[], null, string, null];
    expect(parsed).toEqual([1, 13, 0]);
    expect([sameTorch, sameOnnx]).toEqual([null, null]);
    expect(newer).toBe(
      'open_clip 3.2.0 has not been run with this script (run with open_clip 2.13.0); --verify checks the export against torch',
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'open_clip 2.12.1 is too old for this script: it needs open_clip >= 2.13 (run with open_clip 2.13.0)',
    );
  });

  describe('a pack written from graphs already in the folder (every model --skip’ped)', () => {
    const pack = join(scratch, 'pack');
    const bpe = join(scratch, 'bpe-pack.txt.gz');
    const graphs = [
      'sam_encoder.onnx',
      'sam_decoder.onnx',
      'sam_decoder_batched.onnx',
      'coca_visual.onnx',
      'coca_text.onnx',
      'coca_decoder.onnx',
      'coca_cross.onnx',
      'coca_decoder_with_past.onnx',
      'clip_image.onnx',
      'clip_text.onnx',
    ];
    let run: ReturnType<typeof py> | undefined;
    function written(): ReturnType<typeof py> {
      if (run) return run;
      mkdirSync(pack, { recursive: true });
      for (const [i, file] of graphs.entries())
        writeFileSync(join(pack, file), `graph ${i}`, { mode: 0o644 });
      const argv = [script, '--out', pack, '--name', 'fast', '--bpe-vocab', bpe];
      for (const model of ['sam', 'coca', 'clip']) argv.push('--skip', model);
      const code = `${fakeBpe(bpe)}
import os, runpy, sys
os.umask(0o022)
sys.argv = ${JSON.stringify(argv)}
runpy.run_path(${JSON.stringify(script)}, run_name="__main__")`;
      run = py(['-c', code]);
      return run;
    }

    it('writes manifest.json and the tokenizer files readable by everyone (0644), like the graphs', () => {
      const { status, stderr } = written();
      expect(stderr).toBe('');
      expect(status).toBe(0);
      for (const file of ['manifest.json', 'tokenizer.json', 'tokenizer_config.json', 'sam_encoder.onnx'])
        expect([file, (statSync(join(pack, file)).mode & 0o777).toString(8)]).toEqual([file, '644']);
      expect(readdirSync(pack).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });

    it('lists the batched SAM decoder and the cached CoCa decoder in a manifest the engine’s schema accepts', () => {
      // Needs the schema's optional segmenter.decoderBatched, captioner.cross and captioner.decoderWithPast
      // (issue 15, engine side).
      expect(written().status).toBe(0);
      const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(pack, 'manifest.json'), 'utf8')));
      const entries = manifest as unknown as {
        segmenter: Record<string, { file: string; bytes: number; sha256: string }>;
        captioner: Record<string, { file: string; bytes: number; sha256: string }>;
      };
      expect(entries.segmenter.decoderBatched.file).toBe('sam_decoder_batched.onnx');
      expect(entries.captioner.cross.file).toBe('coca_cross.onnx');
      expect(entries.captioner.decoderWithPast).toMatchObject({
        file: 'coca_decoder_with_past.onnx',
        bytes: 'graph 7'.length,
      });
      expect(entries.captioner.decoderWithPast.sha256).toMatch(/^[0-9a-f]{64}$/);
      // the exporter's cached decoder takes grouped crops: one run per step for all crops
      expect(manifest.captioner.crossGrouped).toBe(true);
    });

    it('prints the fast graphs in a dry run unless --no-fast-graphs', () => {
      const fast = JSON.parse(py([script, '--dry-run-manifest']).stdout) as {
        segmenter: Record<string, unknown>;
        captioner: Record<string, unknown>;
      };
      expect(Object.keys(fast.segmenter)).toContain('decoderBatched');
      expect(Object.keys(fast.captioner)).toEqual(expect.arrayContaining(['cross', 'decoderWithPast']));
      const plain = JSON.parse(py([script, '--dry-run-manifest', '--no-fast-graphs']).stdout) as typeof fast;
      expect(Object.keys(plain.segmenter)).not.toContain('decoderBatched');
      expect(Object.keys(plain.captioner)).not.toContain('cross');
      expect(Object.keys(plain.captioner)).not.toContain('decoderWithPast');
      expect(fast.captioner.crossGrouped).toBe(true);
      expect(Object.keys(plain.captioner)).not.toContain('crossGrouped');
    });
  });
});
