/**
 * The optional fast contracts (runtime/README.md): `segmenter.decoderBatched`, `captioner.cross` and
 * `captioner.decoderWithPast` — manifest, contract checks, validation and the pack's sessions.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attr, GraphBuilder } from '../demo/onnx-builder.ts';
import { checkContract, contractOf, countIndexed, packContracts, withPastContract } from './contracts.ts';
import type { Manifest } from './manifest.ts';
import { loadModelPack } from './pack.ts';
import { validateModelPack } from './validate.ts';

const DEMO = resolve(import.meta.dirname, '../../../resources/models/demo');
const temporary: string[] = [];
afterAll(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

/** A copy of the demo pack with its manifest edited (and extra files written) by `edit`. */
async function demoCopy(edit: (manifest: Manifest, dir: string) => Promise<void> | void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fast-contract-'));
  temporary.push(dir);
  await cp(DEMO, dir, { recursive: true });
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  await edit(manifest, dir);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

/** Writes a graph into a pack folder and returns its manifest entry. */
async function graphFile(dir: string, file: string, bytes: Uint8Array) {
  await writeFile(join(dir, file), bytes);
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

/** A decoder-with-past graph with `past` past pairs and `present` present pairs (and one cross pair). */
function withPastGraph(past: number, present: number, crossBatch: number | string = 'B'): Uint8Array {
  const g = new GraphBuilder('test_with_past');
  const ids = g.input('input_ids', 'int64', ['B', 1]);
  g.input('position', 'int64', [1]);
  for (let i = 0; i < past; i++) {
    g.input(`past_key_${i}`, 'float32', ['B', 1, 'P', 2]);
    g.input(`past_value_${i}`, 'float32', ['B', 1, 'P', 2]);
  }
  g.input('cross_key_0', 'float32', [crossBatch, 1, 2, 64]);
  g.input('cross_value_0', 'float32', [crossBatch, 1, 2, 64]);
  const row = g.op('Cast', [ids], { to: attr.int(1) });
  g.output(g.op('Identity', [row]), 'float32', ['B', 1], 'logits');
  for (let i = 0; i < present; i++) {
    g.output(g.op('Identity', [`past_key_${i}`]), 'float32', ['B', 1, 'P', 2], `present_key_${i}`);
    g.output(g.op('Identity', [`past_value_${i}`]), 'float32', ['B', 1, 'P', 2], `present_value_${i}`);
  }
  return g.toModel();
}

describe('the fast contracts', () => {
  it('validates the demo pack with its ten graphs and reports the cached and batched contracts', async () => {
    const summary = await validateModelPack(DEMO);
    expect(summary.issues).toEqual([]);
    expect(summary.valid).toBe(true);
    expect(summary.contracts).toEqual({ captioner: 'cached', segmenter: 'batched' });
  });

  it('opens the optional sessions by canonical names, with K and M read from the graph', async () => {
    const pack = await loadModelPack(DEMO, { providers: ['cpu'] });
    try {
      expect(pack.offers('captioner.decoderWithPast')).toBe(true);
      const session = await pack.session('captioner.decoderWithPast');
      expect(session.inputNames).toEqual([
        'input_ids',
        'position',
        'past_key_0',
        'past_value_0',
        'cross_key_0',
        'cross_value_0',
      ]);
      expect(session.outputNames).toEqual(['logits', 'present_key_0', 'present_value_0']);
      expect(session.inputs.past_key_0!.shape).toEqual(['B', 1, 'P', 3]);
      expect((await pack.session('captioner.cross')).outputNames).toEqual(['cross_key_0', 'cross_value_0']);
      expect((await pack.session('segmenter.decoderBatched')).inputs.point_coords!.shape[0]).toBe('B');
      expect(pack.providers().map((p) => p.role)).toEqual([
        'segmenter.decoderBatched',
        'captioner.cross',
        'captioner.decoderWithPast',
      ]);
    } finally {
      await pack.dispose();
    }
  });

  it('falls back to the full-prefix and batch-1 contracts for a pack without the optional graphs', async () => {
    const dir = await demoCopy((manifest) => {
      delete manifest.captioner.cross;
      delete manifest.captioner.decoderWithPast;
      delete manifest.segmenter.decoderBatched;
    });
    const summary = await validateModelPack(dir, { level: 'quick' });
    expect(summary.valid).toBe(true);
    expect(summary.contracts).toEqual({ captioner: 'full-prefix', segmenter: 'batch-1' });
    const pack = await loadModelPack(dir);
    try {
      expect(pack.offers('captioner.cross')).toBe(false);
      expect(packContracts(pack.manifest)).toEqual({ captioner: 'full-prefix', segmenter: 'batch-1' });
      await expect(pack.session('captioner.decoderWithPast')).rejects.toThrow(
        'the pack offers no captioner.decoderWithPast graph (its manifest lists none)',
      );
    } finally {
      await pack.dispose();
    }
  });

  it('refuses a cross graph without the cached decoder, naming both', async () => {
    const dir = await demoCopy((manifest) => {
      delete manifest.captioner.decoderWithPast;
    });
    const summary = await validateModelPack(dir);
    expect(summary.valid).toBe(false);
    expect(summary.issues.map((i) => i.message)).toContain(
      'model pack "demo", captioner.cross (captioner-cross.onnx): the manifest lists captioner.cross without captioner.decoderWithPast: the cached decoder needs both',
    );
  });

  it('refuses a cached decoder whose presents do not match its pasts', async () => {
    const dir = await demoCopy(async (manifest, folder) => {
      manifest.captioner.decoderWithPast = await graphFile(folder, 'bad-with-past.onnx', withPastGraph(2, 1));
    });
    const summary = await validateModelPack(dir);
    expect(summary.valid).toBe(false);
    const messages = summary.issues.map((i) => `${i.code}: ${i.tensor ?? ''}: ${i.message}`).join('\n');
    expect(messages).toContain('output-missing: present_key_1');
    expect(messages).toContain(
      'the decoder reads 2 past_key/past_value pairs but writes 1 present_key/present_value pairs',
    );
  });

  it('refuses a cross batch fixed in the graph when the manifest says the crops are grouped, and only then', async () => {
    const grouped = 'the graph fixes that batch at 1';
    const validate = async (crossGrouped: boolean) => {
      const dir = await demoCopy(async (manifest, folder) => {
        manifest.captioner.decoderWithPast = await graphFile(folder, 'one-crop.onnx', withPastGraph(1, 1, 1));
        manifest.captioner.crossGrouped = crossGrouped;
      });
      return (await validateModelPack(dir)).issues.map((i) => `${i.code}: ${i.tensor ?? ''}: ${i.message}`);
    };
    const refused = await validate(true);
    expect(
      refused.filter((m) => m.includes(grouped)).map((m) => m.split(':')[0] + ':' + m.split(':')[1]),
    ).toEqual(['dim-mismatch: cross_key_0', 'dim-mismatch: cross_value_0']);
    expect((await validate(false)).some((m) => m.includes(grouped))).toBe(false);
  });

  it('checks the with-past contract by canonical names, also through the manifest names mapping', () => {
    const meta = (name: string, shape: (number | string)[], type = 'float32') => ({
      name,
      isTensor: true as const,
      type: type as 'float32',
      shape,
    });
    const inputs = [
      meta('ids', ['B', 1], 'int64'),
      meta('position', [1], 'int64'),
      meta('past.0.key', ['B', 12, 'P', 64]),
      meta('past.0.value', ['B', 12, 'P', 64]),
      meta('cross_key_0', ['B', 12, 255, 64]),
      meta('cross_value_0', ['B', 12, 255, 64]),
    ];
    const outputs = [
      meta('logits', ['B', 49408]),
      meta('present_key_0', ['B', 12, 'P1', 64]),
      meta('present_value_0', ['B', 12, 'P1', 64]),
    ];
    const names = { input_ids: 'ids', past_key_0: 'past.0.key', past_value_0: 'past.0.value' };
    const contract = contractOf('captioner.decoderWithPast', inputs, outputs, names);
    expect(contract).toEqual(withPastContract(1, 1));
    expect(checkContract(contract, inputs, outputs, names).violations).toEqual([]);
    const wrong = checkContract(contract, inputs, [meta('logits', ['B', 1, 49408])], names).violations;
    expect(wrong.map((v) => v.code)).toEqual(['rank-mismatch', 'output-missing', 'output-missing']);
    expect(countIndexed(['past_key_0', 'past_value_0', 'past_key_3', 'cross_key_1'], 'past')).toBe(4);
    // cross_* are one crop's [1,Hx,T,Dx], broadcast over the rows: a graph fixing another cross batch cannot run
    const fixed = inputs.map((m) => (m.name.startsWith('cross_') ? meta(m.name, [3, 12, 255, 64]) : m));
    const refused = checkContract(contract, fixed, outputs, names).violations;
    expect(refused.map((v) => `${v.code} ${v.tensor}`)).toEqual([
      'dim-mismatch cross_key_0',
      'dim-mismatch cross_value_0',
    ]);
    expect(refused[0]!.detail).toContain('[1,Hx,T,Dx]');
  });
});
