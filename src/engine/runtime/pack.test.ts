import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../shared/models.ts';
import { attr, GraphBuilder } from '../demo/onnx-builder.ts';
import { ModelPackError } from './errors.ts';
import { loadModelPack, type ModelPack } from './pack.ts';
import { bindingDir } from './providers.ts';
import {
  TEST_EMBED,
  TEST_FILES,
  TEST_VOCAB,
  testEncoder,
  testScorerText,
  testTextDecoder,
  writeTestPack,
} from '../testing/pack.ts';
import { listModelPacks, validateModelPack } from './validate.ts';

let root: string;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pseudo-ris-runtime-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshPack(options: Parameters<typeof writeTestPack>[1] = {}): Promise<string> {
  counter += 1;
  const dir = join(root, `pack-${counter}`);
  await writeTestPack(dir, options);
  return dir;
}

/** Expects `promise` to reject with a ModelPackError of `code` whose message contains every fragment. */
async function expectPackError(
  promise: Promise<unknown>,
  code: string,
  fragments: string[],
): Promise<ModelPackError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelPackError);
  const packError = error as ModelPackError;
  expect(packError.code).toBe(code);
  for (const fragment of fragments) expect(packError.message).toContain(fragment);
  return packError;
}

async function openAndDispose(dir: string, role: (typeof ROLES)[number]): Promise<void> {
  const pack = await loadModelPack(dir, { forceCpu: true });
  try {
    await pack.session(role);
  } finally {
    await pack.dispose();
  }
}

describe('a valid pack', () => {
  let pack: ModelPack;
  beforeAll(async () => {
    pack = await loadModelPack(await freshPack(), { forceCpu: true, intraOpThreads: 1 });
  });
  afterAll(async () => {
    await pack.dispose();
  });

  it('runs the segmenter encoder by canonical names and counts the run', async () => {
    const encoder = await pack.session('segmenter.encoder');
    expect(encoder.inputNames).toEqual(['image']);
    expect(encoder.outputNames).toEqual(['image_embeddings']);
    const image = new Float32Array(3 * 1024 * 1024).fill(2);
    const out = await encoder.run({ image: new ort.Tensor('float32', image, [1, 3, 1024, 1024]) });
    expect(out.image_embeddings.dims).toEqual([1, 3, 64, 64]);
    expect((out.image_embeddings.data as Float32Array)[0]).toBeCloseTo(2);
    expect(encoder.stats.runs).toBe(1);
    expect(encoder.stats.milliseconds).toBeGreaterThan(0);
  });

  it('runs the segmenter decoder with masks resized to orig_im_size', async () => {
    const decoder = await pack.session('segmenter.decoder');
    const out = await decoder.run({
      image_embeddings: new ort.Tensor('float32', new Float32Array(3 * 64 * 64), [1, 3, 64, 64]),
      point_coords: new ort.Tensor('float32', new Float32Array([10, 20, 0, 0]), [1, 2, 2]),
      point_labels: new ort.Tensor('float32', new Float32Array([1, -1]), [1, 2]),
      mask_input: new ort.Tensor('float32', new Float32Array(256 * 256).fill(0.5), [1, 1, 256, 256]),
      has_mask_input: new ort.Tensor('float32', new Float32Array([1]), [1]),
      orig_im_size: new ort.Tensor('float32', new Float32Array([30, 40]), [2]),
    });
    expect(out.masks.dims).toEqual([1, 4, 30, 40]);
    expect(out.low_res_masks.dims).toEqual([1, 4, 256, 256]);
    expect(Array.from(out.iou_predictions.data as Float32Array)).toEqual([0, 0, 0, 0]);
    expect((out.masks.data as Float32Array)[0]).toBeCloseTo(0.5);
  });

  it('runs the captioner text tower and decoder and fetches only the requested outputs', async () => {
    const text = await pack.session('captioner.text');
    const tokens = await text.run({
      text: new ort.Tensor('int64', BigInt64Array.from([5n, 2n, 3n]), [1, 3]),
    });
    expect(tokens.token_embs.dims).toEqual([1, 3, 3]);
    const visual = await pack.session('captioner.visual');
    const image = await visual.run(
      { image: new ort.Tensor('float32', new Float32Array(2 * 3 * 224 * 224), [2, 3, 224, 224]) },
      ['image_embs'],
    );
    expect(Object.keys(image)).toEqual(['image_embs']);
    expect(image.image_embs.dims).toEqual([2, 16, 3]);
    const decoder = await pack.session('captioner.decoder');
    const embs = new ort.Tensor('float32', (image.image_embs.data as Float32Array).slice(0, 48), [1, 16, 3]);
    const logits = await decoder.run({ image_embs: embs, token_embs: tokens.token_embs });
    expect(logits.logits.dims).toEqual([1, 3, TEST_VOCAB]);
  });

  it('runs the scorer towers to embeddings of the same width', async () => {
    const image = await pack.session('scorer.image');
    const text = await pack.session('scorer.text');
    const a = await image.run({
      image: new ort.Tensor('float32', new Float32Array(3 * 224 * 224).fill(1), [1, 3, 224, 224]),
    });
    const b = await text.run({ text: new ort.Tensor('int64', new BigInt64Array(77), [1, 77]) });
    expect(a.embedding.dims).toEqual([1, TEST_EMBED]);
    expect(b.embedding.dims).toEqual([1, TEST_EMBED]);
  });

  it('reports the CPU provider for every opened role when CPU is forced', async () => {
    const infos = pack.providers();
    expect(infos.map((p) => p.role)).toEqual(ROLES.filter((r) => infos.some((p) => p.role === r)));
    expect(infos.length).toBeGreaterThanOrEqual(7);
    for (const info of infos) {
      expect(info.requested).toEqual(['cpu']);
      expect(info.used).toBe('cpu');
      expect(info.fallbackReason).toBeUndefined();
    }
  });

  it('shares one session between concurrent callers of a role', async () => {
    const [a, b] = await Promise.all([pack.session('scorer.image'), pack.session('scorer.image')]);
    expect(a).toBe(b);
  });

  it('refuses a missing feed, an unknown feed and a feed of the wrong shape, naming the tensor', async () => {
    const encoder = await pack.session('segmenter.encoder');
    await expectPackError(encoder.run({}), 'feed-invalid', [
      'segmenter.encoder',
      'tensor "image"',
      'missing feed "image"',
    ]);
    const image = new ort.Tensor('float32', new Float32Array(3 * 1024 * 1024), [1, 3, 1024, 1024]);
    await expectPackError(encoder.run({ image, pixels: image }), 'feed-invalid', ['unknown feed "pixels"']);
    const small = new ort.Tensor('float32', new Float32Array(3 * 512 * 512), [1, 3, 512, 512]);
    await expectPackError(encoder.run({ image: small }), 'feed-invalid', [
      'tensor "image"',
      'feed has shape [1,3,512,512]; the graph wants [1,3,1024,1024]',
    ]);
  });
});

