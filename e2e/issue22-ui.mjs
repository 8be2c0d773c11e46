/* global document, getComputedStyle -- the functions passed to evaluate run in the page */
// Issue 22's chart and labeling checks in their own block (served mode, Chromium at 1280×720): the logit charts'
// value axes and clipped floor, whole heatmap tokens, beam ties explained, caption search with the filters, two
// candidates side by side, the inspector's saves (JSON and PNG downloads), and zoom / pan on the mask canvas; then
// the layout of every view at both sizes (issue22-layout.mjs). Each check fails on the code before these changes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkLayoutItems, photographEveryView } from './issue22-layout.mjs';
import { App, Candidates, Gallery, Inspector, Workspace } from './pages.mjs';
import { withServedBrowser } from './served.mjs';

const LONG = 240_000;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Zoom with the wheel, pan with Space + drag, fit with `f`: answers the scales and offsets seen. */
async function zoomAndPan(app) {
  const page = app.page;
  const stage = app.byTestId('canvas-stage');
  await stage.waitFor({ timeout: 30_000 }).catch(() => {
    throw new Error('the mask canvas has no zoom stage');
  });
  const masks = await app.byTestId('mask-overlay').getAttribute('data-mask-count');
  const box = await stage.boundingBox();
  const transform = () => app.byTestId('canvas-zoom').evaluate((el) => getComputedStyle(el).transform);
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.4);
  await page.mouse.wheel(0, -400);
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="canvas-stage"]')?.getAttribute('data-zoom')) > 1.5,
    null,
    { timeout: 5000 },
  );
  const zoomed = Number(await stage.getAttribute('data-zoom'));
  const before = await transform();
  await page.keyboard.down('Space');
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.6, { steps: 4 });
  await page.mouse.up();
  await page.keyboard.up('Space');
  await app.settled();
  const after = await transform();
  check(after !== before, `Space + drag did not pan the zoomed canvas (${before})`);
  check(
    (await app.byTestId('mask-overlay').getAttribute('data-mask-count')) === masks,
    'Space + drag changed the masks',
  );
  await app.screenshot('issue22ui-canvas-zoomed-1280x720');
  await page.keyboard.press('f');
  await page.waitForFunction(
    () => document.querySelector('[data-testid="canvas-stage"]')?.getAttribute('data-zoom') === '1.000',
    null,
    { timeout: 5000 },
  );
  await page.mouse.wheel(0, -200);
  await app.byTestId('canvas-fit').click();
  check((await stage.getAttribute('data-zoom')) === '1.000', 'the fit button left the canvas zoomed');
  return { zoomed, panned: [before, after] };
}

/** Caption search combined with the decoding filter; a search nothing matches says so. */
async function searchCaptions(app) {
  const page = app.page;
  const rows = app.byTestId('candidate-row');
  const all = await rows.count();
  const lines = await rows.evaluateAll((nodes) =>
    nodes.map((n) => [
      n.querySelector('.text').textContent.toLowerCase(),
      n.querySelector('.setting').textContent.trim(),
    ]),
  );
  // the most common word of 3+ letters that some beam caption has: it narrows the rows, and with the beam filter
  // still leaves some
  const counts = new Map();
  for (const [text] of lines)
    for (const word of new Set(text.match(/[a-z]{3,}/g) ?? [])) counts.set(word, (counts.get(word) ?? 0) + 1);
  const beamWords = new Set(
    lines.filter(([, s]) => s.startsWith('beam')).flatMap(([t]) => t.match(/[a-z]{3,}/g) ?? []),
  );
  const [word] = [...counts.entries()]
    .filter(([w]) => beamWords.has(w))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  const search = app.byTestId('filter-search');
  await search.waitFor({ timeout: 5000 }).catch(() => {
    throw new Error('the candidates view has no caption search');
  });
  await page.keyboard.press('/');
  check(await search.evaluate((el) => el === document.activeElement), '/ did not focus the caption search');
  await search.fill(word);
  await app.settled();
  const found = await rows.evaluateAll((nodes) => nodes.map((n) => n.querySelector('.text').textContent));
  check(
    found.length > 0 && found.every((t) => t.toLowerCase().includes(word)),
    `searching "${word}" shows ${found.length} rows, not all containing it`,
  );
  await app.byTestId('filter-method').selectOption('beam');
  await app.settled();
  const both = await rows.evaluateAll((nodes) =>
    nodes.map((n) => [n.querySelector('.text').textContent, n.querySelector('.setting').textContent.trim()]),
  );
  check(
    both.length > 0 && both.every(([t, s]) => t.toLowerCase().includes(word) && s.startsWith('beam')),
    `search + beam filter shows ${JSON.stringify(both)}`,
  );
  await app.byTestId('filter-method').selectOption('all');
  await search.fill('zzqx nothing');
  await app.byTestId('filter-empty').waitFor({ timeout: 5000 });
  await search.fill('');
  await page.keyboard.press('Escape');
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="candidate-row"]').length === n,
    all,
  );
  return { word, all, found: found.length, withBeam: both.length };
}

