/* global document, window, getComputedStyle, requestAnimationFrame, MutationObserver -- these functions run in the page */
// Page objects of the end-to-end tests: one per view, each driving the UI through the renderer's data-testids
// (src/renderer/src/testids.ts) and waiting on UI state, never on fixed sleeps.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Generous per-wait limit: model work on two shared cores. */
const LONG = 240_000;

/** The views, in navigation order (as the renderer's VIEWS). */
export const VIEWS_ORDER = [
  'gallery',
  'workspace',
  'candidates',
  'inspector',
  'parameters',
  'report',
  'models',
];

/** The window sizes every view is checked and photographed at: the usual laptop and the smallest supported. */
export const SIZES = [
  { width: 1440, height: 900 },
  { width: 1280, height: 720 },
];

/**
 * Runs in the page: what is wrong with the layout, from element boxes. A horizontal scrollbar on the page or on any
 * scroll container (except those marked `data-hscroll="intended"`, e.g. the inspector's token strip); a top bar
 * whose items wrap (not all on one row, or a button taller than one line) or run past the window's right edge;
 * fieldsets of the parameters panel that overlap.
 */
function layoutProblems() {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1)
    problems.push(`the page scrolls horizontally (${root.scrollWidth} > ${root.clientWidth})`);
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (!['auto', 'scroll'].includes(style.overflowX) || el.closest('[data-hscroll="intended"]')) continue;
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0)
      problems.push(
        `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} scrolls horizontally (${el.scrollWidth} > ${el.clientWidth})`,
      );
  }
  const top = document.querySelector('header.top');
  if (top) {
    const bar = top.getBoundingClientRect();
    for (const el of top.querySelectorAll('button, .progress, .tau, .conn, .brand, .project')) {
      const box = el.getBoundingClientRect();
      if (box.width === 0) continue;
      const name = (el.getAttribute('data-testid') ?? el.className ?? el.tagName).toString();
      if (box.top < bar.top - 1 || box.bottom > bar.bottom + 1)
        problems.push(`top bar item ${name} leaves the bar`);
      if (box.right > window.innerWidth + 0.5) problems.push(`top bar item ${name} is cut off at the right`);
      if (el.tagName === 'BUTTON') {
        const line = parseFloat(getComputedStyle(el).lineHeight) || 16;
        const inner =
          el.clientHeight -
          parseFloat(getComputedStyle(el).paddingTop) -
          parseFloat(getComputedStyle(el).paddingBottom);
        if (inner > line * 1.5) problems.push(`top bar button "${el.textContent.trim()}" wraps (${inner}px)`);
      }
    }
  }
  if (top) {
    // the bar's items side by side, none over its neighbour (a squeezed item spills over the next one)
    const items = [...top.children]
      .map((el) => ({ el, box: el.getBoundingClientRect() }))
      .filter(({ box }) => box.width > 0);
    for (let i = 1; i < items.length; i++)
      if (
        items[i].box.left < items[i - 1].box.right - 1 ||
        (getComputedStyle(items[i - 1].el).overflowX === 'visible' &&
          items[i - 1].el.scrollWidth > items[i - 1].el.clientWidth + 1)
      )
        problems.push(
          `top bar items ${items[i - 1].el.className || items[i - 1].el.tagName} and ${items[i].el.className || items[i].el.tagName} overlap`,
        );
  }
  const sets = [...document.querySelectorAll('[data-testid="view-parameters"] fieldset')]
    .map((el) => el.getBoundingClientRect())
    .filter((box) => box.width > 0);
  for (let i = 0; i < sets.length; i++)
    for (let j = i + 1; j < sets.length; j++) {
      const a = sets[i];
      const b = sets[j];
      if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
        problems.push(`parameters sections ${i} and ${j} overlap`);
    }
  return problems;
}

/** The whole app: shell, navigation, screenshots. */
export class App {
  /** @param {import('playwright-core').Page} page @param {string} artifacts */
  constructor(page, artifacts) {
    this.page = page;
    this.artifacts = artifacts;
    mkdirSync(artifacts, { recursive: true });
  }

  byTestId(id) {
    return this.page.locator(`[data-testid="${id}"]`);
  }

  async connected() {
    await this.byTestId('connection-status')
      .and(this.page.locator('[data-state="open"]'))
      .waitFor({ timeout: 60_000 });
  }

