/**
 * `npm run bench -- scale --images 2000,20000`: paper-size projects. For each size it writes a synthetic project
 * (the results of one synthetic 5-mask image with its comparisons — 420 candidates, as a demo run writes them —
 * repeated under unique image ids, through the store's own writer and index), then runs each operation in a fresh
 * process and prints its wall time and peak RSS (VmHWM): open (catalog ready + the first gallery page of 60 tiles
 * with kept counts), the resume check (pending images known), a τ move over all candidates, the report, each
 * export format, and a merge of two halves (`--ops open,report` runs only those besides the exports of `--formats`,
 * which may be empty). `--line-format 1` writes the results as whole JSON lines (projects from
 * before the compact format). Figures only; nothing is asserted.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { parseSettings } from '../src/shared/settings.ts';
import { keepPolicy } from '../src/engine/filter/index.ts';
import {
  encodeLine,
  hashFile,
  INDEX_DIR,
  Project,
  PROJECT_FILE,
  RESULTS_FILE,
} from '../src/engine/pipeline/store/index.ts';
import { syntheticResult } from '../src/engine/testing/synthetic.ts';

const here = fileURLToPath(import.meta.url);

/**
 * Writes a synthetic project of `count` images into `dir` (ids `first`…), its results in the compact line format
 * (2) or, with `lineFormat` 1, as whole JSON objects: what projects written before the compact format hold.
 */
export async function writeProject(dir: string, count: number, first = 1, lineFormat = 2): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const image = join(dir, '..', 'scene.png');
  // one real image every entry points at (exports link or copy it; nothing here decodes its pixels but sharp's header)
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 120, b: 200 } } })
    .png()
    .toFile(image);
  const sha256 = await hashFile(image);
  const settings = parseSettings({});
  // one file per image (hard links of the one scene: unique paths, as a merge by path needs, at no disk cost)
  const folder = join(dir, '..', 'images');
  mkdirSync(folder, { recursive: true });
  let source = image;
  const images = Array.from({ length: count }, (_, k) => {
    const path = join(folder, `scene-${first + k}.png`);
    try {
      linkSync(source, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EMLINK') throw error;
      // ext4 allows 65,000 links to a file: a fresh copy of the scene takes the next ones
      source = join(dir, '..', `scene-${first + k}-source.png`);
      copyFileSync(image, source);
      linkSync(source, path);
    }
    return { id: first + k, path, name: `scene-${first + k}.png`, sha256 };
  });
  writeFileSync(
    join(dir, PROJECT_FILE),
    JSON.stringify({
      format: 'pseudo-ris-project',
      version: 1,
      created: new Date().toISOString(),
      settings,
      images,
      versions: {},
    }),
  );
  // made for the scene's hash, so its stream ids have the form a run writes (the compact line stores them as 1)
  const template = syntheticResult(1, { masks: 5, textsPerMask: 40, sha256 });
  template.image = { ...template.image, path: image };
  const project = Project.open(dir);
  const catalog = project.catalog;
  const fd = openSync(join(dir, RESULTS_FILE), 'a');
  let offset = 0;
  // the template's compact line: every image repeats its body (same content), only the header's image differs
  const { z } = JSON.parse(encodeLine(template).toString('utf8')) as { z: string };
  for (const entry of images) {
    const result = {
      ...template,
      image: { ...template.image, id: entry.id, name: entry.name, path: entry.path },
    };
    // the bytes a commit of this result writes (encodeLine gives the same; built directly so 100k images write in
    // seconds), fsynced once at the end instead of per image (a bench, not a run)
    const line = Buffer.from(
      lineFormat === 1
        ? `${JSON.stringify(result)}\n`
        : `${JSON.stringify({ record: 2, revision: 0, image: result.image, status: 'done', z })}\n`,
      'utf8',
    );
    writeSync(fd, line);
    catalog.added(result, line, { offset, length: line.length - 1 });
    offset += line.length;
  }
  closeSync(fd);
  project.close();
}

/** One operation in this process (the child side). */
async function operation(name: string, dir: string, extra: string): Promise<string> {
  const { projectReport } = await import('../src/engine/dataset/report.ts');
  const { exportProject } = await import('../src/engine/dataset/export.ts');
  const { mergeProjects } = await import('../src/engine/pipeline/merge.ts');
  const project = Project.open(dir);
  const policy = keepPolicy(project.file.settings);
  const started = performance.now();
  let note = '';
  let cleanup = () => {};
  if (name === 'open') {
    const catalog = project.catalog;
    const { status, candStart, score } = catalog.columns;
    const page = project.file.images.slice(0, 60).map((e) => {
      const r = catalog.record(e.id);
      if (r === undefined) return 0;
      let kept = 0;
      for (let k = candStart.view()[r]; k < candStart.view()[r + 1]; k++)
        if (score.view()[k] > policy.tau) kept++; // the demo scene has 5 masks: the score is DoS
      return status.view()[r] === 1 ? kept : 0;
    });
    note = `${catalog.size} results, first page ${page.length} tiles`;
  } else if (name === 'resume') {
    note = `${(await project.pendingEntries()).length} pending`;
  } else if (name === 'tau') {
    const catalog = project.catalog;
    const dos = catalog.columns.score.view(); // DoS: every image has 5 masks
    const t0 = performance.now();
    let kept = 0;
    for (let k = 0; k < dos.length; k++) if (dos[k] > 1.7) kept++;
    note = `${dos.length} candidates, ${kept} kept at τ 1.7 in ${(performance.now() - t0).toFixed(1)} ms (open excluded)`;
  } else if (name === 'report') {
    const report = projectReport(project, policy, null);
    note = `${report.images} images, ${report.kept} kept`;
  } else if (name.startsWith('export-')) {
    const out = join(extra, name);
    const summary = await exportProject(dir, { format: name.slice(7) as never, out });
    note = `${summary.images} images, ${summary.expressions} expressions`;
    cleanup = () => rmSync(out, { recursive: true, force: true });
  } else if (name === 'merge') {
    const summary = await mergeProjects(extra.split(','), join(dir, '..', 'merged'));
    note = `${summary.results} results`;
    cleanup = () => rmSync(join(dir, '..', 'merged'), { recursive: true, force: true });
  }
  const ms = performance.now() - started;
  cleanup(); // not timed: removing 200k exported files says nothing about the export
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return JSON.stringify({ ms, peakMiB: Number(hwm) / 1024, note });
}

