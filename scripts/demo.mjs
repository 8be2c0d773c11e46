#!/usr/bin/env node
// `npm run demo`: the whole job on the shapes world and the demo model pack, in one command —
// scenes → generate → export (every format) → report + eval. Each step runs the real `pseudo-ris` command.
//
//   npm run demo                        8 scenes into .cache/demo
//   npm run demo -- --scenes 20 --out /tmp/demo --masks generated
//
// Masks: `generated` (default; the demo segmenter's automatic mask generation on a 8×8 grid, so it runs in a few
// minutes on 2 cores) or `truth` (the scenes' ground-truth masks, imported).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { register } from 'tsx/esm/api';

register();
const { values } = parseArgs({
  options: {
    scenes: { type: 'string', default: process.env.PSEUDO_RIS_DEMO_SCENES ?? '8' },
    out: { type: 'string', default: process.env.PSEUDO_RIS_DEMO_DIR ?? '.cache/demo' },
    seed: { type: 'string', default: '7' },
    masks: { type: 'string', default: 'generated' },
    'points-per-side': { type: 'string', default: '8' },
  },
});
const count = Number(values.scenes);
if (!Number.isInteger(count) || count < 1)
  throw new Error(`--scenes must be a positive integer, got "${values.scenes}"`);
if (!['generated', 'truth'].includes(values.masks))
  throw new Error(`--masks must be "generated" or "truth", got "${values.masks}"`);

const { main } = await import('../src/cli/index.ts');
const { ensureDemoPack, generateScenes } = await import('../src/engine/demo/index.ts');
const { groundTruthToCoco } = await import('../src/engine/dataset/evaluate.ts');

const out = resolve(values.out);
const scenes = join(out, 'scenes');
const project = join(out, 'project');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const started = Date.now();

async function step(title, argv) {
  console.log(`\n$ pseudo-ris ${argv.join(' ')}`);
  const code = await main(['node', 'pseudo-ris', ...argv]);
  if (code !== 0) {
    console.error(`demo: "${title}" failed (exit ${code})`);
    process.exit(code);
  }
}

console.log(`== demo pack: ${await ensureDemoPack()}`);
console.log(`== ${count} scenes (seed ${values.seed}) → ${scenes}`);
const truth = await generateScenes({ count, seed: Number(values.seed), outDir: scenes });
const truthFile = join(scenes, 'ground-truth.json');
const generateArgs = ['generate', scenes, '--project', project, '--seed', values.seed];
if (values.masks === 'truth') {
  const coco = join(out, 'truth-coco.json');
  writeFileSync(coco, JSON.stringify(groundTruthToCoco(truth)));
  generateArgs.push('--masks', coco);
} else {
  generateArgs.push('--points-per-side', values['points-per-side']);
}
await step('generate', generateArgs);
for (const format of ['refcoco', 'cris', 'csv', 'jsonl', 'masks']) {
  await step(`export ${format}`, [
    'export',
    project,
    '--format',
    format,
    '--out',
    join(out, 'export', format),
  ]);
}
await step('report', ['report', project]);
await step('eval', ['eval', project, '--ground-truth', truthFile]);
console.log(
  `\n== demo done in ${((Date.now() - started) / 1000).toFixed(0)} s: project ${project}, exports ${join(out, 'export')}`,
);
console.log(`   try: pseudo-ris trace ${project} --image 1 --mask 0 --candidate 1`);
