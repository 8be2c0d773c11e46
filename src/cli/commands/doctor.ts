import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import sharp from 'sharp';
import {
  defaultProviders,
  listModelPacks,
  ModelPackError,
  onnxRuntimeVersion,
  packContracts,
  requestedProviders,
  supportedBackends,
} from '../../engine/runtime/index.ts';
import { openPack } from '../../engine/pipeline/engine.ts';
import {
  floatTensor,
  probeProviders,
  type BatchChoice,
  type ModelPack,
  type ProviderProbe,
} from '../../engine/runtime/index.ts';
import { missingCudaLibraries } from '../../engine/runtime/providers.ts';
import { promptsInMemory, SamModel } from '../../engine/segment/index.ts';
import { promptBatchLine } from './masks.ts';
import {
  OPTIONAL_ROLES,
  ROLES,
  type ExecutionProvider,
  type PackContracts,
  type PackRole,
  type ProviderInfo,
} from '../../shared/models.ts';

/** What `doctor` found, as printed by `--json`. */
export interface DoctorReport {
  node: string;
  platform: string;
  electron: { version?: string; binary: boolean; note: string };
  onnxruntime: {
    version?: string;
    backends: { name: string; bundled: boolean }[];
    cudaLibrariesMissing: string[];
  };
  sharp: { version?: string; libvips?: string };
  providers: { platformDefault: ExecutionProvider[]; requested: ExecutionProvider[]; forceCpu: boolean };
  /** Which providers can run here, found by running a tiny graph on each (not the build's list of names). */
  probes: ProviderProbe[];
  pack?: {
    name: string;
    dir: string;
    demo: boolean;
    roles: (ProviderInfo | { role: PackRole; error: string })[];
    /** The decoding contracts the pack offers (absent when it could not be opened). */
    contracts?: PackContracts;
    /**
     * Prompts per batched SAM decoder run as automatic masks would choose them, measured on a blank embedding at a
     * 1024×768 image (absent without the batched decoder).
     */
    promptBatch?:
      { image: { width: number; height: number }; line: string; choice: BatchChoice } | { error: string };
  };
  notes: string[];
}

/**
 * Registers `doctor`: versions, execution providers, and which provider each role of a pack runs on and why.
 *
 * Exit code 1 when a role of the pack could not be opened at all; a GPU → CPU fallback is reported, not failed.
 */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'print versions, available execution providers, and the provider each role of a pack uses and why',
    )
    .option(
      '--pack <dir>',
      'the pack to open (default: the first valid pack found, real packs before the demo)',
    )
    .option('--cpu', 'force CPU (as the forceCpu setting does)', false)
    .option('--json', 'print JSON', false)
    .action(async (options: { pack?: string; cpu: boolean; json: boolean }) => {
      const report = await diagnose(options.pack, options.cpu);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      if (report.pack?.roles.some((r) => 'error' in r)) process.exitCode = 1;
    });
}

/** Collects the doctor report; opens every role of the pack on the requested providers, then releases them. */
export async function diagnose(packDir: string | undefined, forceCpu: boolean): Promise<DoctorReport> {
  const require = createRequire(import.meta.url);
  const notes: string[] = [];
  const missing = process.platform === 'linux' && process.arch === 'x64' ? missingCudaLibraries() : [];
  if (missing.length > 0) {
    notes.push(
      'CUDA provider libraries are not installed: run `npm run gpu:setup` on a machine with an NVIDIA GPU (CUDA 12, cuDNN 9).',
    );
  }
  const report: DoctorReport = {
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    electron: electronInfo(require),
    onnxruntime: {
      version: onnxRuntimeVersion(),
      backends: supportedBackends(),
      cudaLibrariesMissing: missing,
    },
    sharp: { version: sharp.versions.sharp, libvips: sharp.versions.vips },
    providers: { platformDefault: defaultProviders(), requested: requestedProviders({ forceCpu }), forceCpu },
    probes: await probeProviders(),
    notes,
  };
  let dir = packDir;
  if (!dir) {
    const packs = (await listModelPacks()).filter((p) => p.valid);
    const chosen = packs.find((p) => !p.demo) ?? packs[0];
    if (!chosen) {
      notes.push(
        'No valid model pack found: build the demo pack with `pseudo-ris models build-demo`, or pass --pack <dir>.',
      );
      return report;
    }
    dir = chosen.dir;
  }
  let pack;
  try {
    pack = await openPack(dir, { forceCpu, verifyChecksums: false });
  } catch (error) {
    notes.push(
      `The pack at ${dir} could not be opened: ${error instanceof Error ? error.message : String(error)}`,
    );
    report.pack = { name: error instanceof ModelPackError ? error.pack : dir, dir, demo: false, roles: [] };
    report.pack.roles = ROLES.map((role) => ({ role, error: 'pack not opened' }));
    return report;
  }
  try {
    const roles: NonNullable<DoctorReport['pack']>['roles'] = [];
    for (const role of [...ROLES, ...OPTIONAL_ROLES.filter((r) => pack.offers(r))]) {
      try {
        roles.push((await pack.session(role)).providerInfo);
      } catch (error) {
        roles.push({ role, error: error instanceof Error ? error.message : String(error) });
      }
    }
    report.pack = {
      name: pack.name,
      dir: pack.dir,
      demo: pack.manifest.demo,
      roles,
      contracts: packContracts(pack.manifest),
      ...(pack.offers('segmenter.decoderBatched') ? { promptBatch: await measurePromptBatch(pack) } : {}),
    };
    if (pack.manifest.demo)
      notes.push(
        `"${pack.name}" is the demo pack: small generated graphs for the shapes world, not real models.`,
      );
  } finally {
    await pack.dispose();
  }
  return report;
}