  /** Opens a view by its navigation button and waits for the view's root. */
  async show(view) {
    await this.byTestId(`nav-${view}`).click();
    await this.byTestId(`view-${view}`).waitFor({ state: 'visible' });
  }

  async screenshot(name) {
    const path = join(this.artifacts, `${name}.png`);
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }

  /** Resolves after two animation frames (layout and paint after a change). */
  async settled() {
    await this.page.evaluate(
      () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
    );
  }

  /** Throws with every layout problem of the current view (see `layoutProblems`). */
  async checkLayout(where) {
    // Charts follow a resize a moment later (their ResizeObserver is throttled): allow the layout 3 s to settle.
    try {
      await this.page.waitForFunction(`(${layoutProblems.toString()})().length === 0`, null, {
        timeout: 3000,
        polling: 100,
      });
    } catch {
      const problems = await this.page.evaluate(layoutProblems);
      if (problems.length) throw new Error(`layout at ${where}: ${problems.join('; ')}`);
    }
  }

  /**
   * Photographs the current view at every size of SIZES (`<name>-<w>x<h>.png`) and checks its layout at each,
   * then returns to the first size.
   */
  async screenshotSizes(name) {
    for (const size of SIZES) {
      await this.page.setViewportSize(size);
      await this.settled();
      await this.screenshot(`${name}-${size.width}x${size.height}`);
      await this.checkLayout(`${name} ${size.width}×${size.height}`);
    }
    await this.page.setViewportSize(SIZES[0]);
    await this.settled();
  }

  /** The texts of the notices shown. */
  async notices() {
    return this.page.locator('.notices .notice').allTextContents();
  }

  /** The project-wide total (candidates with scores) next to the τ slider. */
  async projectTotal() {
    return Number(await this.byTestId('project-kept-count').getAttribute('data-total'));
  }

  /** Waits until the top bar's total is `total` (the page's stored scores follow the engine). */
  async waitForProjectTotal(total, timeout = 15_000) {
    await this.page.waitForFunction(
      (n) =>
        Number(document.querySelector('[data-testid="project-kept-count"]')?.getAttribute('data-total')) ===
        n,
      total,
      { timeout },
    );
  }

  /** The project-wide kept count next to the τ slider. */
  async projectKept() {
    return Number(await this.byTestId('project-kept-count').getAttribute('data-kept'));
  }

  /** Sets τ through its number input and waits until the kept count differs from `before`. */
  async setTau(tau, before) {
    const input = this.byTestId('tau-value');
    await input.fill(String(tau));
    await input.dispatchEvent('change');
    await this.page.waitForFunction(
      ([previous]) =>
        Number(document.querySelector('[data-testid="project-kept-count"]')?.getAttribute('data-kept')) !==
        previous,
      [before],
      { timeout: 10_000 },
    );
    return this.projectKept();
  }
}

/** Project and gallery. */
export class Gallery {
  /** @param {App} app */
  constructor(app) {
    this.app = app;
    this.page = app.page;
  }

  items() {
    return this.app.byTestId('gallery-item');
  }

