/* global document -- the functions passed to waitForFunction run in the page */
// Page objects of the end-to-end tests: one per view, each driving the UI through the renderer's data-testids
// (src/renderer/src/testids.ts) and waiting on UI state, never on fixed sleeps.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Generous per-wait limit: model work on two shared cores. */
const LONG = 240_000;

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
    await this.app.byTestId('mask-row').first().click();
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
}

/** Export dialog. */
export class ExportDialog {
  /** @param {App} app */
  constructor(app) {
    this.app = app;
    this.page = app.page;
  }

  /** Exports only `format` into `dest`; answers the listed files. */
  async exportOnly(format, dest) {
    await this.app.byTestId('export-open').click();
    const boxes = this.page.locator('[data-testid^="export-format-"]');
    await boxes.first().waitFor();
    for (const box of await boxes.all()) {
      const want = (await box.getAttribute('data-testid')) === `export-format-${format}`;
      if ((await box.isChecked()) !== want) await box.click();
    }
    await this.app.byTestId('export-destination').fill(dest);
    await this.app.byTestId('export-button').click();
    await this.app.byTestId('export-file').first().waitFor({ timeout: LONG });
    return this.app.byTestId('export-file').allTextContents();
  }
}
