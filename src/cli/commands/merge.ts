import type { Command } from 'commander';
import { mergeProjects } from '../../engine/pipeline/merge.ts';

/** Registers `merge <project>… --into <dir>`: combines shard projects (generate --shard) into one. */
export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('combine projects with the same settings and model pack (e.g. shards) into a new project')
    .argument('<projects...>', 'project folders')
    .requiredOption('--into <dir>', 'the merged project folder (must not be a project yet)')
    .action(async (projects: string[], flags: { into: string }) => {
      const s = await mergeProjects(projects, flags.into);
      process.stdout.write(
        `merged ${s.projects} projects → ${s.into}: ${s.images} images, ${s.results} results (${s.failed} failed)${s.duplicates ? `, ${s.duplicates} duplicates kept once` : ''}${s.missing ? `; ${s.missing} images not yet generated: run generate --project ${s.into} to finish them` : ''}\n`,
      );
    });
}