  async openDemo(projectDir, count) {
    await this.app.show('gallery');
    await this.page.getByLabel('project folder', { exact: true }).fill(projectDir);
    await this.page.getByLabel('demo scene count').fill(String(count));
    await this.app.byTestId('open-demo').click();
    await this.page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="gallery-item"]').length === n,
      count,
      { timeout: LONG },
    );
  }

  /**
   * Tries to start a project from an image folder that does not exist: answers the error notice shown and the
   * project name the top bar shows afterwards.
   */
  async openMissingFolder(projectDir, folder) {
    await this.app.show('gallery');
    await this.page.getByLabel('project folder', { exact: true }).fill(projectDir);
    await this.app.byTestId('folder-path').fill(folder);
    await this.app.byTestId('open-folder').click();
    const notice = this.page.locator('[data-testid="notice"][data-kind="error"][data-cause="project"]');
    await notice.waitFor({ timeout: 30_000 });
    await this.app.byTestId('folder-path').fill('');
    return {
      error: (await notice.textContent()).trim(),
      project: (await this.app.byTestId('project-name').textContent()).trim(),
      items: await this.items().count(),
    };
  }

  /** Opens an existing project folder with "Open project". */
  async openProject(projectDir) {
    await this.app.show('gallery');
    await this.page.getByLabel('project folder', { exact: true }).fill(projectDir);
    await this.app.byTestId('open-project').click();
    await this.page.waitForFunction(
      () => document.querySelectorAll('[data-testid="gallery-item"]').length > 0,
    );
  }

  /**
   * Starts collecting, in the page, every in-image progress value the top bar and the running tile show
   * (`run-within` / `tile-within`: done, total), for `withinSeen` to read back.
   */
  async watchWithin() {
    await this.page.evaluate(() => {
      const seen = [];
      window.__withinSeen = seen;
      const observer = new MutationObserver(() => {
        for (const el of document.querySelectorAll(
          '[data-testid="run-within"], [data-testid="tile-within"]',
        )) {
          const total = el.getAttribute('data-total');
          if (total)
            seen.push([el.getAttribute('data-testid'), Number(el.getAttribute('data-done')), Number(total)]);
        }
      });
      observer.observe(document.body, { subtree: true, attributes: true, childList: true });
      window.__withinObserver = observer;
    });
  }

  /** Stops collecting and answers the observed `[testid, done, total]` values. */
  async withinSeen() {
    return this.page.evaluate(() => {
      window.__withinObserver?.disconnect();
      return window.__withinSeen ?? [];
    });
  }

  /** The candidates of every image, summed from the tiles' data (what the engine listed). */
  async candidateTotal() {
    return this.items().evaluateAll((nodes) =>
      nodes.reduce((sum, n) => sum + Number(n.getAttribute('data-candidates') ?? 0), 0),
    );
  }

  /** The gallery tiles that say "running". */
  async runningTiles() {
    return this.page.locator('[data-testid="gallery-item"][data-status="running"]').count();
  }

  /**
   * Starts a run of the next `count` images and pauses it at once: waits until the run says paused (Resume shown)
   * and answers what the page showed then.
   */
  async startAndPause(count) {
    await this.app.byTestId('run-count').fill(String(count));
    await this.app.byTestId('run-start').click();
    await this.app.byTestId('run-pause').click();
    await this.app.byTestId('run-resume').waitFor({ timeout: LONG });
    return {
      running: await this.runningTiles(),
      state: await this.app.byTestId('run-progress').getAttribute('data-state'),
      notices: await this.app.notices(),
    };
  }

  /** Resumes a paused run and waits until it has finished with `done` images done. */
  async resumeUntilDone(done) {
    await this.app.byTestId('run-resume').click();
    await this.page.waitForFunction(
      (n) =>
        document.querySelectorAll('[data-testid="gallery-item"][data-status="done"]').length >= n &&
        !document.querySelector('[data-testid="run-cancel"]'),
      done,
      { timeout: LONG, polling: 250 },
    );
  }

  /** Runs the next `count` images and waits until that many are done. */
  async run(count) {
    await this.app.byTestId('run-count').fill(String(count));
    await this.app.byTestId('run-start').click();
    await this.page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="gallery-item"][data-status="done"]').length >= n,
      count,
      { timeout: LONG, polling: 500 },
    );
    await this.page.waitForFunction(() => !document.querySelector('[data-testid="run-cancel"]'), null, {
      timeout: LONG,
    });
  }

  /** The file name of the first finished image's tile. */
  async firstDoneName() {
    return (
      await this.page.locator('[data-testid="gallery-item"][data-status="done"] .name').first().textContent()
    ).trim();
  }

  async openFirstDone() {
    await this.page.locator('[data-testid="gallery-item"][data-status="done"]').first().click();
    await this.app.byTestId('view-workspace').waitFor({ state: 'visible' });
  }
}

/** Image workspace with mask overlays and prompts. */
export class Workspace {
  /** @param {App} app */
  constructor(app) {
    this.app = app;
    this.page = app.page;
  }

  overlay() {
    return this.app.byTestId('mask-overlay');
  }

  async maskCount() {
    return Number(await this.overlay().getAttribute('data-mask-count'));
  }

  async waitForMasks(atLeast) {
    await this.page.waitForFunction(
      (n) =>
        Number(document.querySelector('[data-testid="mask-overlay"]')?.getAttribute('data-mask-count')) >= n,
      atLeast,
      { timeout: LONG },
    );
  }

