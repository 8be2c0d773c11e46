/**
 * The demo model pack builder (DESIGN.md §6): the seven demo ONNX graphs, `tokenizer.json` and `manifest.json`,
 * written deterministically into a folder that the runtime opens like any real pack.
 *
 * The build takes well under a second, so {@link ensureDemoPack} rebuilds in memory and compares build ids (a hash of
 * the manifest, which lists every file's SHA-256): a pack built by an older generator is replaced automatically,
 * with no version number to remember to bump.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Manifest } from '../runtime/index.ts';
import { buildDemoCaptioner } from './captioner.ts';
import { buildDemoScorer } from './scorer.ts';
import { buildDemoSegmenter } from './segmenter.ts';

/** Name of the demo pack (its folder under resources/models/). */
export const DEMO_PACK_NAME = 'demo';

/** What the demo pack is, as every listing shows it. */
export const DEMO_PACK_DESCRIPTION =
  'Demo pack for exercising the pipeline on the generated shapes world: small hand-built ONNX graphs with the exact ' +
  'SAM, CoCa and CLIP contracts that compute colour, shape and pattern features from pixels. It is not a real ' +
  'model and gives meaningless results on real photos.';

/** Side file holding the build id of the pack in a folder. */
export const BUILD_ID_FILE = 'build-id';

const FILES = {
  segmenterEncoder: 'segmenter-encoder.onnx',
  segmenterDecoder: 'segmenter-decoder.onnx',
  segmenterDecoderBatched: 'segmenter-decoder-batched.onnx',
  captionerVisual: 'captioner-visual.onnx',
  captionerText: 'captioner-text.onnx',
  captionerDecoder: 'captioner-decoder.onnx',
  captionerCross: 'captioner-cross.onnx',
  captionerDecoderWithPast: 'captioner-decoder-with-past.onnx',
  scorerImage: 'scorer-image.onnx',
  scorerText: 'scorer-text.onnx',
  tokenizer: 'tokenizer.json',
} as const;

/** The pack in memory: file name → bytes (manifest.json included), and its build id. */
export interface DemoPackFiles {
  files: Map<string, Uint8Array>;
  manifest: Manifest;
  buildId: string;
}

/** Builds every file of the demo pack in memory (deterministic: same bytes on every call). */
export function buildDemoPackFiles(): DemoPackFiles {
  const segmenter = buildDemoSegmenter();
  const captioner = buildDemoCaptioner();
  const scorer = buildDemoScorer();
  const files = new Map<string, Uint8Array>([
    [FILES.segmenterEncoder, segmenter.encoder],
    [FILES.segmenterDecoder, segmenter.decoder],
    [FILES.segmenterDecoderBatched, segmenter.decoderBatched],
    [FILES.captionerVisual, captioner.visual],
    [FILES.captionerText, captioner.text],
    [FILES.captionerDecoder, captioner.decoder],
    [FILES.captionerCross, captioner.cross],
    [FILES.captionerDecoderWithPast, captioner.decoderWithPast],
    [FILES.scorerImage, scorer.image],
    [FILES.scorerText, scorer.text],
    [FILES.tokenizer, new TextEncoder().encode(captioner.tokenizerJson)],
  ]);
  const entry = (file: string) => {
    const bytes = files.get(file) as Uint8Array;
    return { file, sha256: sha256(bytes), bytes: bytes.length };
  };
  const crop = {
    size: 224,
    mean: [0.48145466, 0.4578275, 0.40821073],
    std: [0.26862954, 0.26130258, 0.27577711],
  } as {
    size: number;
    mean: [number, number, number];
    std: [number, number, number];
  };
  const manifest: Manifest = {
    format: 'pseudo-ris-model-pack',
    version: 1,
    name: DEMO_PACK_NAME,
    description: DEMO_PACK_DESCRIPTION,
    demo: true,
    segmenter: {
      kind: 'sam',
      encoder: entry(FILES.segmenterEncoder),
      decoder: entry(FILES.segmenterDecoder),
      decoderBatched: entry(FILES.segmenterDecoderBatched),
      preprocess: { longestSide: 1024, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] },
      maskThreshold: 0,
    },
    captioner: {
      kind: 'coca',
      visual: entry(FILES.captionerVisual),
      text: entry(FILES.captionerText),
      decoder: entry(FILES.captionerDecoder),
      cross: entry(FILES.captionerCross),
      decoderWithPast: entry(FILES.captionerDecoderWithPast),
      crossGrouped: true,
      tokenizer: FILES.tokenizer,
      specialTokens: { ...captioner.specialTokens },
      vocabSize: captioner.vocabSize,
      preprocess: crop,
    },
    scorer: {
      kind: 'clip',
      image: entry(FILES.scorerImage),
      text: entry(FILES.scorerText),
      tokenizer: FILES.tokenizer,
      specialTokens: { ...captioner.specialTokens },
      contextLength: 77,
      logitScale: 100,
      preprocess: crop,
    },
  };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n');
  files.set('manifest.json', manifestBytes);
  return { files, manifest, buildId: sha256(manifestBytes) };
}

