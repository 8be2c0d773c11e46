// The end-to-end flow shared by the served-mode (Chromium) and Electron runs: open the demo scenes, run a few
// images, see masks, add a mask with a click, re-caption the image so the added mask gets candidates, open a mask's
// candidates, move τ (kept count changes with no engine work), open a candidate's inspector with per-step charts,
// export refcoco and find the files.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { App, Candidates, ExportDialog, Gallery, Inspector, Workspace } from './pages.mjs';

/** Throws with `message` unless `condition` holds. */
function check(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * Runs the flow on `page`. `workDir` is a folder the app may write to; `frames` (optional) collects the request
 * channels the page sends, to prove τ re-filtering asks the engine for nothing. Returns what it measured.
 */
export async function runFlow(page, { workDir, artifacts, label, images = 3, frames }) {
  const app = new App(page, artifacts);
  const gallery = new Gallery(app);
  const workspace = new Workspace(app);
  const candidates = new Candidates(app);
  const inspector = new Inspector(app);
  const exporter = new ExportDialog(app);
  const steps = [];
  const step = async (name, work) => {
    const started = Date.now();
    const value = await work();
    steps.push({ name, seconds: (Date.now() - started) / 1000 });
    return value;
  };

  await step('connect', () => app.connected());
  await step('open demo scenes', () => gallery.openDemo(join(workDir, `${label}-project`), 4));
  await app.screenshot(`${label}-01-gallery`);

  await step(`run ${images} images`, () => gallery.run(images));
  await app.screenshot(`${label}-02-gallery-done`);

  await step('open workspace', async () => {
    await gallery.openFirstDone();
    await workspace.waitForMasks(1);
  });
  const masksBefore = await workspace.maskCount();
  await app.screenshot(`${label}-03-workspace`);

  const masksAfter = await step('add a mask with a click', () => workspace.addMaskByClick(0.5, 0.5));
  check(
    masksAfter === masksBefore + 1,
    `adding a mask: expected ${masksBefore + 1} masks, saw ${masksAfter}`,
  );
  await app.screenshot(`${label}-04-workspace-added`);

  const recaptioned = await step('re-caption with the added mask', () => workspace.recaptionAddedMask());
  check(recaptioned > 0, `the re-captioned mask has no candidates`);
  await app.screenshot(`${label}-04b-workspace-recaptioned`);

  await step('open candidates', () => workspace.openCandidatesOfFirstMask());
  const rows = await candidates.rows().count();
  check(rows > 0, 'the candidates table is empty');
  await app.screenshot(`${label}-05-candidates`);

  const tau = await step('move tau', async () => {
    const sentBefore = frames ? frames.length : 0;
    const at13 = await app.projectKept();
    const low = await app.setTau(0.5, at13);
    const high = await app.setTau(2.5, low);
    const sent = frames ? frames.slice(sentBefore) : [];
    const engineWork = sent.filter((channel) => /^(run|inspector|candidates|image|mask):/.test(channel));
    check(engineWork.length === 0, `moving τ sent engine requests: ${engineWork.join(', ')}`);
    check(low > high, `kept at τ 0.5 (${low}) should exceed kept at τ 2.5 (${high})`);
    return { at13, low, high, requests: sent };
  });
  await app.screenshot(`${label}-06-tau-moved`);

  const charts = await step('open inspector', async () => {
    await candidates.inspectFirstDcs();
    return inspector.waitForCharts();
  });
  check(charts.length >= 3, `expected per-step charts, saw ${charts.join(', ')}`);
  await app.screenshot(`${label}-07-inspector`);

  await step('report', async () => {
    await app.show('report');
    await app.byTestId('report-chart').first().waitFor();
  });
  await app.screenshot(`${label}-08-report`);

  const exportDir = join(workDir, `${label}-export`);
  const files = await step('export refcoco', () => exporter.exportOnly('refcoco', exportDir));
  await app.screenshot(`${label}-09-export`);
  const paths = files.map((file) => (isAbsolute(file.trim()) ? file.trim() : join(exportDir, file.trim())));
  check(
    paths.some((p) => p.endsWith('refs(umd).p')),
    `no refs(umd).p among the exported files: ${files.join(', ')}`,
  );
  check(
    paths.some((p) => p.endsWith('instances.json')),
    'no instances.json among the exported files',
  );
  for (const path of paths) check(existsSync(path), `an exported file is missing on disk: ${path}`);

  return { steps, masksBefore, masksAfter, recaptioned, rows, tau, charts, files: paths.length };
}