  /**
   * Checks that masks can be told apart: the image is named, every visible mask is numbered on the canvas, hovering
   * a row highlights its mask, hiding one leaves it out (and "Show all" brings it back), the fill opacity applies.
   * Answers what it saw.
   */
  async checkIdentity(imageName) {
    const overlay = this.overlay();
    const name = (await this.app.byTestId('workspace-image-name').textContent()).trim();
    if (name !== imageName) throw new Error(`the workspace names the image "${name}", not "${imageName}"`);
    const masks = await this.maskCount();
    const labels = () => overlay.getAttribute('data-labels').then((v) => (v ? v.split(',') : []));
    const all = await labels();
    if (all.length !== masks) throw new Error(`${all.length} mask numbers on the canvas for ${masks} masks`);
    const row = this.app.byTestId('mask-row').first();
    const index = await row.getAttribute('data-mask-index');
    await row.hover();
    await this.page.waitForFunction(
      (i) => document.querySelector('[data-testid="mask-overlay"]')?.getAttribute('data-hovered') === i,
      index,
      { timeout: 5000 },
    );
    await row.locator('[data-testid="mask-visibility"]').click();
    const hiddenLabels = await labels();
    if (
      Number(await overlay.getAttribute('data-visible-count')) !== masks - 1 ||
      hiddenLabels.includes(index)
    )
      throw new Error(`hiding mask ${index} left it drawn: labels ${hiddenLabels.join(',')}`);
    await this.app.byTestId('masks-show-all').click();
    if ((await labels()).length !== masks) throw new Error('"Show all" did not bring the hidden mask back');
    await this.app.byTestId('overlay-opacity').fill('0.3');
    const opacity = Number(await overlay.getAttribute('data-opacity'));
    if (Math.abs(opacity - 0.3) > 1e-9) throw new Error(`overlay opacity ${opacity} after setting 0.3`);
    await this.page.mouse.move(0, 0);
    // The selected mask's crops as the captioner saw them: masked + three box margins, each with its window.
    await row.locator('td').first().click();
    const crops = await this.cropWindows(4);
    return { name, masks, labels: all, crops };
  }

  /**
   * Deletes the last mask (not the reviewed first one, whose decisions a delete sets aside itself), checks that a re-caption would ask first and name the `reviewed` decisions it drops,
   * keeps the review, then undoes the delete. Answers the mask counts seen.
   */
  async deleteRecaptionUndo(reviewed) {
    const before = await this.maskCount();
    await this.app.byTestId('prompt-mode-select').click();
    await this.app.byTestId('mask-row').last().locator('td').first().click();
    await this.app.byTestId('mask-delete').click();
    await this.page.waitForFunction(
      (n) =>
        Number(document.querySelector('[data-testid="mask-overlay"]')?.getAttribute('data-mask-count')) === n,
      before - 1,
      { timeout: 10_000 },
    );
    await this.app.byTestId('recaption').click();
    const drops = Number(await this.app.byTestId('recaption-drops').getAttribute('data-reviewed'));
    if (drops !== reviewed)
      throw new Error(`the re-caption warning names ${drops} decisions, not ${reviewed}`);
    await this.app.screenshot('served-12-recaption-confirm');
    await this.app.byTestId('recaption-confirm-no').click();
    await this.page.keyboard.press('z');
    await this.page.waitForFunction(
      (n) =>
        Number(document.querySelector('[data-testid="mask-overlay"]')?.getAttribute('data-mask-count')) === n,
      before,
      { timeout: 10_000 },
    );
    return { before, afterDelete: before - 1, afterUndo: await this.maskCount() };
  }

  /** Waits for `count` drawn crop thumbnails and answers their `crop: window` strings. */
  async cropWindows(count) {
    await this.page.waitForFunction(
      (n) =>
        [...document.querySelectorAll('[data-testid="crop-thumb"]')].filter(
          (el) => el.offsetParent !== null && el.getAttribute('data-window'),
        ).length >= n,
      count,
      { timeout: 10_000 },
    );
    return this.page
      .locator('[data-testid="crop-thumb"]:visible')
      .evaluateAll((nodes) =>
        nodes.map((n) => `${n.getAttribute('data-crop')}: ${n.getAttribute('data-window')}`),
      );
  }

  /** Adds a mask with one foreground click at a relative position of the image, then waits for it in the list. */
  async addMaskByClick(fx, fy) {
    const before = await this.maskCount();
    await this.app.byTestId('prompt-mode-point').click();
    const box = await this.overlay().boundingBox();
    if (!box) throw new Error('the mask overlay has no size');
    await this.overlay().click({ position: { x: box.width * fx, y: box.height * fy } });
    const add = this.app.byTestId('prompt-add');
    await add.and(this.page.locator(':enabled')).waitFor({ timeout: LONG });
    await add.click();
    await this.waitForMasks(before + 1);
    return this.maskCount();
  }