function folderBytes(dir: string): number {
  return readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
}

/** Runs every operation on every size and prints the table. */
export async function run(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--images');
  const sizes = (at >= 0 ? args[at + 1] : '2000,20000').split(',').map(Number);
  const formatsAt = args.indexOf('--formats');
  const formats = (formatsAt >= 0 ? args[formatsAt + 1] : 'refcoco,csv,jsonl,parquet,cris,masks')
    .split(',')
    .filter(Boolean);
  // --ops open,report,…: the operations besides the exports (default all; `--formats` picks the exports)
  const opsAt = args.indexOf('--ops');
  const only = opsAt >= 0 ? args[opsAt + 1].split(',') : null;
  const lineFormatAt = args.indexOf('--line-format');
  const lineFormat = lineFormatAt >= 0 ? Number(args[lineFormatAt + 1]) : 2;
  if (lineFormat !== 1 && lineFormat !== 2) throw new Error('--line-format takes 1 (whole JSON lines) or 2');
  const root = mkdtempSync(join(tmpdir(), 'pseudo-ris-scale-'));
  const table: Record<string, Record<number, { ms: number; peakMiB: number }>> = {};
  try {
    for (const size of sizes) {
      const dir = join(root, `p${size}`, 'project');
      const t0 = performance.now();
      await writeProject(dir, size, 1, lineFormat);
      const halves = [join(root, `p${size}`, 'a', 'project'), join(root, `p${size}`, 'b', 'project')];
      if (!only || only.includes('merge')) {
        await writeProject(halves[0], size / 2, 1, lineFormat);
        await writeProject(halves[1], size / 2, size / 2 + 1, lineFormat);
      }
      const log = statSync(join(dir, RESULTS_FILE)).size;
      const index = folderBytes(join(dir, INDEX_DIR));
      console.log(
        `\n${size} images (line format ${lineFormat}): written in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${(log / size / 1024).toFixed(1)} KB per image in ${RESULTS_FILE}, ${(index / size).toFixed(0)} B per image of index`,
      );
      const ops = ['open', 'resume', 'tau', 'report', ...formats.map((f) => `export-${f}`), 'merge'].filter(
        (op) => !only || only.includes(op) || op.startsWith('export-'),
      );
      for (const op of ops) {
        const extra = op === 'merge' ? halves.join(',') : join(root, 'out');
        const child = spawnSync(process.execPath, ['--import', 'tsx', here, '--child', op, dir, extra], {
          encoding: 'utf8',
          maxBuffer: 1 << 26,
        });
        const line = child.stdout.trim().split('\n').pop() ?? '';
        if (child.status !== 0 || !line.startsWith('{')) {
          console.log(
            `  ${op.padEnd(16)} failed: ${(child.stderr || line).trim().split('\n').slice(-3).join(' | ')}`,
          );
          continue;
        }
        const figure = JSON.parse(line) as { ms: number; peakMiB: number; note: string };
        (table[op] ??= {})[size] = figure;
        console.log(
          `  ${op.padEnd(16)} ${(figure.ms / 1000).toFixed(2).padStart(8)} s  peak RSS ${figure.peakMiB.toFixed(0).padStart(5)} MiB  (${figure.note})`,
        );
      }
      rmSync(join(root, `p${size}`), { recursive: true, force: true });
    }
    if (sizes.length > 1) {
      console.log(`\ngrowth from ${sizes[0]} to ${sizes[sizes.length - 1]} images (time × / peak RSS ×):`);
      for (const [op, bySize] of Object.entries(table)) {
        const a = bySize[sizes[0]];
        const b = bySize[sizes[sizes.length - 1]];
        if (a && b)
          console.log(
            `  ${op.padEnd(16)} ${(b.ms / a.ms).toFixed(1)}×  ${(b.peakMiB / a.peakMiB).toFixed(2)}×`,
          );
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const [, , , name, dir, extra] = process.argv;
  operation(name, dir, extra).then(
    (line) => console.log(line),
    (error: unknown) => {
      console.error((error as Error).stack ?? String(error));
      process.exit(1);
    },
  );
}
