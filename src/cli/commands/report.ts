import type { Command } from 'commander';
import { keepPolicy } from '../../shared/decide.ts';
import { parseTau } from '../../shared/settings.ts';
import { formatReport, projectReport } from '../../engine/dataset/report.ts';
import { readProjectReview } from '../../engine/dataset/review.ts';
import { Project } from '../../engine/pipeline/store/index.ts';
import { sayProjectNotes } from '../notes.ts';

/** Registers `report <project> [--json] [--tau T]`. */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'counts, kept share, mean UoS/CoS/DoS per decoding method, DoS histogram, kept share vs τ, vocabulary',
    )
    .argument('<project>', 'project folder')
    .option('--json', 'print JSON')
    .option('--tau <t>', "τ for the kept figures (default: the project's)")
    .action((dir: string, flags: { json?: boolean; tau?: string }) => {
      const project = Project.open(dir);
      sayProjectNotes(project);
      const tau = flags.tau === undefined ? project.file.settings.filter.tau : parseTau('--tau', flags.tau);
      // the app's review (review.json) counts here as it does in the app and in exports
      const report = projectReport(
        project,
        keepPolicy(project.file.settings, tau),
        readProjectReview(project.dir),
      );
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    });
}