  /**
   * Presses "Re-caption with current masks" and waits, on UI state, until the last mask row (the mask added with a
   * prompt) is a captioned mask (`<image>:<k>`, not `<image>:u<k>`) with candidates. Returns its candidate count.
   */
  async recaptionAddedMask() {
    const button = this.app.byTestId('recaption');
    await button.and(this.page.locator(':enabled')).waitFor({ timeout: LONG });
    await button.click();
    const handle = await this.page.waitForFunction(
      () => {
        const rows = document.querySelectorAll('[data-testid="mask-row"]');
        const last = rows[rows.length - 1];
        const candidates = Number(last?.getAttribute('data-candidates'));
        const captioned =
          last?.getAttribute('data-source') === 'prompt' &&
          !/:u\d+$/.test(last.getAttribute('data-mask-id') ?? '');
        return captioned && candidates > 0 ? candidates : null;
      },
      undefined,
      { timeout: LONG },
    );
    await this.app
      .byTestId('recaption')
      .and(this.page.locator('[data-state="captioned"]'))
      .waitFor({ timeout: LONG });
    return handle.jsonValue();
  }

  async openCandidatesOfFirstMask() {
    await this.app.byTestId('prompt-mode-select').click();
    await this.app.byTestId('mask-row').first().locator('td').first().click();
    await this.app.byTestId('open-candidates').click();
    await this.app.byTestId('view-candidates').waitFor({ state: 'visible' });
    await this.app.byTestId('candidate-row').first().waitFor({ timeout: LONG });
  }
}

/** Candidates table of one mask. */
export class Candidates {
  /** @param {App} app */
  constructor(app) {
    this.app = app;
    this.page = app.page;
  }

  rows() {
    return this.app.byTestId('candidate-row');
  }

  /** The open mask's id. */
  async maskId() {
    return this.app.byTestId('view-candidates').getAttribute('data-mask-id');
  }

  /**
   * The review flow: filters narrow the rows, duplicate marks count equal captions, `?` lists the keys, keys work
   * with the τ slider focused, `[`/`]` step masks, Shift+A accepts the kept rows and opens the next mask.
   * Answers what it saw.
   */
  async review() {
    const page = this.page;
    const texts = () =>
      this.rows().evaluateAll((rows) => rows.map((r) => r.querySelector('.setting').textContent));
    const all = await this.rows().count();
    await this.app.byTestId('filter-method').selectOption('beam');
    const beams = await texts();
    if (beams.length === 0 || beams.length >= all || !beams.every((t) => t.startsWith('beam')))
      throw new Error(`the decoding filter shows ${beams.join(', ')} of ${all} rows`);
    await this.app.byTestId('filter-method').selectOption('all');
    await this.app.byTestId('filter-kept').check();
    const keptFlags = await this.rows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kept')));
    if (keptFlags.some((flag) => flag !== 'true')) throw new Error('the kept filter shows rows not kept');
    await this.app.byTestId('filter-kept').uncheck();
    // equal captions are one line each (a group with its count), never two lines
    const duplicates = await page.evaluate(() => {
      const rows = [...document.querySelectorAll('[data-testid="candidate-row"]')];
      const text = (r) => r.querySelector('.text > span:not(.member-mark)')?.textContent.trim().toLowerCase();
      return rows
        .filter((r) => r.querySelector('[data-testid="dup-count"]'))
        .map((r) => [
          Number(r.querySelector('[data-testid="dup-count"]').getAttribute('data-count')),
          Number(r.getAttribute('data-members')),
          rows.filter((o) => text(o) === text(r)).length,
        ]);
    });
    for (const [shown, members, lines] of duplicates)
      if (shown !== members || shown < 2 || lines !== 1)
        throw new Error(`a duplicate group says ×${shown} for ${members} members on ${lines} lines`);
    await page.keyboard.press('?');
    await this.app.byTestId('keys-overlay').waitFor();
    const keysText = await this.app.byTestId('keys-overlay').textContent();
    if (!/Shift\+A/.test(keysText)) throw new Error('the key list does not name Shift+A');
    await page.keyboard.press('Escape');
    await this.app.byTestId('keys-overlay').waitFor({ state: 'detached' });
    // keys reach the view while the τ slider has focus
    await this.app.byTestId('tau-slider').focus();
    const before = await page.locator('tr.cand.cursor').getAttribute('data-candidate-index');
    await page.keyboard.press('j');
    await page.waitForFunction(
      (b) => document.querySelector('tr.cand.cursor')?.getAttribute('data-candidate-index') !== b,
      before,
      { timeout: 5000 },
    );
    const first = await this.maskId();
    await page.locator('body').press('Shift+A');
    await page.waitForFunction(
      (m) => {
        const id = document.querySelector('[data-testid="view-candidates"]')?.getAttribute('data-mask-id');
        return id && id !== m;
      },
      first,
      { timeout: 30_000 },
    );
    const accepted = await page
      .locator('.notices .notice', { hasText: /^Accepted \d+/ })
      .first()
      .textContent();
    await this.rows().first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('[');
    await page.waitForFunction(
      (m) => document.querySelector('[data-testid="view-candidates"]')?.getAttribute('data-mask-id') === m,
      first,
      { timeout: 10_000 },
    );
    // the first mask's rows load again: count its accepted rows once they are there
    await this.rows().first().waitFor({ timeout: 30_000 });
    // candidates accepted, counted over every line (a group line counts its accepted members)
    const acceptedRows = await this.rows().evaluateAll((rows) =>
      rows.reduce((sum, r) => sum + Number(r.getAttribute('data-accepted') ?? 0), 0),
    );
    return {
      all,
      beams: beams.length,
      duplicates: duplicates.length,
      accepted: Number(/\d+/.exec(accepted)[0]),
      acceptedRows,
    };
  }

