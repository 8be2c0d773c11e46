/* global document -- the functions passed to evaluate / waitForFunction run in the page */
// Issue 12's review flow checks, kept in their own module: previous/next image keys that follow the gallery's filter
// and order (also with the τ box focused), duplicate captions grouped into one line that expands and is reviewed as
// one (with undo), and gallery tiles whose kept counts sum to the top bar's at two τ values. Each is asserted on
// elements at both window sizes.
import { SIZES } from './pages.mjs';

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** The tiles' image ids in the order the gallery shows them. */
async function tileOrder(app) {
  await app.show('gallery');
  // the engine computes the gallery's pages: wait for those of the filter and order chosen now
  await app.page.waitForFunction(() => {
    const scroller = document.querySelector('[data-testid="gallery-scroller"]');
    const filter = document.querySelector('[data-testid="gallery-filter"]')?.value;
    const order = document.querySelector('[data-testid="gallery-order"]')?.value;
    return (
      scroller?.getAttribute('data-query') === `${filter}|${order}` &&
      scroller.getAttribute('data-loading') === 'false'
    );
  });
  return app
    .byTestId('gallery-item')
    .evaluateAll((nodes) =>
      nodes.map((n) => [n.getAttribute('data-image-id'), n.getAttribute('data-status')]),
    );
}

/** Sums of the tiles' kept and exportable counts, and the top bar's, as the page shows them now. */
async function tileSums(page) {
  return page.evaluate(() => {
    const tiles = [...document.querySelectorAll('[data-testid="tile-kept"]')];
    const top = document.querySelector('[data-testid="project-kept-count"]');
    return {
      tiles: tiles.length,
      kept: tiles.reduce((s, t) => s + Number(t.getAttribute('data-kept') || Number.NaN), 0),
      total: tiles.reduce((s, t) => s + Number(t.getAttribute('data-total') || Number.NaN), 0),
      topKept: Number(top?.getAttribute('data-kept')),
      topTotal: Number(top?.getAttribute('data-total')),
    };
  });
}

/** Sets τ through the number box and waits until the page shows it. */
async function setTau(app, tau) {
  const input = app.byTestId('tau-value');
  await input.fill(String(tau));
  await input.dispatchEvent('change');
  await app.page.waitForFunction(
    (t) => Math.abs(Number(document.querySelector('[data-testid="tau-value"]')?.value) - t) < 1e-9,
    tau,
  );
}

/** Item 3: the gallery's tiles sum to the top bar at two τ values (the tiles once counted at the saved τ). */
async function tilesMatchTopBar(app, label) {
  const page = app.page;
  await app.show('gallery');
  await app.byTestId('gallery-filter').selectOption('all');
  const seen = [];
  for (const tau of [1.3, 0.5]) {
    await setTau(app, tau);
    try {
      await page.waitForFunction(
        () => {
          const tiles = [...document.querySelectorAll('[data-testid="tile-kept"]')];
          const top = document.querySelector('[data-testid="project-kept-count"]');
          const sum = (name) => tiles.reduce((s, t) => s + Number(t.getAttribute(name) || Number.NaN), 0);
          return (
            tiles.length > 0 &&
            sum('data-kept') === Number(top?.getAttribute('data-kept')) &&
            sum('data-total') === Number(top?.getAttribute('data-total'))
          );
        },
        null,
        { timeout: 10_000 },
      );
    } catch {
      const sums = await tileSums(page);
      throw new Error(
        `at τ ${tau} the tiles sum to kept ${sums.kept}/${sums.total}, the top bar says ${sums.topKept}/${sums.topTotal}`,
      );
    }
    seen.push({ tau, ...(await tileSums(page)) });
  }
  check(
    seen[0].kept !== seen[1].kept,
    `kept did not change between τ 1.3 and 0.5 (${seen[0].kept}): not a test`,
  );
  await app.screenshotSizes(`${label}-13-gallery-tile-counts`);
  await setTau(app, 1.3);
  return seen;
}

/**
 * Item 1: with the gallery filtered to done images and ordered by kept count, Shift+J / Shift+K in the candidates
 * view (the τ box focused) and in the workspace step through the images in that order.
 */
