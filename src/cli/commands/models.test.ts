import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindingDir } from '../../engine/runtime/providers.ts';
import { TEST_FILES, testEncoder, writeTestPack } from '../../engine/testing/pack.ts';
import { ROLES, type PackSummary } from '../../shared/models.ts';
import type { DoctorReport } from './doctor.ts';
import { runCli, type CliRun } from '../run-cli.ts';

let root: string;

/** Runs the real CLI entry in a child process. */
function cli(args: string[]): Promise<CliRun> {
  return runCli(args, { timeout: 90_000, env: { ...process.env, PSEUDO_RIS_MODELS: '' } });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pseudo-ris-cli-'));
  await writeTestPack(join(root, 'packs', 'good'), { name: 'good-pack' });
  await writeTestPack(join(root, 'packs', 'broken'), {
    name: 'broken-pack',
    graphs: { 'segmenter.encoder': testEncoder({ inputName: 'pixel_values' }) },
  });
  await writeFile(
    join(root, 'packs', 'broken', TEST_FILES['scorer.image']),
    'version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n',
  );
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pseudo-ris models validate', () => {
  it('exits 0 on a valid pack and says what was checked', async () => {
    const run = await cli(['models', 'validate', join(root, 'packs', 'good')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('valid    good-pack');
    expect(run.stdout).toContain('manifest, files, checksums and all 7 graphs checked');
  });

  it('exits 1 on a broken pack and prints every issue', async () => {
    const run = await cli(['models', 'validate', join(root, 'packs', 'broken')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('INVALID  broken-pack');
    expect(run.stdout).toContain('3 issues:');
    expect(run.stdout).toContain(
      '- [input-missing] model pack "broken-pack", segmenter.encoder (sam_encoder.onnx), tensor "image": the graph has no input "image"; its inputs are "pixel_values"',
    );
    expect(run.stdout).toContain('- [input-unexpected]');
    expect(run.stdout).toContain(
      '- [lfs-pointer] model pack "broken-pack", scorer.image (clip_image.onnx): file is a Git-LFS pointer',
    );
  });

  it('prints the summary as JSON with --json', async () => {
    const run = await cli(['models', 'validate', '--json', join(root, 'nothing-here')]);
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout) as PackSummary;
    expect(summary.valid).toBe(false);
    expect(summary.issues[0].code).toBe('manifest-missing');
  });
});

describe('pseudo-ris models list', () => {
  it('lists the packs of --dir with their state', async () => {
    const run = await cli(['models', 'list', '--json', '--dir', join(root, 'packs')]);
    expect(run.code).toBe(0);
    const { roots, packs } = JSON.parse(run.stdout) as { roots: string[]; packs: PackSummary[] };
    expect(roots).toContain(join(root, 'packs'));
    const ours = packs.filter((p) => p.dir.startsWith(root)).map((p) => [p.name, p.valid]);
    // The quick listing catches the LFS pointer; the renamed input needs the full validation.
    expect(ours).toEqual([
      ['broken-pack', false],
      ['good-pack', true],
    ]);
  });
});

describe('pseudo-ris doctor', () => {
  const cudaMissing =
    process.platform === 'linux' &&
    process.arch === 'x64' &&
    !existsSync(join(bindingDir() ?? '/nonexistent', 'libonnxruntime_providers_cuda.so'));

  it('reports versions, backends and the provider of every role with the fallback reason', async () => {
    const run = await cli(['doctor', '--json', '--pack', join(root, 'packs', 'good')]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.node).toBe(process.version);
    expect(report.onnxruntime.version).toBe('1.30.0');
    expect(report.onnxruntime.backends.map((b) => b.name)).toContain('cpu');
    // probed by running a graph on each provider, not read from the build's list
    expect(report.probes.find((p) => p.provider === 'cpu')).toMatchObject({ runs: true, engine: true });
    if (cudaMissing)
      expect(report.probes.find((p) => p.provider === 'cuda')).toMatchObject({
        runs: false,
        reason: expect.stringContaining('not installed') as unknown,
      });
    expect(report.pack?.name).toBe('good-pack');
    expect(report.pack?.roles.map((r) => r.role)).toEqual([...ROLES]);
    for (const role of report.pack!.roles) {
      expect('error' in role).toBe(false);
      if ('error' in role) continue;
      expect(role.used).toBe('cpu');
      if (cudaMissing) {
        expect(role.requested).toEqual(['cuda', 'cpu']);
        expect(role.fallbackReason).toContain('cuda skipped: libonnxruntime_providers_shared.so');
      }
    }
  });

  it('forces CPU with --cpu and prints a readable report', async () => {
    const run = await cli(['doctor', '--cpu', '--pack', join(root, 'packs', 'good')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Node {9}v\d+/);
    expect(run.stdout).toContain('requested cpu (CPU forced)');
    expect(run.stdout).toMatch(/ {2}segmenter\.encoder {2}cpu\n/);
    expect(run.stdout).not.toContain('fell back');
  });

  it('exits 1 when a role of the pack cannot be opened', async () => {
    const run = await cli(['doctor', '--cpu', '--pack', join(root, 'packs', 'broken')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('The pack at');
    expect(run.stdout).toContain('Git-LFS pointer');
  });
});
