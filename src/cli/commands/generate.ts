import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { openStages } from '../../engine/pipeline/engine.ts';
import { parseShard, recordShard } from '../../engine/pipeline/merge.ts';
import { runProject } from '../../engine/pipeline/run.ts';
import { imagePaths, Project } from '../../engine/pipeline/store/index.ts';
import { validateMaskImport } from '../../engine/segment/import.ts';
import { BoxesChangedError, boxesRecord } from '../../engine/segment/boxes.ts';
import { onnxRuntimeVersion } from '../../engine/runtime/index.ts';
import { EXIT } from '../exit.ts';
import type { RunProgress } from '../../shared/results.ts';
import { MODELS_OPTION_HELP, resolvePackDir } from '../pack.ts';
import {
  generateQueued,
  QUEUE_OPTIONS_HELP,
  reportFailedImages,
  shardPaths,
  type QueueFlags,
} from './queued.ts';
import {
  jsonSyntaxReason,
  parseSettings,
  parseTau,
  PRESETS,
  REFERENCE_DIFFERENCES,
  settingsPreset,
  type PresetName,
  type Settings,
} from '../../shared/settings.ts';

interface GenerateFlags {
  project: string;
  models?: string;
  preset?: string;
  settings?: string;
  seed?: string;
  maxMasks?: string;
  masks?: string;
  boxes?: string;
  pointsPerSide?: string;
  tau?: string;
  plain?: boolean;
  progress?: boolean;
}

type Flags = GenerateFlags & QueueFlags;

/** Registers `generate <images> --project <dir>`: runs (or resumes) the pipeline over a folder of images. */
export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('masks → crops → captions → scores → kept set for every image; resumes an interrupted run')
    .argument('[images]', "image folder or file (omit to resume the project's own list)")
    .requiredOption('--project <dir>', 'project folder (created if missing)')
    .option('--models <pack>', MODELS_OPTION_HELP)
    .option(
      '--preset <name>',
      `settings preset (${PRESETS.join(', ')}); "reference" still differs from the released code in: ${REFERENCE_DIFFERENCES.join('; ')}`,
    )
    .option('--settings <file>', 'settings JSON (overrides the preset; the CLI flags override both)')
    .option('--seed <n>', 'random seed')
    .option('--max-masks <k>', 'masks kept per image (K)')
    .option(
      '--masks <path>',
      'import masks (PNG folder <stem>/<k>.png or COCO JSON) instead of generating them',
    )
    .option(
      '--boxes <file>',
      'select the generated SAM masks with CutLER-style detections (COCO JSON with bbox [x,y,w,h], optional score ' +
        'and segmentation, or a bare detections list): each detection scoring above masks.boxesMinScore (0.5) ' +
        'takes the SAM mask it overlaps most, as the released Pseudo-RIS code (duplicates allowed, no K); without ' +
        'it the top-K heuristic (--max-masks) selects',
    )
    .option('--points-per-side <n>', 'SAM grid points per side')
    .option(
      '--tau <t>',
      'distinctiveness threshold τ (default 1.3, the paper’s Sec. 5.1; the released loader uses doc > 1)',
    )
    .option('--no-plain', 'skip the plain-sampling comparison candidates')
    .option('--no-progress', 'plain progress lines even on a terminal')
    .option(
      '--retry-failed',
      'also run again the images whose last result failed (e.g. after fixing the files)',
    )
    .option('--queue [url]', QUEUE_OPTIONS_HELP.queue)
    .option('--queue-url-file <file>', QUEUE_OPTIONS_HELP.queueUrlFile)
    .option('--queue-name <name>', QUEUE_OPTIONS_HELP.queueName)
    .option('--ship-images', QUEUE_OPTIONS_HELP.shipImages)
    .option('--max-image-mib <n>', QUEUE_OPTIONS_HELP.maxImageMib)
    .option('--attempts <n>', QUEUE_OPTIONS_HELP.attempts)
    .option('--shard <I/N>', QUEUE_OPTIONS_HELP.shard)
    .action(async (images: string | undefined, flags: Flags) => {
      const existing = tryOpen(flags.project);
      if (!images && !existing)
        throw new Error(
          `give an image folder: ${resolve(flags.project)} is not a project yet, so there is nothing to resume`,
        );
      const settings = resolveSettings(flags, existing?.file.settings);
      // a shard's project holds only its images: filter the listing (a resume uses the project's own list)
      const selected = flags.shard && images ? await shardPaths(images, flags.shard) : images;
      if (existing && existing.file.settings.filter.tau !== settings.filter.tau)
        process.stderr.write(
          `note: τ of the project changes from ${existing.file.settings.filter.tau} to ${settings.filter.tau} (kept sets use the new τ; results stay as they are)\n`,
        );
      // the import source is checked before any image runs: a broken file is one error now, not N failed images
      // the images of this run: the (shard's) listing, or a resume's own list
      const imageFiles = () =>
        selected !== undefined ? imagePaths(selected) : (existing?.file.images.map((e) => e.path) ?? []);
      if (settings.masks.source === 'imported') {
        const { unknown } = await validateMaskImport(settings.masks.importPath!, imageFiles());
        warnUnknownImages(`mask import ${settings.masks.importPath}`, unknown);
      }
      if (settings.masks.selection === 'boxes') await checkBoxes(settings, imageFiles());
      // a shard records its place in the split, for merge to name missing shards (merge.ts)
      const recordPlace = () => {
        if (flags.shard && images && existsSync(join(flags.project, 'project.json')))
          recordShard(flags.project, { ...parseShard(flags.shard), source: images });
      };
      if (flags.queue || flags.queueUrlFile || flags.shipImages) {
        try {
          return await generateQueued({ flags, images: selected, settings, versions: versions() });
        } finally {
          recordPlace();
        }
      }
      const stages = await openStages(await resolvePackDir(flags.models));
      // Ctrl-C once: pause (the image in flight is finished and committed); twice: cancel (the image in flight stops
      // uncommitted and stays pending); three times: quit at once. Every way, a later run resumes.
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts === 1) {
          process.stderr.write(
            '\nstopping after the current image (Ctrl-C again to drop it; the run resumes later)\n',
          );
        } else if (interrupts === 2) {
          process.stderr.write('\ncancelling the current image (Ctrl-C again to quit now)\n');
          controller.abort();
        } else {
          process.exit(EXIT.interrupted);
        }
      };
      process.on('SIGINT', onSigint);
      const reporter = progressReporter(flags.progress !== false && Boolean(process.stderr.isTTY));
      try {
        const summary = await runProject({
          project: flags.project,
          images: selected ?? undefined,
          settings,
          stages,
          pack: stages.packInfo,
          versions: versions(),
          onProgress: reporter.update,
          signal: controller.signal,
          retryFailed: flags.retryFailed === true,
          paused: () => interrupts > 0,
        });
        reporter.stop();
        process.stdout.write(
          `${summary.cancelled ? 'stopped' : 'done'}: ${summary.imagesDone}/${summary.imagesTotal} images (${summary.imagesSkipped} already committed, ${summary.imagesFailed} failed) in ${summary.seconds.toFixed(1)} s → ${summary.project}\n`,
        );
        if (summary.cancelled) process.exitCode = EXIT.interrupted;
        else if (summary.imagesFailed > 0) {
          process.exitCode = EXIT.imagesFailed;
          reportFailedImages(summary.project);
        }
      } finally {
        reporter.stop();
        process.off('SIGINT', onSigint);
        await stages.dispose();
        recordPlace();
      }
    });
}