async function imageKeys(app, label) {
  const page = app.page;
  await app.show('gallery');
  await app.byTestId('gallery-filter').selectOption('done');
  await app.byTestId('gallery-order').selectOption('kept');
  const order = (await tileOrder(app)).filter(([, status]) => status === 'done').map(([id]) => id);
  check(order.length >= 3, `the done filter shows ${order.length} images`);
  // open the second image of the gallery's order, on its first mask's candidates
  await page.locator(`[data-testid="gallery-item"][data-image-id="${order[1]}"]`).click();
  await app.byTestId('view-workspace').waitFor({ state: 'visible' });
  await page.waitForFunction(
    (id) =>
      document.querySelector('[data-testid="workspace-image-position"]')?.getAttribute('data-image-id') ===
      id,
    order[1],
  );
  const position = app.byTestId('workspace-image-position');
  check(
    (await position.getAttribute('data-position')) === '2' &&
      Number(await position.getAttribute('data-count')) === order.length,
    `the workspace says image ${await position.getAttribute('data-position')} of ${await position.getAttribute('data-count')}`,
  );
  const waitImage = (where, id) =>
    page
      .waitForFunction(
        ([w, i]) =>
          (w === 'workspace'
            ? document
                .querySelector('[data-testid="workspace-image-position"]')
                ?.getAttribute('data-image-id')
            : document.querySelector('[data-testid="view-candidates"]')?.getAttribute('data-image-id')) === i,
        [where, id],
        { timeout: 15_000 },
      )
      .catch(async () => {
        await app.screenshot(`${label}-failed-image-step-${where}`);
        const now = await page.evaluate(() => ({
          workspace: document
            .querySelector('[data-testid="workspace-image-position"]')
            ?.getAttribute('data-image-id'),
          candidates: document
            .querySelector('[data-testid="view-candidates"]')
            ?.getAttribute('data-image-id'),
          focus: `${document.activeElement?.tagName}.${document.activeElement?.getAttribute('data-testid')}`,
        }));
        throw new Error(
          `the ${where} view did not step to image ${id} (gallery order ${order.join(', ')}; now ${JSON.stringify(now)})`,
        );
      });
  const steps = [];
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await app.settled();
    // workspace: Shift+J → the next image of the gallery's order, Shift+K → back
    await app.show('workspace');
    await app.byTestId('tau-value').focus();
    await page.keyboard.press('Shift+J');
    await waitImage('workspace', order[2]);
    await page.keyboard.press('Shift+K');
    await waitImage('workspace', order[1]);
    // candidates of the image's first mask: the same keys, with the τ box focused, open the neighbour's first mask
    await app.byTestId('prompt-mode-select').click();
    await app.byTestId('mask-row').first().locator('td').first().click();
    await app.byTestId('open-candidates').click();
    await app.byTestId('view-candidates').waitFor({ state: 'visible' });
    await waitImage('candidates', order[1]);
    await app.byTestId('tau-value').focus();
    await page.keyboard.press('Shift+J');
    await waitImage('candidates', order[2]);
    check(
      (await app.byTestId('candidates-image-name').textContent()).trim().length > 0,
      'the candidates view does not name its image',
    );
    await page.keyboard.press('Shift+K');
    await waitImage('candidates', order[1]);
    // the workspace followed the candidates view to the same image
    await app.show('workspace');
    await waitImage('workspace', order[1]);
    steps.push(`${size.width}×${size.height}`);
  }
  await page.setViewportSize(SIZES[0]);
  await app.screenshotSizes(`${label}-14-candidates-image-keys`);
  await page.keyboard.press('?');
  await app.byTestId('keys-overlay').waitFor();
  const keys = await app.byTestId('keys-overlay').textContent();
  check(/Shift\+J/.test(keys) && /Shift\+K/.test(keys), 'the key list does not name Shift+J / Shift+K');
  await page.keyboard.press('Escape');
  await app.byTestId('keys-overlay').waitFor({ state: 'detached' });
  await app.show('gallery');
  await app.byTestId('gallery-filter').selectOption('all');
  await app.byTestId('gallery-order').selectOption('project');
  return { order, sizes: steps };
}

/**
 * Item 2: a mask's equal captions are one line with a count; it expands to one line per candidate (decoding, crop,
 * DoS); accepting the line accepts every member, and one undo restores each member's earlier review.
 */
