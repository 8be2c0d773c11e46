import type { Command } from 'commander';
import { IncompleteShardsError, mergeProjects } from '../../engine/pipeline/merge.ts';
import { EXIT } from '../exit.ts';

/**
 * Registers `merge <project>… --into <dir>`: combines shard projects (generate --shard) into one. Exit 2 when shards of
 * the split are missing (unless --allow-partial) or images are left to generate, as a run with failed images.
 */
export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('combine projects with the same settings and model pack (e.g. shards) into a new project')
    .argument('<projects...>', 'project folders')
    .requiredOption('--into <dir>', 'the merged project folder (must not be a project yet)')
    .option('--allow-partial', 'merge even when shards of the split (generate --shard I/N) are missing')
    .action(async (projects: string[], flags: { into: string; allowPartial?: boolean }) => {
      let s;
      try {
        s = await mergeProjects(projects, flags.into, { allowPartial: flags.allowPartial === true });
      } catch (error) {
        if (!(error instanceof IncompleteShardsError)) throw error;
        process.stderr.write(`pseudo-ris: ${error.message}\n`);
        process.exitCode = EXIT.imagesFailed;
        return;
      }
      process.stdout.write(
        `merged ${s.projects} projects → ${s.into}: ${s.images} images, ${s.results} results (${s.failed} failed)${s.duplicates ? `, ${s.duplicates} duplicates kept once` : ''}\n`,
      );
      if (s.missingShards.length > 0)
        process.stderr.write(
          `warning: merged without shard(s) ${s.missingShards.join(', ')} (--allow-partial)\n`,
        );
      if (s.missing > 0) {
        const names = s.missingPaths.slice(0, 10).join(', ');
        process.stderr.write(
          `${s.missing} image(s) not yet generated: ${names}${s.missing > 10 ? ', …' : ''}; run generate --project ${s.into} to finish them\n`,
        );
        process.exitCode = EXIT.imagesFailed;
      }
    });
}
