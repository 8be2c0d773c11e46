import type { Command } from 'commander';
import { keepPolicy } from '../../shared/decide.ts';
import { parseTau } from '../../shared/settings.ts';
import { evaluateResults, readGroundTruth } from '../../engine/dataset/evaluate.ts';
import { formatReport, projectKeptAtFor } from '../../engine/dataset/report.ts';
import { readProjectReview } from '../../engine/dataset/review.ts';
import { Project } from '../../engine/pipeline/store/index.ts';
import { sayProjectNotes } from '../notes.ts';

/** Registers `eval <project> --ground-truth <file>`: the report plus the shapes-world oracle's identification rates. */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('report + oracle identification rate (shapes world) for all, kept, and per decoding method')
    .argument('<project>', 'project folder')
    .requiredOption('--ground-truth <file>', 'ground-truth.json of the scenes')
    .option('--json', 'print JSON')
    .option('--tau <t>', "τ for the kept figures (default: the project's)")
    .action((dir: string, flags: { groundTruth: string; json?: boolean; tau?: string }) => {
      const project = Project.open(dir);
      sayProjectNotes(project);
      const tau = flags.tau === undefined ? project.file.settings.filter.tau : parseTau('--tau', flags.tau);
      const policy = keepPolicy(project.file.settings, tau);
      const review = readProjectReview(project.dir);
      const report = evaluateResults(
        project.catalog.latest(),
        readGroundTruth(flags.groundTruth),
        policy,
        review,
        undefined,
        { keptAt: projectKeptAtFor(project, policy, review) },
      );
      if (report.oracleImages === 0)
        throw new Error(`no project image matches an image of ${flags.groundTruth} (matched by file name)`);
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    });
}
