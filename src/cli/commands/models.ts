import type { Command } from 'commander';
import { listModelPacks, modelRoots, validateModelPack } from '../../engine/runtime/index.ts';
import type { PackSummary } from '../../shared/models.ts';
import { registerBuildDemo } from './demo.ts';

/**
 * Registers `models` with `list`, `validate` and (from demo.ts) `build-demo`.
 *
 * `models validate <dir>` exits 0 when the pack is valid and 1 otherwise, printing every issue.
 */
export function registerModels(program: Command): void {
  const models = program.command('models').description('list, validate and build model packs');

  models
    .command('list')
    .description('list the model packs found in resources/models, $PSEUDO_RIS_MODELS and --dir folders')
    .option('--dir <folder...>', 'extra folders to search (a pack folder, or a folder of packs)', [])
    .option('--full', 'validate fully (checksums and sessions) instead of the quick file check', false)
    .option('--json', 'print JSON', false)
    .action(async (options: { dir: string[]; full: boolean; json: boolean }) => {
      const packs = await listModelPacks(options.dir, { level: options.full ? 'full' : 'quick' });
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ roots: modelRoots(options.dir), packs }, null, 2)}\n`);
        return;
      }
      if (packs.length === 0) {
        process.stdout.write(
          `No model packs found in:\n${modelRoots(options.dir)
            .map((root) => `  ${root}\n`)
            .join(
              '',
            )}Build the demo pack with \`pseudo-ris models build-demo\`, or add a folder with --dir.\n`,
        );
        return;
      }
      for (const pack of packs) process.stdout.write(formatSummary(pack, options.full ? 'full' : 'quick'));
    });

  models
    .command('validate')
    .description(
      'check a pack: manifest schema, files, checksums, and every graph against the DESIGN §4 contracts',
    )
    .argument('<dir>', 'the pack folder (holding manifest.json)')
    .option('--json', 'print JSON', false)
    .action(async (dir: string, options: { json: boolean }) => {
      const summary = await validateModelPack(dir);
      if (options.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else process.stdout.write(formatSummary(summary, 'full'));
      if (!summary.valid) process.exitCode = 1;
    });

  registerBuildDemo(models);
}

/** One pack as text: a status line, then one line per issue. */
export function formatSummary(pack: PackSummary, level: 'quick' | 'full'): string {
  const tag = pack.demo ? ' [demo: shapes world, not a real model]' : '';
  const optional = pack.contracts
    ? (pack.contracts.captioner === 'cached' ? 2 : 0) + (pack.contracts.segmenter === 'batched' ? 1 : 0)
    : 0;
  const checked =
    level === 'full'
      ? `manifest, files, checksums and all ${7 + optional} graphs checked`
      : 'manifest and files checked';
  const contracts = pack.contracts
    ? `         contracts: captioner ${pack.contracts.captioner === 'cached' ? 'cached (cross + decoder with past)' : 'full-prefix only'}, segmenter ${pack.contracts.segmenter === 'batched' ? 'batched prompts' : 'batch-1 prompts'}\n`
    : '';
  const head = pack.valid
    ? `valid    ${pack.name}${tag}\n         ${pack.dir}\n         (${checked})\n${contracts}`
    : `INVALID  ${pack.name}${tag}\n         ${pack.dir}\n         ${pack.issues.length} issue${pack.issues.length === 1 ? '' : 's'}:\n`;
  return head + pack.issues.map((issue) => `  - [${issue.code ?? 'issue'}] ${issue.message}\n`).join('');
}
