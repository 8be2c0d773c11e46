import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import {
  BUILD_ID_FILE,
  buildDemoPackFiles,
  defaultDemoPackDir,
  ensureDemoPack,
  generateScenes,
  shareTwoAttributes,
} from '../../engine/demo/index.ts';

/** Registers `demo scenes`: the shapes world's scene generator. */
export function registerDemo(program: Command): void {
  const demo = program
    .command('demo')
    .description('the shapes world: generated scenes with ground truth for the demo pack');
  demo
    .command('scenes')
    .description(
      'write deterministic PNG scenes and ground-truth.json (COCO RLE masks, attributes) into a folder',
    )
    .requiredOption('--out <dir>', 'output folder (created if missing)')
    .option('--count <n>', 'number of scenes', integer('--count', 1), 20)
    .option('--seed <s>', 'seed: the same seed gives byte-identical files', integer('--seed', 0), 1)
    .action(async (options: { out: string; count: number; seed: number }) => {
      const outDir = resolve(options.out);
      const truth = await generateScenes({ count: options.count, seed: options.seed, outDir });
      const objects = truth.images.reduce((sum, image) => sum + image.objects.length, 0);
      const share = shareTwoAttributes(truth.images);
      process.stdout.write(
        `wrote ${truth.images.length} scenes (${objects} objects, ${(100 * share).toFixed(0)} % sharing two attributes ` +
          `with another object) and ground-truth.json to ${outDir}\n`,
      );
    });
}

/** Registers `models build-demo` on the `models` command (called from models.ts). */
export function registerBuildDemo(models: Command): void {
  models
    .command('build-demo')
    .description(
      'build the demo model pack (a demo for exercising the pipeline, not a real model); skipped when up to date',
    )
    .option('--out <dir>', 'pack folder', defaultDemoPackDir())
    .action(async (options: { out: string }) => {
      const dir = resolve(options.out);
      const before = await readFile(join(dir, BUILD_ID_FILE), 'utf8').catch(() => '');
      const started = Date.now();
      await ensureDemoPack(dir);
      const { files, buildId } = buildDemoPackFiles();
      const state = before.trim() === buildId ? 'already up to date' : `built in ${Date.now() - started} ms`;
      process.stdout.write(`demo pack ${state}: ${dir}\n`);
      for (const [file, bytes] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
        process.stdout.write(`  ${file.padEnd(24)} ${String(bytes.length).padStart(8)} bytes\n`);
      }
    });
}

function integer(flag: string, min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${flag} must be an integer ≥ ${min}, got "${value}"`);
    }
    return n;
  };
}