describe('loading a broken pack', () => {
  it('names a manifest that fails the schema, with the path of the bad field', async () => {
    const dir = await freshPack({
      editManifest: (m) => ((m.captioner.specialTokens as { eot: unknown }).eot = 'end'),
    });
    await expectPackError(loadModelPack(dir), 'manifest-schema', [
      'model pack "test-pack"',
      'manifest.json fails the schema at captioner.specialTokens.eot',
      'expected number',
    ]);
  });

  it('names a folder without manifest.json and a manifest that is not JSON', async () => {
    await expectPackError(loadModelPack(join(root, 'nowhere')), 'manifest-missing', [
      'model pack "nowhere"',
      'no manifest.json',
    ]);
    const dir = await freshPack();
    await writeFile(join(dir, 'manifest.json'), '{ "format": ');
    await expectPackError(loadModelPack(dir), 'manifest-json', ['manifest.json is not valid JSON']);
  });

  it('names a missing ONNX file', async () => {
    const dir = await freshPack();
    await rm(join(dir, TEST_FILES['captioner.text']));
    await expectPackError(loadModelPack(dir), 'file-missing', [
      'model pack "test-pack", captioner.text (coca_text.onnx)',
      'file not found',
    ]);
  });

  it('names a zero-byte ONNX file', async () => {
    const dir = await freshPack();
    await writeFile(join(dir, TEST_FILES['scorer.image']), '');
    await expectPackError(loadModelPack(dir), 'file-empty', [
      'scorer.image (clip_image.onnx)',
      'file is empty (0 bytes',
    ]);
  });

  it('names a truncated ONNX file with both sizes', async () => {
    const dir = await freshPack();
    const path = join(dir, TEST_FILES['segmenter.decoder']);
    const full = (await readFile(path)).length;
    await truncate(path, 100);
    await expectPackError(loadModelPack(dir), 'file-truncated', [
      'segmenter.decoder (sam_decoder.onnx)',
      `file is truncated: 100 of ${full} bytes`,
    ]);
  });

  it('names a Git-LFS pointer in place of the model', async () => {
    const dir = await freshPack();
    const pointer =
      'version https://git-lfs.github.com/spec/v1\noid sha256:' + 'a'.repeat(64) + '\nsize 375042383\n';
    await writeFile(join(dir, TEST_FILES['segmenter.encoder']), pointer);
    await expectPackError(loadModelPack(dir), 'lfs-pointer', [
      'segmenter.encoder (sam_encoder.onnx)',
      'Git-LFS pointer',
      'git lfs pull',
    ]);
  });

  it('names a checksum mismatch when the first session opens', async () => {
    const dir = await freshPack();
    const path = join(dir, TEST_FILES['captioner.visual']);
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 0xff; // same size, one byte different
    await writeFile(path, bytes);
    const pack = await loadModelPack(dir, { forceCpu: true });
    try {
      await expectPackError(pack.session('captioner.visual'), 'checksum-mismatch', [
        'captioner.visual (coca_visual.onnx)',
        'SHA-256 mismatch',
      ]);
      // Other roles are unaffected.
      await expect(pack.session('captioner.text')).resolves.toBeDefined();
    } finally {
      await pack.dispose();
    }
  });

  it('names a file that is not ONNX even when its size and checksum match the manifest', async () => {
    const garbage = new TextEncoder().encode(
      'this is not a protobuf model at all, just text pretending to be one',
    );
    const dir = await freshPack({ graphs: { 'scorer.text': garbage } });
    await expectPackError(openAndDispose(dir, 'scorer.text'), 'onnx-invalid', [
      'scorer.text (clip_text.onnx)',
      'not a readable ONNX model',
    ]);
  });

  it('names a wrong input name with the inputs the graph has', async () => {
    const dir = await freshPack({
      graphs: { 'segmenter.encoder': testEncoder({ inputName: 'pixel_values' }) },
    });
    await expectPackError(openAndDispose(dir, 'segmenter.encoder'), 'input-missing', [
      'segmenter.encoder (sam_encoder.onnx), tensor "image"',
      'the graph has no input "image"; its inputs are "pixel_values"',
    ]);
  });

  it('accepts another input name when the manifest maps it', async () => {
    const dir = await freshPack({
      graphs: { 'segmenter.encoder': testEncoder({ inputName: 'pixel_values' }) },
      editManifest: (m) => (m.segmenter.encoder.names = { image: 'pixel_values' }),
    });
    const pack = await loadModelPack(dir, { forceCpu: true });
    try {
      const encoder = await pack.session('segmenter.encoder');
      expect(encoder.inputs.image.graphName).toBe('pixel_values');
      const out = await encoder.run({
        image: new ort.Tensor('float32', new Float32Array(3 * 1024 * 1024), [1, 3, 1024, 1024]),
      });
      expect(out.image_embeddings.dims).toEqual([1, 3, 64, 64]);
    } finally {
      await pack.dispose();
    }
  });

  it('names a wrong dtype', async () => {
    const dir = await freshPack({ graphs: { 'scorer.text': testScorerText({ dtype: 'float32' }) } });
    await expectPackError(openAndDispose(dir, 'scorer.text'), 'dtype-mismatch', [
      'scorer.text (clip_text.onnx), tensor "text"',
      'input "text" has dtype float32; expected int64 or int32',
    ]);
  });

  it('accepts int32 scorer text and converts an int64 feed to it', async () => {
    const dir = await freshPack({ graphs: { 'scorer.text': testScorerText({ dtype: 'int32' }) } });
    const pack = await loadModelPack(dir, { forceCpu: true });
    try {
      const text = await pack.session('scorer.text');
      expect(text.inputs.text.dtype).toBe('int32');
      const ids = new BigInt64Array(77);
      ids[0] = 1n;
      const out = await text.run({ text: new ort.Tensor('int64', ids, [1, 77]) });
      expect(out.embedding.dims).toEqual([1, TEST_EMBED]);
    } finally {
      await pack.dispose();
    }
  });

  it('names a wrong rank', async () => {
    // A visual tower over flattened pixels [B,3,224·224]: a valid graph, but not the contract's [B,3,224,224].
    const g = new GraphBuilder('flat_visual');
    const image = g.input('image', 'float32', ['batch', 3, 50176]);
    g.output(
      g.op('ReduceMean', [image], { axes: attr.ints([2]), keepdims: attr.int(0) }),
      'float32',
      ['batch', 3],
      'image_latent',
    );
    g.output(
      g.op('Transpose', [image], { perm: attr.ints([0, 2, 1]) }),
      'float32',
      ['batch', 50176, 3],
      'image_embs',
    );
    const dir = await freshPack({ graphs: { 'captioner.visual': g.toModel() } });
    await expectPackError(openAndDispose(dir, 'captioner.visual'), 'rank-mismatch', [
      'captioner.visual (coca_visual.onnx), tensor "image"',
      'input "image" has rank 3 [batch,3,50176]; expected rank 4 [B,3,224,224]',
    ]);
  });

  it('names a wrong fixed dimension', async () => {
    const dir = await freshPack({
      graphs: { 'segmenter.encoder': testEncoder({ inputDims: [1, 3, 512, 512] }) },
    });
    await expectPackError(openAndDispose(dir, 'segmenter.encoder'), 'dim-mismatch', [
      'segmenter.encoder (sam_encoder.onnx), tensor "image"',
      'input "image" has shape [1,3,512,512]; dim 2 is 512, expected 1024',
    ]);
  });

  it("names logits whose width is not the manifest's vocabulary size", async () => {
    const dir = await freshPack({ graphs: { 'captioner.decoder': testTextDecoder({ vocab: 5 }) } });
    await expectPackError(openAndDispose(dir, 'captioner.decoder'), 'pack-mismatch', [
      'tensor "logits"',
      'logits have 5 classes',
      'vocabSize is 8',
    ]);
  });

  it('accepts a decoder that returns last-position logits [B,V]', async () => {
    const dir = await freshPack({ graphs: { 'captioner.decoder': testTextDecoder({ lastOnly: true }) } });
    const pack = await loadModelPack(dir, { forceCpu: true });
    try {
      const decoder = await pack.session('captioner.decoder');
      const out = await decoder.run({
        image_embs: new ort.Tensor('float32', new Float32Array(48), [1, 16, 3]),
        token_embs: new ort.Tensor('float32', new Float32Array(6), [1, 2, 3]),
      });
      expect(out.logits.dims).toEqual([1, TEST_VOCAB]);
    } finally {
      await pack.dispose();
    }
  });

  it('refuses sessions after dispose', async () => {
    const pack = await loadModelPack(await freshPack(), { forceCpu: true });
    const text = await pack.session('captioner.text');
    await pack.dispose();
    await expectPackError(
      text.run({ text: new ort.Tensor('int64', new BigInt64Array(1), [1, 1]) }),
      'disposed',
      ['the session was disposed'],
    );
    await expectPackError(pack.session('captioner.text'), 'disposed', ['the pack was disposed']);
  });
});