/**
 * Writes the demo pack into `outDir` (created if missing; existing pack files are overwritten) and returns its
 * manifest. Files are written to temporary names and renamed, manifest last.
 */
export async function buildDemoPack(outDir: string): Promise<Manifest> {
  const pack = buildDemoPackFiles();
  await writePack(resolve(outDir), pack);
  return pack.manifest;
}

/** Default location of the demo pack: `<repo>/resources/models/demo`. */
export function defaultDemoPackDir(): string {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return join(repo, 'resources', 'models', DEMO_PACK_NAME);
}

/** Options of {@link ensureDemoPack}. */
export interface EnsureDemoPackOptions {
  /** How long to wait for another process that is building the same pack (ms). */
  waitMs?: number;
}

/**
 * Makes sure an up-to-date demo pack is in `dir` (default `<repo>/resources/models/demo`) and returns the folder.
 *
 * Skips the write when the folder's build id matches a fresh in-memory build and every file has its size. Otherwise
 * builds into a temporary sibling folder and swaps it in under a lock folder (`<dir>.lock`, atomic `mkdir`), so two
 * processes calling it at once never see a half-written pack; a lock older than the wait is treated as stale.
 */
export async function ensureDemoPack(
  dir: string = defaultDemoPackDir(),
  options: EnsureDemoPackOptions = {},
): Promise<string> {
  const target = resolve(dir);
  const waitMs = options.waitMs ?? 60_000;
  const pack = buildDemoPackFiles();
  if (await isCurrent(target, pack)) return target;
  await mkdir(dirname(target), { recursive: true });
  const lock = `${target}.lock`;
  const started = Date.now();
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await isCurrent(target, pack)) return target;
      const age = await lockAge(lock);
      if (age !== null && age > waitMs) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - started > 2 * waitMs) {
        throw new Error(
          `ensureDemoPack: timed out waiting for ${lock} (another process is building the demo pack)`,
          { cause: error },
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    await removeLeftovers(target);
    if (await isCurrent(target, pack)) return target;
    const suffix = `${process.pid}-${Date.now()}`;
    const fresh = `${target}.tmp-${suffix}`;
    const old = `${target}.old-${suffix}`;
    await writePack(fresh, pack);
    if (existsSync(target)) await rename(target, old);
    await rename(fresh, target);
    await rm(old, { recursive: true, force: true });
    return target;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * Removes `<dir>.tmp-*` and `<dir>.old-*` siblings left by a process killed mid-swap (called under the lock), so
 * they are never listed as packs.
 */
async function removeLeftovers(target: string): Promise<void> {
  const name = basename(target);
  for (const entry of await readdir(dirname(target))) {
    if (entry.startsWith(`${name}.tmp-`) || entry.startsWith(`${name}.old-`)) {
      await rm(join(dirname(target), entry), { recursive: true, force: true });
    }
  }
}

/** Whether `dir` holds exactly this build: same build id, every file present with its size. */
async function isCurrent(dir: string, pack: DemoPackFiles): Promise<boolean> {
  try {
    const id = (await readFile(join(dir, BUILD_ID_FILE), 'utf8')).trim();
    if (id !== pack.buildId) return false;
    for (const [file, bytes] of pack.files) {
      if ((await stat(join(dir, file))).size !== bytes.length) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function lockAge(lock: string): Promise<number | null> {
  try {
    return Date.now() - (await stat(lock)).mtimeMs;
  } catch {
    return null;
  }
}

async function writePack(dir: string, pack: DemoPackFiles): Promise<void> {
  await mkdir(dir, { recursive: true });
  const ordered = [...pack.files.keys()].filter((f) => f !== 'manifest.json').sort();
  for (const file of [...ordered, 'manifest.json']) {
    await writeAtomic(join(dir, file), pack.files.get(file) as Uint8Array);
  }
  await writeAtomic(join(dir, BUILD_ID_FILE), new TextEncoder().encode(pack.buildId + '\n'));
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  await writeFile(temporary, bytes);
  await rename(temporary, path);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