/** The automatic prompt batch on a blank embedding at 1024×768, for the prompts of one generator chunk. */
async function measurePromptBatch(
  pack: ModelPack,
): Promise<NonNullable<DoctorReport['pack']>['promptBatch']> {
  const image = { width: 1024, height: 768 };
  try {
    const model = await SamModel.open(pack);
    const declared = model.batched!.inputs.image_embeddings!.shape;
    const dims = declared.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const embeddings = floatTensor(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
    // the prompts of one decode call of automatic masks: points_per_batch 64, capped by the masks' memory
    const total = Math.min(64, promptsInMemory(image));
    const choice = await model.measurePromptBatch(
      embeddings,
      image,
      { points: [{ x: image.width / 2, y: image.height / 2, label: 1 }] },
      total,
    );
    return { image, line: promptBatchLine(model.path, choice), choice };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** The report as text. */
export function formatReport(report: DoctorReport): string {
  const lines = [
    `Node         ${report.node} (${report.platform})`,
    `Electron     ${report.electron.version ?? 'not installed'}${report.electron.version ? ` — ${report.electron.note}` : ''}`,
    `ORT          onnxruntime-node ${report.onnxruntime.version ?? '?'}`,
    `sharp        ${report.sharp.version ?? '?'} (libvips ${report.sharp.libvips ?? '?'})`,
    `Backends     ${report.onnxruntime.backends.map((b) => `${b.name}${b.bundled ? '' : ' (not bundled)'}`).join(', ')}`,
    `Providers    platform default ${report.providers.platformDefault.join(' → ')}; requested ${report.providers.requested.join(' → ')}${report.providers.forceCpu ? ' (CPU forced)' : ''}`,
    'Can run      (a one-node graph created and run on each provider alone)',
    ...report.probes.map(
      (p) =>
        `  ${p.provider.padEnd(18)} ${p.runs ? `yes (${p.milliseconds.toFixed(0)} ms)` : `no: ${p.reason ?? ''}`}${p.engine ? '' : ' [not used by the engine]'}`,
    ),
  ];
  if (report.pack) {
    lines.push(`Pack         ${report.pack.name}${report.pack.demo ? ' [demo]' : ''} — ${report.pack.dir}`);
    const contracts = report.pack.contracts;
    if (contracts)
      lines.push(
        `Contracts    captioner ${contracts.captioner === 'cached' ? 'cached (cross + decoder with past)' : 'full-prefix only'}; segmenter ${contracts.segmenter === 'batched' ? 'batched prompts' : 'batch-1 prompts'}`,
      );
    const batch = report.pack.promptBatch;
    if (batch)
      lines.push(
        'error' in batch
          ? `Masks        prompt batch not measured: ${batch.error}`
          : `Masks        at ${batch.image.width}×${batch.image.height}, ${batch.line}`,
      );
    let previous: string | undefined;
    for (const role of report.pack.roles) {
      if ('error' in role) {
        lines.push(`  ${role.role.padEnd(18)} FAILED: ${role.error}`);
        continue;
      }
      const reason =
        role.fallbackReason === undefined
          ? ''
          : role.fallbackReason === previous
            ? ' — fell back (same reason)'
            : ` — fell back: ${role.fallbackReason}`;
      lines.push(`  ${role.role.padEnd(18)} ${role.used}${reason}`);
      previous = role.fallbackReason ?? previous;
    }
  }
  for (const note of report.notes) lines.push(`Note: ${note}`);
  return `${lines.join('\n')}\n`;
}

function packageVersion(require: NodeJS.Require, name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version?: string })
      .version;
  } catch {
    return undefined;
  }
}

function electronInfo(require: NodeJS.Require): DoctorReport['electron'] {
  const running = process.versions.electron;
  if (running) return { version: running, binary: true, note: 'running inside Electron' };
  const version = packageVersion(require, 'electron');
  if (!version)
    return { binary: false, note: 'electron is not installed (the CLI and served mode do not need it)' };
  // electron/path.txt names the binary inside electron/dist once the postinstall download succeeded.
  const root = dirname(require.resolve('electron/package.json'));
  const pathFile = join(root, 'path.txt');
  const binary =
    existsSync(pathFile) && existsSync(join(root, 'dist', readFileSync(pathFile, 'utf8').trim()));
  return {
    version,
    binary,
    note: binary
      ? 'binary present'
      : 'binary not downloaded (run `npm run electron:setup`; CLI and served mode work without it)',
  };
}