/**
 * Opens the boxes file before any image runs (a missing or malformed file is one error now, not N failed images),
 * records its SHA-256 in the settings (a project made with other content then refuses the run, naming the change),
 * refuses a file changed since the settings recorded it, and warns of names in it that match no image of the run.
 */
async function checkBoxes(settings: Settings, imageFiles: string[]): Promise<void> {
  try {
    const { boxes, sha256 } = await boxesRecord(settings.masks);
    settings.masks.boxesSha256 = sha256;
    warnUnknownImages(`boxes ${boxes.path}`, boxes.unknownImages(imageFiles));
  } catch (error) {
    if (!(error instanceof BoxesChangedError)) throw error;
    throw new Error(
      `${error.message}: results depend on its content; restore it, or pass --boxes with a new --project`,
      { cause: error },
    );
  }
}

/** Warns of names in an import file that match no image of the run (they are ignored). */
function warnUnknownImages(source: string, unknown: readonly string[]): void {
  if (unknown.length > 0)
    process.stderr.write(
      `warning: ${source} names ${unknown.length} image(s) not in this run, ignored: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}\n`,
    );
}

function tryOpen(dir: string): Project | null {
  try {
    return Project.open(dir);
  } catch {
    return null;
  }
}

/** Preset → settings file → the project's settings (resume) → flags. */
function resolveSettings(flags: GenerateFlags, stored: Settings | undefined): Settings {
  let base: Record<string, unknown>;
  if (flags.preset) {
    if (!(PRESETS as readonly string[]).includes(flags.preset))
      throw new Error(`--preset must be one of ${PRESETS.join(', ')}, got "${flags.preset}"`);
    base = settingsPreset(flags.preset as PresetName) as unknown as Record<string, unknown>;
  } else if (stored) {
    base = structuredClone(stored) as unknown as Record<string, unknown>;
  } else {
    base = settingsPreset('default') as unknown as Record<string, unknown>;
  }
  if (flags.settings) {
    let text: string;
    try {
      text = readFileSync(flags.settings, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new Error(`--settings ${flags.settings}: cannot be read (${code})`, { cause: error });
    }
    let file: Record<string, unknown>;
    try {
      file = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      // the reason never quotes the file (it may be any file the flag was pointed at)
      throw new Error(`--settings ${flags.settings}: ${jsonSyntaxReason(error)}`, { cause: error });
    }
    base = merge(base, file);
  }
  const s = base as {
    masks: Record<string, unknown>;
    captions: Record<string, unknown>;
    filter: Record<string, unknown>;
    seed?: number;
  };
  if (flags.seed !== undefined) s.seed = integer('--seed', flags.seed);
  if (flags.maxMasks !== undefined) s.masks.maxMasks = integer('--max-masks', flags.maxMasks);
  if (flags.pointsPerSide !== undefined)
    s.masks.pointsPerSide = integer('--points-per-side', flags.pointsPerSide);
  if (flags.masks !== undefined)
    Object.assign(s.masks, { source: 'imported', importPath: resolve(flags.masks) });
  // the file's hash is taken again from the file (checkBoxes): a changed file then differs from the project's record
  if (flags.boxes !== undefined)
    Object.assign(s.masks, { selection: 'boxes', boxesPath: resolve(flags.boxes), boxesSha256: undefined });
  if (flags.tau !== undefined) s.filter.tau = parseTau('--tau', flags.tau);
  if (flags.plain === false) s.captions.plainSampling = false;
  if (
    flags.preset ||
    flags.settings ||
    flags.seed ||
    flags.maxMasks ||
    flags.masks ||
    flags.boxes ||
    flags.pointsPerSide ||
    flags.plain === false
  ) {
    if (!flags.preset) (base as { preset?: string }).preset = 'custom';
  }
  return parseSettings(base);
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object'
        ? merge(a[k] as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

function integer(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`${flag} must be an integer, got "${value}"`);
  return n;
}

/** Versions recorded with the results and every export. */
export function versions(): Record<string, string> {
  const read = (path: string) => {
    try {
      return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  return {
    'pseudo-ris-studio': read(resolve(import.meta.dirname, '../../../package.json')),
    'onnxruntime-node': onnxRuntimeVersion() ?? 'unknown',
    sharp: read(resolve(import.meta.dirname, '../../../node_modules/sharp/package.json')),
    node: process.versions.node,
  };
}

function progressReporter(tty: boolean): { update: (p: RunProgress) => void; stop: () => void } {
  if (tty) {
    const bar = new SingleBar(
      {
        format: '{bar} {value}/{total} images · {stage} {image}{within} · {rate} img/min · ETA {eta_s2}',
        hideCursor: true,
        clearOnComplete: false,
      },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        const payload = {
          stage: p.stage,
          image: p.image ?? '',
          within: p.within ? ` ${p.within.done}/${p.within.total} ${p.within.unit}` : '',
          rate: p.rate.toFixed(1),
          eta_s2: p.etaSeconds === null ? '—' : `${Math.round(p.etaSeconds)} s`,
        };
        if (!started) {
          bar.start(p.imagesTotal, p.imagesDone, payload);
          started = true;
        } else bar.update(p.imagesDone, payload);
      },
      stop() {
        if (started) bar.stop();
        started = false;
      },
    };
  }
  let last = -1;
  let lastStage = '';
  return {
    update(p) {
      // one line per image and stage (the stage names the image), and one per committed image and at the end
      if (p.image && p.stage !== 'commit') {
        const key = `${p.image} ${p.stage}`;
        if (key !== lastStage)
          process.stderr.write(`[${p.imagesDone}/${p.imagesTotal}] ${p.stage} ${p.image}\n`);
        lastStage = key;
        return;
      }
      if (p.imagesDone === last && p.stage !== 'done' && p.stage !== 'paused' && p.stage !== 'cancelled')
        return;
      last = p.imagesDone;
      const eta = p.etaSeconds === null ? '' : `, ETA ${Math.round(p.etaSeconds)} s`;
      process.stderr.write(
        `[${p.imagesDone}/${p.imagesTotal}] ${p.stage}${p.imagesFailed ? `, ${p.imagesFailed} failed` : ''}, ${p.rate.toFixed(1)} img/min${eta}\n`,
      );
    },
    stop() {},
  };
}
