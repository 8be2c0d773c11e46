import type { Project } from '../engine/pipeline/store/index.ts';

/**
 * Says on stderr, once each, what opening a project found and handled (a damaged line skipped, an index rebuilt, a
 * read-only folder), so a report or an export from such a project never passes for a complete one in silence.
 */
export function sayProjectNotes(project: Project): void {
  for (const note of project.catalog.problems) process.stderr.write(`note: ${note}\n`);
}