/** Picks two rows with `v` and checks the side-by-side dialog; Esc closes it. */
async function compareTwo(app) {
  const page = app.page;
  const rows = app.byTestId('candidate-row');
  const ids = [];
  for (const k of [0, 1]) {
    await rows.nth(k).locator('td').first().click();
    ids.push(await rows.nth(k).getAttribute('data-candidate-id'));
    await page.locator('body').press('v');
  }
  const dialog = app.byTestId('compare-dialog');
  await dialog.waitFor({ timeout: 10_000 }).catch(() => {
    throw new Error('picking two candidates with v opened no comparison');
  });
  const columns = await app
    .byTestId('compare-column')
    .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-candidate-id')));
  check(columns.join() === ids.join(), `the comparison shows ${columns.join()}, picked ${ids.join()}`);
  const scores = await app.byTestId('compare-scores').locator('tbody tr').count();
  check(scores === 3, `the comparison lists ${scores} scores, not UoS, CoS and DoS`);
  // each column draws its crop and shows a heatmap or says why there is none
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('[data-testid="compare-column"]')].every(
        (c) =>
          c.querySelector('[data-testid="inspector-heatmap"]') ||
          !/loading/.test(c.querySelector('[data-testid="compare-note"]')?.textContent ?? 'loading'),
      ),
    null,
    { timeout: LONG },
  );
  const heatmaps = await dialog.locator('[data-testid="inspector-heatmap"]').count();
  await app.screenshot('issue22ui-compare-1280x720');
  await page.keyboard.press('3');
  check(await dialog.isVisible(), 'key 3 went through the comparison dialog');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached', timeout: 5000 });
  return { heatmaps };
}

/** The inspector's charts: value axes with ticks, one scale for z_i and z_j, a labelled floor when clipped. */
async function chartAxes(app) {
  const charts = await app.byTestId('inspector-chart').evaluateAll((nodes) =>
    nodes.map((n) => ({
      chart: n.getAttribute('data-chart'),
      floor: n.getAttribute('data-axis-floor'),
      ceiling: n.getAttribute('data-axis-ceiling'),
      ticks: (n.getAttribute('data-axis-ticks') ?? '').split(' ').filter(Boolean).map(Number),
      clipped: n.getAttribute('data-clipped-floor'),
    })),
  );
  for (const c of charts) {
    check(c.ticks.length >= 2, `chart ${c.chart} has no value axis ticks`);
    check(
      Number(c.floor) === c.ticks[0] && Number(c.ceiling) === c.ticks[c.ticks.length - 1],
      `chart ${c.chart}: the axis ${c.floor}…${c.ceiling} does not end on its ticks ${c.ticks.join(' ')}`,
    );
    if (c.clipped)
      check(
        c.clipped === `≤ ${c.floor.replace('-', '−')}`,
        `chart ${c.chart} labels its floor "${c.clipped}"`,
      );
  }
  const logits = charts.filter((c) => c.chart === 'target' || c.chart.startsWith('other-'));
  check(
    logits.every((c) => c.floor === logits[0].floor && c.ceiling === logits[0].ceiling),
    `z_i and z_j charts use different scales: ${logits.map((c) => `${c.chart} ${c.floor}…${c.ceiling}`).join(', ')}`,
  );
  return {
    charts: charts.length,
    clipped: charts.filter((c) => c.clipped).map((c) => `${c.chart} ${c.clipped}`),
    scale: `${logits[0]?.floor}…${logits[0]?.ceiling}`,
  };
}

/** No heatmap token is cut: every cell shows its whole text. */
async function wholeTokens(app) {
  const cut = await app
    .byTestId('heatmap-cell')
    .evaluateAll((cells) =>
      cells
        .filter((c) => c.scrollWidth > c.clientWidth + 1 || getComputedStyle(c).textOverflow === 'ellipsis')
        .map((c) => c.textContent.trim()),
    );
  check(cut.length === 0, `heatmap tokens are cut: ${cut.slice(0, 5).join(', ')}`);
}

