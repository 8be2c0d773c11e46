/**
 * Store fixtures for tests: a project of listed images whose results are committed directly (no pipeline run).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSettings } from '../../shared/settings.ts';
import { Project } from '../pipeline/store/index.ts';
import { syntheticResult } from './synthetic.ts';

/** A project in `folder` of `count` listed images written in `dir` (their bytes are not images: nothing decodes them). */
export async function listedProject(dir: string, count: number, folder = join(dir, 'p')): Promise<Project> {
  const images = Array.from({ length: count }, (_, k) => join(dir, `img-${k + 1}.png`));
  images.forEach((p, k) => writeFileSync(p, `image ${k}`));
  return Project.create(folder, { images, settings: parseSettings({}) });
}

/** Commits a synthetic result of `masks` masks for each image id, under the project's own image records. */
export function commitSynthetic(p: Project, ids: number[], masks = 2): void {
  for (const id of ids) {
    const entry = p.image(id);
    const result = syntheticResult(id, { masks, textsPerMask: 6 });
    p.commit({
      ...result,
      image: { ...result.image, path: entry.path, name: entry.name, sha256: entry.sha256 },
    });
  }
}
