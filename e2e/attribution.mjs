/* global document -- the functions passed to waitForFunction run in the page */
// Occlusion attribution in the inspector (issue 22), its own block (served mode, Chromium at 1280×720): open a DCS
// candidate's inspector, choose step 1, ask for the attribution, and see the naive and DCS drop maps over the crop,
// with their legend and the token named. Fails on the code before: the inspector had no attribution view.
import { join } from 'node:path';
import { App, Candidates, Gallery, Inspector, Workspace } from './pages.mjs';
import { withServedBrowser } from './served.mjs';

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Runs the attribution check. Answers `{ steps }`, or `{ skipped }` without Chromium. */
export async function runAttribution({ root, workDir, artifacts }) {
  return withServedBrowser(root, workDir, async ({ serve, browser, steps, step }) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const app = new App(page, artifacts);
    const gallery = new Gallery(app);
    await page.goto(serve.url);
    await app.connected();
    await step('open demo scenes and run one image', async () => {
      await gallery.openDemo(join(workDir, 'attribution'), 2);
      await gallery.run(1);
    });
    await step('open the inspector on a DCS candidate at step 1', async () => {
      await gallery.openFirstDone();
      await new Workspace(app).openCandidatesOfFirstMask();
      await new Candidates(app).inspectFirstDcs();
      await new Inspector(app).waitForCharts();
      await app.byTestId('inspector-step').and(page.locator('[data-step="1"]')).first().click();
    });
    const cells = await step('ask for the attribution and see both heatmaps', async () => {
      const view = app.byTestId('occlusion-view');
      await view.scrollIntoViewIfNeeded();
      check((await view.locator('h3').textContent()).includes('step 1'), 'the attribution is not of step 1');
      await app.byTestId('occlusion-run').click();
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid="occlusion-panel"][data-cells="64"]').length === 2,
        null,
        { timeout: 120_000 },
      );
      const labels = await app
        .byTestId('occlusion-panel')
        .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-label')));
      check(labels[0] === 'naive' && labels[1].startsWith('DCS'), `panels ${labels.join(', ')}`);
      const drops = await app
        .byTestId('occlusion-cell')
        .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-drop')));
      check(drops.length === 128, `${drops.length} heatmap cells, expected 2 × 64`);
      check(
        drops.every((d) => d !== '' && Number.isFinite(Number(d))),
        'a heatmap cell has no finite drop',
      );
      check(new Set(drops).size > 1, 'every cell shows the same drop: no map');
      const token = (await app.byTestId('occlusion-token').textContent()).trim();
      check(/token “[^”]+” \(id \d+\)/.test(token), `the token is not named: "${token}"`);
      check((await app.byTestId('occlusion-legend').count()) === 2, 'each panel needs its legend');
      const crop = await app.byTestId('occlusion-panel').first().locator('canvas').count();
      check(crop === 1, 'the crop is not drawn under the heatmap');
      await view.screenshot({ path: join(artifacts, 'attribution-1280x720.png') });
      return drops.length;
    });
    return { steps, cells };
  });
}
