/* global document -- the functions passed to waitForFunction run in the page */
// The end-to-end flow shared by the served-mode (Chromium) and Electron runs: open the demo scenes, run a few
// images, see masks, add a mask with a click, re-caption the image so the added mask gets candidates, open a mask's
// candidates, move τ (kept count changes with no engine work), open a candidate's inspector with per-step charts,
// export refcoco (dataset refcoco+) and find the files and the split counts.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { checkInspectorViews } from './inspector-views.mjs';
import { App, Candidates, ExportDialog, Gallery, Inspector, VIEWS_ORDER, Workspace } from './pages.mjs';
import { checkReviewNavigation } from './review-keys.mjs';

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
  // Before any project: the parameters panel explains itself and shows no error.
  await step('parameters without a project', async () => {
    await app.show('parameters');
    check(
      (await app.byTestId('settings-error').count()) === 0,
      'parameters show an error with no project open',
    );
    await app.screenshotSizes(`${label}-00-parameters-no-project`);
  });
  // A missing image folder is an error that creates no project; the error clears once a project opens.
  const missing = await step('missing image folder', () =>
    gallery.openMissingFolder(join(workDir, `${label}-missing`), join(workDir, 'no-such-folder')),
  );
  check(/no-such-folder/.test(missing.error), `the missing-folder error does not name it: ${missing.error}`);
  check(
    missing.project === 'no project' && missing.items === 0,
    `a missing folder opened "${missing.project}"`,
  );
  check(!existsSync(join(workDir, `${label}-missing`, 'project.json')), 'a missing folder wrote a project');
  const projectDir = join(workDir, `${label}-project`);
  await step('open demo scenes', () => gallery.openDemo(projectDir, images + 2));
  await page
    .waitForFunction(() => !document.querySelector('[data-testid="notice"][data-cause="project"]'), null, {
      timeout: 15_000,
    })
    .catch(() => {
      throw new Error('the missing-folder error stays after a project opened');
    });
  await app.screenshotSizes(`${label}-01-gallery`);

  const within = await step(`run ${images} images`, async () => {
    await gallery.watchWithin();
    await gallery.run(images);
    return gallery.withinSeen();
  });
  // In-image progress (when the engine reports it) never runs past its total.
  for (const [where, done, total] of within)
    check(done >= 0 && done <= total && total > 0, `${where} showed ${done}/${total}`);
  check((await gallery.runningTiles()) === 0, 'a tile still says running after the run finished');
  await app.screenshotSizes(`${label}-02-gallery-done`);

  // Pause is honest: the run waits paused (Resume shown), no tile says running, no "cancelled" toast.
  const paused = await step('pause and resume', async () => {
    // two images: the pause lets the first finish and waits before the second
    const seen = await gallery.startAndPause(2);
    check(seen.running === 0, `${seen.running} tile(s) say running while paused`);
    check(seen.state === 'paused', `the progress bar says ${seen.state} while paused`);
    check(!seen.notices.some((text) => /cancel/i.test(text)), `pausing toasted: ${seen.notices.join(' | ')}`);
    await app.screenshotSizes(`${label}-02b-gallery-paused`);
    await gallery.resumeUntilDone(images + 2);
    check((await gallery.runningTiles()) === 0, 'a tile still says running after resume finished');
    return seen;
  });

  // One source of truth: the counts after a reload, and after switching projects, come from the engine.
  const stale = await step('reload and switch projects', async () => {
    await app.waitForProjectTotal(await gallery.candidateTotal());
    const total = await app.projectTotal();
    check(total > 0, 'no candidates scored after the run');
    await page.reload();
    await app.connected();
    await app.waitForProjectTotal(total);
    await app.show('parameters');
    await app.page.locator('[data-testid="view-parameters"] fieldset').first().waitFor();
    check((await app.byTestId('settings-error').count()) === 0, 'parameters show an error after a reload');
    await gallery.openDemo(join(workDir, `${label}-other`), 2);
    await app.waitForProjectTotal(0);
    await gallery.openProject(projectDir);
    await app.waitForProjectTotal(total);
    return { total };
  });

  const firstDone = await step('open workspace', async () => {
    await app.show('gallery');
    const name = await gallery.firstDoneName();
    await gallery.openFirstDone();
    await workspace.waitForMasks(1);
    return name;
  });
  const masksBefore = await workspace.maskCount();
  const identity = await step('tell masks apart', () => workspace.checkIdentity(firstDone));
  await app.screenshotSizes(`${label}-03-workspace`);

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
  const candidateCrops = await workspace.cropWindows(4);
  check(candidateCrops.length === 4, `the candidates view shows ${candidateCrops.length} crops of the mask`);
  await app.screenshotSizes(`${label}-05-candidates`);

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
  await app.screenshotSizes(`${label}-06-tau-moved`);
  check(
    (await app.byTestId('tau-reference-mark').count()) === 1,
    'the τ slider does not mark the paper τ 1.3',
  );
  check(
    Number(await app.byTestId('tau-histogram').getAttribute('data-bins')) > 0,
    'the τ histogram is empty with scores stored',
  );

  const charts = await step('open inspector', async () => {
    await candidates.inspectFirstDcs();
    return inspector.waitForCharts();
  });
  check(charts.length >= 3, `expected per-step charts, saw ${charts.join(', ')}`);
  // Every mask next to its s_ij shows its crop (the candidate's crop type).
  const similarities = await page.locator('.sim-crop [data-testid="crop-thumb"]').count();
  check(similarities >= 2, `the inspector shows ${similarities} mask crops beside s_ij`);
  await app.screenshotSizes(`${label}-07-inspector`);

  // A re-run is labelled with the settings that made it, not the stored ones.
  const rerunLabel = await step('re-run with another seed', () => inspector.rerunWithSeed(7));
  check(/re-run .*seed 7/.test(rerunLabel), `the inspector title says "${rerunLabel}" after a re-run`);
  // The researcher views: the whole-caption heatmap (naive vs DCS) and a beam candidate's beam view.
  const inspectorViews = await step('inspector heatmap and beam view', () =>
    checkInspectorViews(app, { label }),
  );

  const report = await step('report', async () => {
    await app.show('report');
    await app.byTestId('report-chart').first().waitFor();
    // The report's kept count is the top bar's at every τ, with no lag.
    const kept = [];
    for (const tau of [1.3, 0.5]) {
      await app.byTestId('tau-value').fill(String(tau));
      await app.byTestId('tau-value').dispatchEvent('change');
      await app.byTestId('report-kept').waitFor();
      const top = await app.projectKept();
      const shown = Number(await app.byTestId('report-kept').getAttribute('data-kept'));
      check(shown === top, `report kept ${shown} ≠ top bar kept ${top} at τ ${tau}`);
      kept.push(shown);
    }
    return kept;
  });
  await app.screenshotSizes(`${label}-08-report`);

  // The models panel lists only providers this build can run (as doctor does).
  const available = await step('models', async () => {
    await app.show('models');
    const text = (await app.byTestId('providers-available').textContent()).trim();
    check(!/tensorrt/i.test(text), `models list providers that are not bundled: ${text}`);
    // after runs, the providers the runs used are listed per role
    await app.byTestId('provider-row').first().waitFor({ timeout: 15_000 });
    const roles = await app.byTestId('provider-row').count();
    return { available: text, roles };
  });
  await app.screenshotSizes(`${label}-10-models`);

  const exportDir = join(workDir, `${label}-export`);
  const files = await step('export refcoco', () =>
    exporter.exportOnly('refcoco', exportDir, { dataset: 'refcoco+' }),
  );
  await app.screenshotSizes(`${label}-09-export`);
  const paths = files.map((file) => (isAbsolute(file.trim()) ? file.trim() : join(exportDir, file.trim())));
  // refcoco+ chosen in the dialog: its folder and its splitBy (unc), and the dialog lists the split's counts
  check(
    paths.some((p) => p.endsWith(join('refcoco+', 'refs(unc).p'))),
    `no refcoco+/refs(unc).p among the exported files: ${files.join(', ')}`,
  );
  const trainRow = app.byTestId('export-split').first();
  check(
    (await trainRow.getAttribute('data-split')) === 'train' &&
      /^refcoco\s*train\s*[1-9]/.test(await trainRow.innerText()),
    `the export dialog does not list the train split's counts: ${await trainRow.innerText()}`,
  );
  check(
    paths.some((p) => p.endsWith('instances.json')),
    'no instances.json among the exported files',
  );
  for (const path of paths) check(existsSync(path), `an exported file is missing on disk: ${path}`);
  // The dialog says why the expression count differs from the kept count (one per distinct caption and mask).
  const summary = app.byTestId('export-summary');
  const exported = {
    expressions: Number(await summary.getAttribute('data-expressions')),
    kept: Number(await summary.getAttribute('data-kept')),
  };
  check(
    exported.expressions > 0 && exported.expressions <= exported.kept,
    `export wrote ${exported.expressions} expressions from ${exported.kept} kept`,
  );
  if (exported.expressions < exported.kept)
    check(
      /repeat a caption/.test(await summary.textContent()),
      'the export does not say why it wrote fewer expressions than kept candidates',
    );

  await page.getByRole('dialog').getByRole('button', { name: 'Close', exact: true }).click();
  // The review flow, then its progress on the gallery tile.
  const review = await step('review', async () => {
    await app.show('candidates');
    const seen = await candidates.review();
    check(seen.accepted > 0, 'Shift+A accepted nothing');
    check(
      seen.acceptedRows === seen.accepted,
      `${seen.acceptedRows} rows accepted, ${seen.accepted} announced`,
    );
    await app.screenshotSizes(`${label}-11-candidates-review`);
    await app.show('gallery');
    await page.waitForFunction(
      (n) =>
        [...document.querySelectorAll('[data-testid="tile-reviewed"]')].some(
          (el) => Number(el.getAttribute('data-reviewed')) >= n,
        ),
      seen.accepted,
      { timeout: 15_000 },
    );
    return seen;
  });

  // Mask edits can be undone; a re-caption says what it drops before it drops it.
  const undo = await step('delete, re-caption warning, undo', async () => {
    const reviewed = Number(
      await page
        .locator('[data-testid="gallery-item"]', { has: page.locator('[data-testid="tile-reviewed"]') })
        .filter({ hasText: firstDone })
        .locator('[data-testid="tile-reviewed"]')
        .getAttribute('data-reviewed'),
    );
    await app.show('workspace');
    return workspace.deleteRecaptionUndo(reviewed);
  });

  // Issue 12 review flow: image keys in the gallery's order, duplicate groups, tile counts = top bar (review-keys.mjs).
  const navigation = await step('image keys, duplicate groups, tile counts', () =>
    checkReviewNavigation(app, { label }),
  );

  // Every view at both sizes: no horizontal scrollbar, no wrapped top bar.
  for (const view of VIEWS_ORDER) {
    await app.show(view);
    await app.screenshotSizes(`${label}-view-${view}`);
  }

  return {
    steps,
    masksBefore,
    masksAfter,
    recaptioned,
    rows,
    tau,
    charts,
    files: paths.length,
    within: within.length,
    missing,
    exported,
    undo,
    review,
    identity,
    paused,
    stale,
    rerunLabel,
    inspectorViews,
    report,
    available,
    navigation,
  };
}
