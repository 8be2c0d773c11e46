/**
 * The project store (DESIGN.md §7): one folder per project, one writer at a time, kill -9 safe at any moment.
 *
 *   project.json     image list (path + SHA-256), settings, model pack, versions — replaced atomically   project-file.ts
 *   project.lock     the writer's lock                                                                    lock.ts
 *   results.jsonl    the commit log: one line per committed image (one write + fsync = its commit point)   log.ts
 *                    in the compact format (record.ts); lines of older projects are read as they are
 *   index/*.seg      derived columns of the log (ids, revisions, statuses, line offsets, per-candidate      segments.ts
 *                    rule score), checked against the log and rebuilt from it when missing or damaged
 *
 * Readers reach records by index and stream them (catalog.ts); the open project is `Project` (project.ts).
 */
import { resolve } from 'node:path';
import type { ImageResult } from '../../../shared/results.ts';
import { ResultCatalog } from './catalog.ts';

export * from './atomic.ts';
export * from './catalog.ts';
export * from './columns.ts';
export * from './images.ts';
export * from './lock.ts';
export * from './log.ts';
export * from './project-file.ts';
export * from './project.ts';
export * from './record.ts';
export { INDEX_DIR } from './segments.ts';

/**
 * Every latest result of a project folder as an array — for tests and small projects only: a large project is read
 * through `Project.catalog` / `Project.results()`, which stream.
 */
export function readResults(projectDir: string): ImageResult[] {
  const catalog = ResultCatalog.open(resolve(projectDir), { writeIndex: false });
  try {
    return [...catalog.results()];
  } finally {
    catalog.close();
  }
}