  /** Opens the inspector on the first DCS candidate. */
  async inspectFirstDcs() {
    const row = this.rows()
      .filter({ hasText: /dcs|DCS/ })
      .first();
    await row.locator('[data-testid="open-inspector"]').click();
    await this.app.byTestId('view-inspector').waitFor({ state: 'visible' });
  }
}

/** Decoding inspector. */
export class Inspector {
  /** @param {App} app */
  constructor(app) {
    this.app = app;
    this.page = app.page;
  }

  /** Waits for the per-step charts and the step strip; answers the chart names shown. */
  async waitForCharts() {
    await this.app.byTestId('inspector-step').first().waitFor({ timeout: LONG });
    await this.page.waitForFunction(
      () => document.querySelectorAll('[data-testid="inspector-chart"]').length >= 3,
      null,
      { timeout: LONG },
    );
    return this.app
      .byTestId('inspector-chart')
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-chart')));
  }

  /** Re-runs the inspected crop with `seed`; answers the setting label the title shows afterwards. */
  async rerunWithSeed(seed) {
    await this.page.getByLabel('seed', { exact: true }).fill(String(seed));
    await this.app.byTestId('rerun-crop').click();
    const label = this.app.byTestId('inspector-setting');
    await label.and(this.page.locator('[data-rerun="yes"]')).waitFor({ timeout: LONG });
    await this.page.waitForFunction(
      (s) => document.querySelector('[data-testid="inspector-setting"]')?.textContent.includes(`seed ${s}`),
      seed,
      { timeout: LONG },
    );
    return (await label.textContent()).trim();
  }
}

/** Export dialog. */
export class ExportDialog {
  /** @param {App} app */
  constructor(app) {
    this.app = app;
    this.page = app.page;
  }

  /** Exports only `format` into `dest` (refcoco/cris: as `dataset` when given); answers the listed files. */
  async exportOnly(format, dest, { dataset } = {}) {
    await this.app.byTestId('export-open').click();
    const boxes = this.page.locator('[data-testid^="export-format-"]');
    await boxes.first().waitFor();
    for (const box of await boxes.all()) {
      const want = (await box.getAttribute('data-testid')) === `export-format-${format}`;
      if ((await box.isChecked()) !== want) await box.click();
    }
    if (dataset) await this.app.byTestId('export-dataset').selectOption(dataset);
    await this.app.byTestId('export-destination').fill(dest);
    await this.app.byTestId('export-button').click();
    await this.app.byTestId('export-file').first().waitFor({ timeout: LONG });
    return this.app.byTestId('export-file').allTextContents();
  }
}
