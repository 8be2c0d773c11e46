/* global document, getComputedStyle, window -- the functions passed to evaluate run in the page */
// Issue 22 item 10 and the screenshots of every view: nothing labelled is cut (its text wider than its box), nothing
// scrolls sideways, at 1280×720 and 1440×900. Used by issue22-ui.mjs.
import { SIZES, VIEWS_ORDER } from './pages.mjs';

const LONG = 240_000;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * Runs in the page: the elements whose own text is cut — a direct text child, shown, and a content box narrower
 * than its content (scrollWidth > clientWidth) while it does not scroll (overflow hidden / clip, often with an
 * ellipsis). Scroll boxes are the layout check's business; canvases draw their own text.
 */
function cutTexts() {
  const cut = [];
  for (const el of document.querySelectorAll('body *')) {
    if (!el.checkVisibility?.() || el.closest('[data-hscroll="intended"]')) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    if (['auto', 'scroll'].includes(style.overflowX)) continue;
    // a 1-px box is a screen-reader-only label (clipped on purpose)
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 1)
      cut.push(
        `${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''}.${[...el.classList].join('.')} "${el.textContent.trim().slice(0, 40)}" (${el.scrollWidth} > ${el.clientWidth})`,
      );
  }
  return cut;
}

/** Runs in the page: whether the τ box's text fits beside its spin buttons (its own font, measured). */
function tauBoxFits() {
  const input = document.querySelector('[data-testid="tau-value"]');
  const style = getComputedStyle(input);
  const probe = document.createElement('span');
  probe.style.font = style.font;
  probe.style.position = 'absolute';
  probe.style.whiteSpace = 'pre';
  probe.textContent = input.value;
  document.body.append(probe);
  const text = probe.getBoundingClientRect().width;
  probe.remove();
  // Chromium's spin buttons take ~15 px of the content box
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 15;
  return { value: input.value, text, room };
}

/** Checks the view shown at both sizes: screenshot, no sideways scroll, no cut text. Answers the sizes checked. */
async function checkView(app, name) {
  for (const size of SIZES) {
    await app.page.setViewportSize(size);
    await app.settled();
    await app.screenshot(`${name}-${size.width}x${size.height}`);
    await app.checkLayout(`${name} ${size.width}×${size.height}`).catch(async (error) => {
      // name the elements that stick out of their scroll box, the deepest first
      const wide = await app.page.evaluate(() =>
        [...document.querySelectorAll('.pane *')]
          .filter((el) => {
            const pane = el.closest('.pane').getBoundingClientRect();
            return el.getBoundingClientRect().right > pane.right + 1;
          })
          .slice(-4)
          .map(
            (el) =>
              `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ${Math.round(el.getBoundingClientRect().width)}px`,
          ),
      );
      error.message += ` (past the pane: ${wide.join(', ')})`;
      throw error;
    });
    const cut = await app.page.evaluate(cutTexts);
    check(
      cut.length === 0,
      `${name} at ${size.width}×${size.height}: cut text ${cut.slice(0, 6).join('; ')}`,
    );
  }
  await app.page.setViewportSize(SIZES[SIZES.length - 1]);
  await app.settled();
}

/**
 * Item 10: the run's in-image stage is whole while a run goes, the project name and the τ box are not cut, the
 * report's clipped last bin says so, grouped candidate rows have ✎. Answers what it saw.
 */
export async function checkLayoutItems(app) {
  const page = app.page;
  const seen = {};
  // the τ box shows 1.29 whole
  await app.byTestId('tau-value').fill('1.29');
  await app.byTestId('tau-value').press('Enter');
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await app.settled();
    const tau = await page.evaluate(tauBoxFits);
    check(tau.text <= tau.room, `the τ box shows ${tau.value} in ${tau.room} px, it needs ${tau.text} px`);
    const name = await app
      .byTestId('project-name')
      .evaluate((el) => [el.scrollWidth, el.clientWidth, el.textContent]);
    check(name[0] <= name[1] + 1, `the project name "${name[2]}" is cut (${name[0]} > ${name[1]})`);
    seen.tau = tau;
  }
  await page.setViewportSize(SIZES[1]);
  // ✎ on grouped rows
  await app.show('candidates');
  const groups = await page.locator('[data-testid="candidate-row"]:has([data-testid="dup-count"])').count();
  const groupEdits = await page
    .locator('[data-testid="candidate-row"]:has([data-testid="dup-count"]) [data-testid="candidate-edit"]')
    .count();
  check(groupEdits === groups, `${groups - groupEdits} of ${groups} grouped rows have no ✎`);
  seen.groups = groups;
  // the report: the last bin's label and the clipped note when it holds candidates
  await app.show('report');
  await page
    .locator('[data-testid="report-chart"][data-chart="dos-histogram"][data-state="ready"]')
    .waitFor({ timeout: LONG });
  seen.reportClipped = await app.byTestId('report-clipped').count();
  // the run's in-image stage while a run goes, at both sizes
  await app.show('gallery');
  await app.byTestId('run-count').fill('1');
  await app.byTestId('run-start').click();
  await app.byTestId('run-stage').waitFor({ timeout: LONG });
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await app.settled();
    const stage = await app.byTestId('run-stage').evaluate((el) => {
      const box = el.getBoundingClientRect();
      return {
        text: el.textContent.trim(),
        right: box.right,
        width: window.innerWidth,
        cut: el.scrollWidth > el.clientWidth + 1,
      };
    });
    check(
      !stage.cut && stage.right <= stage.width,
      `the in-image stage "${stage.text}" is cut at ${size.width}`,
    );
    await app.screenshot(`issue22ui-run-stage-${size.width}x${size.height}`);
    await app.checkLayout(`running ${size.width}×${size.height}`);
    seen.stage = stage.text;
  }
  await page.waitForFunction(() => !document.querySelector('[data-testid="run-cancel"]'), null, {
    timeout: LONG,
  });
  return seen;
}

/** Item 4: every view at both sizes, photographed, with no sideways scroll and no cut text. */
export async function photographEveryView(app) {
  const checked = [];
  for (const view of VIEWS_ORDER) {
    await app.show(view);
    if (view === 'report')
      await app.page
        .locator('[data-testid="report-chart"][data-chart="dos-histogram"][data-state="ready"]')
        .waitFor({ timeout: LONG });
    await checkView(app, `issue22ui-view-${view}`);
    checked.push(view);
  }
  await app.page.setViewportSize(SIZES[1]);
  return checked;
}