/** Saves the trace (JSON) and the heatmap (JSON, PNG) and reads the downloads back. */
async function saves(app) {
  const page = app.page;
  const saved = {};
  for (const [id, kind] of [
    ['inspector-save-trace', 'trace'],
    ['inspector-save-heatmap-json', 'heatmap'],
    ['inspector-save-heatmap-png', 'png'],
  ]) {
    const button = app.byTestId(id);
    await button.and(page.locator(':enabled')).waitFor({ timeout: 10_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    const bytes = readFileSync(await download.path());
    saved[kind] = { name: download.suggestedFilename(), bytes: bytes.length };
    if (kind === 'png') {
      check(
        bytes.subarray(1, 4).toString() === 'PNG',
        `the heatmap PNG starts with ${bytes.subarray(0, 8).toString('hex')}`,
      );
      // the IHDR's width and height
      saved.png.size = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
    } else {
      const json = JSON.parse(bytes.toString());
      check(json.kind === kind, `the saved ${kind} JSON says kind ${json.kind}`);
      if (kind === 'trace') check(json.stored?.trace?.steps?.length > 0, 'the saved trace has no steps');
      if (kind === 'heatmap') check(json.panels?.length > 0, 'the saved heatmap has no panels');
    }
  }
  return saved;
}

/** The beam view explains a tie for the win and groups that ran the same search, whenever the trace has them. */
async function beamTies(app) {
  await app.show('candidates');
  const row = app
    .byTestId('candidate-row')
    .filter({ has: app.page.locator('.setting', { hasText: /^\s*beam/ }) })
    .first();
  await row.locator('[data-testid="open-inspector"]').click();
  const view = app.byTestId('inspector-beam');
  await view.waitFor({ timeout: LONG });
  const seen = await view.evaluate((root) => {
    const winner = Number(root.querySelector('[data-testid="beam-winner"]').getAttribute('data-score'));
    const tied = [...root.querySelectorAll('[data-testid="beam-hypothesis"]')].filter(
      (h) => h.getAttribute('data-kept') === 'yes' && Number(h.getAttribute('data-score')) === winner,
    ).length;
    const groups = Number(root.getAttribute('data-groups'));
    const signature = (g) =>
      [...root.querySelectorAll(`[data-testid="beam-cell"][data-group="${g}"]`)]
        .map((c) => `${c.textContent}|${c.getAttribute('data-score')}`)
        .join(';');
    const identical = [];
    for (let g = 1; g < groups; g++) if (signature(g) === signature(0)) identical.push(g);
    const note = root.querySelector('[data-testid="beam-tie"]');
    return {
      tied,
      identical,
      note: note?.textContent.trim() ?? null,
      noteTied: note?.getAttribute('data-tied') ?? '',
      noteGroups: note?.getAttribute('data-identical-groups') ?? '',
    };
  });
  if (seen.tied > 1) {
    check(seen.note && /tie/.test(seen.note), `${seen.tied} hypotheses tie for the win and nothing says why`);
    check(
      seen.noteTied.split(' ').length === seen.tied && /group order, as the reference does/.test(seen.note),
      `the tie note says "${seen.note}" for ${seen.tied} tied hypotheses`,
    );
  }
  if (seen.identical.length)
    check(
      seen.noteGroups.includes('0,'),
      `groups 0 and ${seen.identical.join(', ')} repeat and nothing says so`,
    );
  await view.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await app.screenshot('issue22ui-beam-tie-1280x720');
  return seen;
}

/** Runs the block. Answers `{ steps, ... }` (the figures), or `{ skipped }` without Chromium. */
export async function runIssue22Ui({ root, workDir, artifacts }) {
  return withServedBrowser(root, workDir, async ({ serve, browser, steps, step }) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, acceptDownloads: true });
    const app = new App(page, artifacts);
    const gallery = new Gallery(app);
    const workspace = new Workspace(app);
    await page.goto(serve.url);
    await app.connected();
    await step('open demo scenes and run one image', async () => {
      await gallery.openDemo(join(workDir, 'i22ui'), 2);
      await gallery.run(1);
      await gallery.openFirstDone();
      await workspace.waitForMasks(1);
    });
    const zoom = await step('zoom and pan the mask canvas', () => zoomAndPan(app));
    await workspace.openCandidatesOfFirstMask();
    const search = await step('caption search with the filters', () => searchCaptions(app));
    const compare = await step('compare two candidates', () => compareTwo(app));
    const axes = await step('inspector axes, tokens and saves', async () => {
      await new Candidates(app).inspectFirstDcs();
      await new Inspector(app).waitForCharts();
      await page.waitForFunction(
        () =>
          document.querySelector('[data-testid="inspector-heatmap"]')?.getAttribute('data-panels') === '2',
        null,
        { timeout: LONG },
      );
      const found = await chartAxes(app);
      await wholeTokens(app);
      found.saved = await saves(app);
      await app.screenshot('issue22ui-inspector-axes-1280x720');
      return found;
    });
    const beam = await step('beam ties', () => beamTies(app));
    const layout = await step('layout items', () => checkLayoutItems(app));
    const views = await step('every view at both sizes', () => photographEveryView(app));
    const seen = { zoom, search, compare, axes, beam, layout, views };
    console.log(`     issue 22 ui saw: ${JSON.stringify(seen)}`);
    return { steps, ...seen };
  });
}