async function duplicateGroups(app, label) {
  const page = app.page;
  await app.show('candidates');
  const group = () =>
    page.locator('[data-testid="candidate-row"]', { has: page.locator('[data-testid="dup-count"]') });
  // find a mask with a duplicate group: step masks (]) and then images (Shift+J)
  for (let tries = 0; tries < 30 && (await group().count()) === 0; tries++) {
    const mask = await app.byTestId('view-candidates').getAttribute('data-mask-id');
    const image = await app.byTestId('view-candidates').getAttribute('data-image-id');
    await page.locator('body').press(']');
    const moved = await page
      .waitForFunction(
        (m) => document.querySelector('[data-testid="view-candidates"]')?.getAttribute('data-mask-id') !== m,
        mask,
        { timeout: 3000 },
      )
      .then(() => true)
      .catch(() => false);
    if (!moved) {
      await page.locator('body').press('Shift+J');
      await page.waitForFunction(
        (i) => document.querySelector('[data-testid="view-candidates"]')?.getAttribute('data-image-id') !== i,
        image,
        { timeout: 15_000 },
      );
    }
    await page
      .locator('[data-testid="candidate-row"]')
      .first()
      .waitFor({ timeout: 30_000 })
      .catch(() => {});
  }
  check((await group().count()) > 0, 'no mask of the project has two equal captions to group');
  const row = group().first();
  const count = Number(await row.locator('[data-testid="dup-count"]').getAttribute('data-count'));
  check(count >= 2 && Number(await row.getAttribute('data-members')) === count, `a group says ×${count}`);
  const members = page.locator('[data-testid="candidate-member"]');
  check((await members.count()) === 0, 'members show before their group is expanded');
  await row.locator('[data-testid="dup-count"]').click();
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="candidate-member"]').length === n,
    count,
    { timeout: 5000 },
  );
  // every member is listed; a group's review applies to its exportable members (comparison rows are never kept)
  const shown = await members.evaluateAll((nodes) =>
    nodes.map((n) => ({
      comparison: n.classList.contains('comparison'),
      id: n.getAttribute('data-candidate-id'),
      decoding: n.querySelector('.setting')?.textContent.trim() ?? '',
      dos: n.querySelector('.dos')?.textContent.trim() ?? '',
      review: n.getAttribute('data-review'),
    })),
  );
  for (const m of shown)
    check(
      /crop/.test(m.decoding) && m.dos !== '',
      `a member line lacks its decoding, crop or DoS: ${JSON.stringify(m)}`,
    );
  await app.screenshotSizes(`${label}-15-candidates-group-expanded`);
  const reviews = () =>
    members.evaluateAll((nodes) =>
      nodes.filter((n) => !n.classList.contains('comparison')).map((n) => n.getAttribute('data-review')),
    );
  const exportable = shown.filter((m) => !m.comparison);
  check(exportable.length > 0, 'the group has no exportable member to review');
  const target = exportable.every((m) => m.review === 'accepted') ? 'rejected' : 'accepted';
  await row.locator(`[data-testid="candidate-${target === 'accepted' ? 'accept' : 'reject'}"]`).click();
  await page
    .waitForFunction(
      (t) =>
        [...document.querySelectorAll('[data-testid="candidate-member"]:not(.comparison)')].every(
          (n) => n.getAttribute('data-review') === t,
        ),
      target,
      { timeout: 10_000 },
    )
    .catch(async () => {
      throw new Error(`the group's ${target} left its members at ${(await reviews()).join(', ')}`);
    });
  check(
    (await row.getAttribute('data-review')) === target,
    `the group line says ${await row.getAttribute('data-review')}`,
  );
  await page.locator('body').press('z');
  await page
    .waitForFunction(
      (before) =>
        [...document.querySelectorAll('[data-testid="candidate-member"]:not(.comparison)')]
          .map((n) => n.getAttribute('data-review'))
          .join() === before.join(),
      exportable.map((m) => m.review),
      { timeout: 10_000 },
    )
    .catch(async () => {
      throw new Error(
        `one undo left the members at ${(await reviews()).join(', ')}, not ${exportable.map((m) => m.review)}`,
      );
    });
  await row.locator('[data-testid="dup-count"]').click();
  await members.first().waitFor({ state: 'detached' });
  return { count, target, members: shown.length };
}

/** Runs the three checks; answers what they saw. */
export async function checkReviewNavigation(app, { label }) {
  const tiles = await tilesMatchTopBar(app, label);
  const keys = await imageKeys(app, label);
  const groups = await duplicateGroups(app, label);
  return { tiles, keys, groups };
}
