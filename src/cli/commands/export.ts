import type { Command } from 'commander';
import { parseTau } from '../../shared/settings.ts';
import {
  EXPORT_FORMATS,
  exportProject,
  REFER_DATASETS,
  type ExportFormat,
} from '../../engine/dataset/export.ts';

interface ExportFlags {
  format: string;
  out: string;
  tau?: string;
  dataset?: string;
  splitBy?: string;
  split?: string;
}

/** Registers `export <project> --format … --out <dir> [--tau T]`. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write the kept expressions as a RIS training set (+ export-record.json)')
    .argument('<project>', 'project folder')
    .requiredOption('--format <format>', `one of ${EXPORT_FORMATS.join(', ')}`)
    .requiredOption('--out <dir>', 'output folder')
    .option('--tau <t>', "distinctiveness threshold τ (default: the project's)")
    .option('--dataset <name>', `refcoco/cris dataset name (${REFER_DATASETS.join(', ')})`, 'refcocog')
    .option('--split-by <name>', 'refcoco: refs(<splitBy>).p (default umd for refcocog, unc otherwise)')
    .option('--split <name>', 'split written for every ref', 'train')
    .action(async (project: string, flags: ExportFlags) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(flags.format)) {
        throw new Error(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${flags.format}"`);
      }
      let tau: number | undefined;
      if (flags.tau !== undefined) {
        tau = parseTau('--tau', flags.tau);
      }
      const summary = await exportProject(project, {
        format: flags.format as ExportFormat,
        out: flags.out,
        tau,
        dataset: flags.dataset as (typeof REFER_DATASETS)[number],
        splitBy: flags.splitBy,
        split: flags.split,
      });
      process.stdout.write(
        `${summary.format}: ${summary.images} images, ${summary.refs} ${summary.format === 'masks' ? 'masks' : 'refs'}, ${summary.expressions} expressions at τ=${summary.tau} → ${summary.dest} (${summary.files.length} files)\n`,
      );
    });
}