describe('validateModelPack', () => {
  it('finds a valid pack valid', async () => {
    const summary = await validateModelPack(await freshPack());
    expect(summary.issues).toEqual([]);
    expect(summary).toMatchObject({ name: 'test-pack', valid: true, demo: true });
  });

  it('collects every issue of a pack broken in several places', async () => {
    const dir = await freshPack({
      graphs: {
        'segmenter.encoder': testEncoder({ inputDims: [1, 3, 512, 512] }),
        'scorer.text': testScorerText({ embed: 5 }),
      },
    });
    await rm(join(dir, TEST_FILES['captioner.text']));
    await writeFile(join(dir, 'tokenizer.json'), 'not json');
    const summary = await validateModelPack(dir);
    expect(summary.valid).toBe(false);
    expect(summary.issues.map((i) => [i.code, i.role ?? i.file, i.tensor])).toEqual([
      // The 512 input also makes the pooled output 32×32 instead of 64×64: two issues, one per tensor.
      ['dim-mismatch', 'segmenter.encoder', 'image'],
      ['dim-mismatch', 'segmenter.encoder', 'image_embeddings'],
      ['file-missing', 'captioner.text', undefined],
      ['pack-mismatch', 'scorer.text', 'embedding'],
      ['tokenizer-invalid', 'tokenizer.json', undefined],
    ]);
    expect(summary.issues[1].message).toContain(
      'output "image_embeddings" has shape [1,3,32,32]; dim 2 is 32, expected 64',
    );
    expect(summary.issues[3].message).toContain(
      'scorer.text output "embedding" dim 1 is 5 but scorer.image output "embedding" dim 1 is 4',
    );
  });

  it('reports each schema issue of a manifest separately', async () => {
    const dir = await freshPack({
      editManifest: (m) => {
        (m as { version: unknown }).version = 2;
        (m.segmenter.encoder as { sha256: string }).sha256 = 'xyz';
      },
    });
    const summary = await validateModelPack(dir);
    expect(summary.valid).toBe(false);
    expect(summary.issues.map((i) => i.code)).toEqual(['manifest-schema', 'manifest-schema']);
    expect(summary.issues.map((i) => i.message).join('\n')).toMatch(
      /at version[\s\S]*at segmenter\.encoder\.sha256: a lowercase hex SHA-256/,
    );
  });
});

