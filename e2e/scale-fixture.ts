// Writes the scale e2e's project (src/engine/testing/scale-project.ts: `count` images over a few real PNGs, results
// in the store's line format) and prints, as one JSON line, what the page must show: the kept count at each τ and
// each image's, by the shared keep rule on every stored result (run with `node --import tsx`).
import { decideResult, keepPolicy } from '../src/engine/filter/index.ts';
import { readResults, Project } from '../src/engine/pipeline/store/index.ts';
import { writeScaleProject } from '../src/engine/testing/scale-project.ts';

const [dir, countText, tausText] = process.argv.slice(2);
const project = await writeScaleProject(dir, Number(countText), {
  filter: { emptyMask: 'keep-best', singleMask: 'keep-by-cos-rank' },
});
const settings = Project.open(project).file.settings;
const results = readResults(project).filter((r) => r.status === 'done');
const kept: Record<string, { total: number; perImage: Record<string, number> }> = {};
for (const tau of tausText.split(',').map(Number)) {
  const policy = keepPolicy(settings, tau);
  const perImage: Record<string, number> = {};
  let total = 0;
  for (const r of results) {
    const n = decideResult(r, policy, null).filter((d) => d.kept).length;
    perImage[String(r.image.id)] = n;
    total += n;
  }
  kept[String(tau)] = { total, perImage };
}
console.log(JSON.stringify({ project, kept }));
