import type { Command } from 'commander';
import { parseTau } from '../../shared/settings.ts';
import {
  hasRefs,
  SPLITTABLE_FORMATS,
  EXPORT_FORMATS,
  exportProject,
  REFER_DATASETS,
  SINGLE_MASK_POLICIES,
  SPLIT_BY,
  type ExportFormat,
  type ExportOptions,
  type SingleMaskOption,
} from '../../engine/dataset/export.ts';

interface ExportFlags {
  format: string;
  out?: string;
  tau?: string;
  dataset?: string;
  splitBy?: string;
  split?: string;
  splitByImage?: string;
  splitSeed?: string;
  cocoNames?: boolean;
  singleMask?: string;
  appendTo?: string;
  overwrite?: boolean;
  allowRepeat?: boolean;
  keepDuplicates?: boolean;
  captionText?: string;
}

const SPLIT_BYS = Object.entries(SPLIT_BY)
  .map(([d, by]) => `${d}: ${by.join('/')}`)
  .join('; ');

/** Registers `export <project> --format … --out <dir>` (or `--append-to <export>`). */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write the kept expressions as a RIS training set (+ export-record.json)')
    .argument('<project>', 'project folder')
    .requiredOption('--format <format>', `one of ${EXPORT_FORMATS.join(', ')}`)
    .option('--out <dir>', 'output folder')
    .option('--tau <t>', "distinctiveness threshold τ (default: the project's)")
    .option('--dataset <name>', `refcoco/cris dataset name (${REFER_DATASETS.join(', ')}; default refcocog)`)
    .option('--split-by <name>', `refcoco/cris splitBy (${SPLIT_BYS}; default the first)`)
    .option('--split <name>', 'refcoco/cris: the split of every ref (train, val, test, testA, testB, testC)')
    .option(
      '--split-by-image <spec>',
      'refcoco/cris: split images by share, e.g. train=0.8,val=0.1,test=0.1 (deterministic from image content)',
    )
    .option('--split-seed <n>', "seed of --split-by-image (default: the project's seed)")
    .option('--coco-names', 'refcoco/cris: name images COCO_train2014_%012d.jpg after their image id')
    .option(
      '--single-mask <policy>',
      `images with one mask: ${SINGLE_MASK_POLICIES.join(', ')} (cos-top-half = the reference loader's top half by CoS; default project)`,
    )
    .option(
      '--append-to <dir>',
      'refcoco/cris: add this project to an existing export (fresh ids, no name clash)',
    )
    .option(
      '--keep-duplicates',
      'refcoco/cris: export every kept caption of a mask, repeats included (as the released loader weighs them)',
    )
    .option(
      '--caption-text <text>',
      "trimmed, or released: the released code's text (trailing space, the '!' run of a pad-stopped caption); default the project's filter.captionText",
    )
    .option('--overwrite', 'replace --out when it is not empty (else it must be a new or empty folder)')
    .option(
      '--allow-repeat',
      'with --append-to: add images the export already holds (same content); refused otherwise',
    )
    .action(async (project: string, flags: ExportFlags) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(flags.format)) {
        throw new Error(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${flags.format}"`);
      }
      if (flags.split !== undefined && flags.splitByImage !== undefined)
        throw new Error('give --split or --split-by-image, not both');
      if ((flags.out === undefined) === (flags.appendTo === undefined))
        throw new Error('give --out <dir> for a new export or --append-to <dir> to add to one (exactly one)');
      if (!hasRefs(flags.format)) {
        const given = (
          [
            ['--dataset', flags.dataset],
            ['--split-by', flags.splitBy],
            ['--split', flags.split],
            ['--split-by-image', flags.splitByImage],
            ['--split-seed', flags.splitSeed],
            ['--coco-names', flags.cocoNames],
            ['--append-to', flags.appendTo],
            ['--allow-repeat', flags.allowRepeat],
            ['--keep-duplicates', flags.keepDuplicates],
          ] as const
        ).filter(([, v]) => v !== undefined);
        if (given.length > 0)
          throw new Error(
            `${given.map(([f]) => f).join(', ')}: only for --format ${SPLITTABLE_FORMATS.join(' or ')}, not ${flags.format}`,
          );
      }
      if (flags.overwrite && flags.appendTo !== undefined)
        throw new Error('--overwrite replaces --out; it does not apply to --append-to');
      if (flags.allowRepeat && flags.appendTo === undefined)
        throw new Error('--allow-repeat applies to --append-to only');
      if (flags.captionText !== undefined && !['trimmed', 'released'].includes(flags.captionText))
        throw new Error(`--caption-text must be trimmed or released, got "${flags.captionText}"`);
      let tau: number | undefined;
      if (flags.tau !== undefined) {
        tau = parseTau('--tau', flags.tau);
      }
      let splitSeed: number | undefined;
      if (flags.splitSeed !== undefined) {
        splitSeed = Number(flags.splitSeed);
        if (!Number.isInteger(splitSeed))
          throw new Error(`--split-seed must be an integer, got "${flags.splitSeed}"`);
      }
      const summary = await exportProject(project, {
        format: flags.format as ExportFormat,
        out: flags.out ?? flags.appendTo!,
        appendTo: flags.appendTo,
        tau,
        dataset: flags.dataset,
        splitBy: flags.splitBy,
        split: flags.splitByImage ?? flags.split,
        splitSeed,
        cocoNames: flags.cocoNames,
        singleMask: flags.singleMask as SingleMaskOption | undefined,
        overwrite: flags.overwrite,
        allowRepeat: flags.allowRepeat,
        keepDuplicates: flags.keepDuplicates,
        captionText: flags.captionText as ExportOptions['captionText'],
      });
      for (const warning of summary.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
      const splits = summary.splits
        ? ` [${summary.splits.map((s) => `${s.name}: ${s.images} images, ${s.refs} refs`).join('; ')}]`
        : '';
      process.stdout.write(
        `${summary.format}: ${summary.images} images, ${summary.refs} ${summary.format === 'masks' ? 'masks' : 'refs'}, ${summary.expressions} expressions at τ=${summary.tau} → ${summary.dest} (${summary.files.length} files)${splits}\n`,
      );
    });
}