describe('listModelPacks', () => {
  it('lists the packs of a user folder with a quick validation each', async () => {
    const folder = join(root, 'user-models');
    await writeTestPack(join(folder, 'b-pack'), { name: 'b-pack' });
    await writeTestPack(join(folder, 'a-pack'), { name: 'a-pack' });
    await writeFile(join(folder, 'a-pack', TEST_FILES['scorer.image']), '');
    const found = (await listModelPacks([folder])).filter((p) => p.dir.startsWith(folder));
    expect(found.map((p) => [p.name, p.valid])).toEqual([
      ['a-pack', false],
      ['b-pack', true],
    ]);
    expect(found[0].issues[0].code).toBe('file-empty');
  });
});

describe('the GPU → CPU fallback', () => {
  const cudaMissing =
    process.platform === 'linux' &&
    process.arch === 'x64' &&
    !existsSync(join(bindingDir() ?? '/nonexistent', 'libonnxruntime_providers_cuda.so'));

  it.runIf(cudaMissing)(
    'skips cuda without trying it when its libraries are not installed, and says why',
    async () => {
      const pack = await loadModelPack(await freshPack(), { providers: ['cuda', 'cpu'] });
      try {
        const session = await pack.session('scorer.image');
        expect(session.provider).toBe('cpu');
        expect(session.providerInfo.fallbackReason).toBe(
          'cuda skipped: libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so not installed; run `npm run gpu:setup` (needs CUDA 12 and cuDNN 9)',
        );
      } finally {
        await pack.dispose();
      }
    },
  );

  it.runIf(cudaMissing)('creates the session on CPU when cuda fails to load, and says why', async () => {
    const pack = await loadModelPack(await freshPack(), {
      providers: ['cuda', 'cpu'],
      skipUninstalledProviders: false,
    });
    try {
      const encoder = await pack.session('segmenter.encoder');
      expect(encoder.provider).toBe('cpu');
      expect(encoder.providerInfo.requested).toEqual(['cuda', 'cpu']);
      expect(encoder.providerInfo.fallbackReason).toMatch(
        /^cuda failed to load \(.*Failed to load shared library\): libonnxruntime_providers_shared\.so and libonnxruntime_providers_cuda\.so not installed; run `npm run gpu:setup`/,
      );
      // The next role skips cuda with the same reason instead of failing again.
      const text = await pack.session('scorer.text');
      expect(text.providerInfo.fallbackReason).toBe(encoder.providerInfo.fallbackReason);
      const out = await encoder.run({
        image: new ort.Tensor('float32', new Float32Array(3 * 1024 * 1024), [1, 3, 1024, 1024]),
      });
      expect(out.image_embeddings.dims).toEqual([1, 3, 64, 64]);
    } finally {
      await pack.dispose();
    }
  });

  it('skips a provider that onnxruntime-node does not ship for this platform, with the reason', async () => {
    const foreign = process.platform === 'win32' ? 'coreml' : 'dml';
    const pack = await loadModelPack(await freshPack(), { providers: [foreign] });
    try {
      const session = await pack.session('scorer.image');
      expect(session.providerInfo).toEqual({
        role: 'scorer.image',
        requested: [foreign, 'cpu'],
        used: 'cpu',
        fallbackReason: `${foreign} is not available in onnxruntime-node for ${process.platform}/${process.arch}`,
      });
    } finally {
      await pack.dispose();
    }
  });
});
