/* global document, getComputedStyle -- the functions passed to evaluate run in the page */
// The inspector's researcher views (issue 12 item 6), checked from elements at both window sizes: the whole-caption
// heatmap of a sampled candidate (naive vs DCS, steps × top tokens, chosen token marked, colour = probability with
// a legend) and the beam view of a beam candidate (beams per group per step with running scores, hypotheses, the
// winner = the stored candidate). Kept in its own module so the main flow only calls it.

import { SIZES } from './pages.mjs';

/** Generous per-wait limit: model work on two shared cores. */
const LONG = 240_000;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * Like `app.screenshotSizes`, with `locator` scrolled to the top of its scrolling pane at each size first (the
 * inspector's pane scrolls inside the window, which a full-page screenshot does not unroll).
 */
async function screenshotAt(app, name, locator) {
  for (const size of SIZES) {
    await app.page.setViewportSize(size);
    await app.settled();
    await locator.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await app.settled();
    await app.screenshot(`${name}-${size.width}x${size.height}`);
    await app.checkLayout(`${name} ${size.width}×${size.height}`);
  }
  await app.page.setViewportSize(SIZES[0]);
  await app.settled();
}

/**
 * Runs with the inspector open on a sampled candidate after a re-run (the naive/DCS pair shown), then opens the
 * first beam candidate of the candidates view. Answers what it saw.
 */
export async function checkInspectorViews(app, { label }) {
  const page = app.page;

  // --- the whole-caption heatmap of the sampled candidate
  const heatmap = app.byTestId('inspector-heatmap');
  await heatmap.waitFor({ timeout: LONG });
  await page.waitForFunction(
    () => document.querySelector('[data-testid="inspector-heatmap"]')?.getAttribute('data-panels') === '2',
    null,
    { timeout: LONG },
  );
  const heat = await heatmap.evaluate((root) => {
    const panels = [...root.querySelectorAll('[data-testid="heatmap-panel"]')].map((panel) => {
      const rows = [...panel.querySelectorAll('[data-testid="heatmap-row"]')].map((row) => {
        const cells = [...row.querySelectorAll('[data-testid="heatmap-cell"]')];
        return {
          cells: cells.length,
          ended: cells.length === 0,
          chosen: cells.filter((c) => c.getAttribute('data-chosen') === 'yes').length,
          p: cells
            .map((c) => c.getAttribute('data-p'))
            .filter((v) => v !== '')
            .map(Number),
          tokens: cells.map((c) => c.getAttribute('data-token')),
        };
      });
      return { label: panel.getAttribute('data-label'), rows };
    });
    const all = [...root.querySelectorAll('[data-testid="heatmap-cell"]')].filter(
      (c) => c.getAttribute('data-p') !== '',
    );
    const byP = all.map((c) => ({
      p: Number(c.getAttribute('data-p')),
      bg: getComputedStyle(c).backgroundColor,
    }));
    byP.sort((a, b) => a.p - b.p);
    return {
      steps: Number(root.getAttribute('data-steps')),
      panels,
      low: byP[0],
      high: byP[byP.length - 1],
      legend: root.querySelector('[data-testid="heatmap-legend"]')?.textContent ?? '',
    };
  });
  check(
    heat.panels.map((p) => p.label).join(',') === 'naive,DCS',
    `the heatmap panels are ${heat.panels.map((p) => p.label).join(', ')}`,
  );
  check(heat.steps > 0, 'the heatmap has no steps');
  for (const panel of heat.panels) {
    check(
      panel.rows.length === heat.steps,
      `${panel.label}: ${panel.rows.length} rows for ${heat.steps} steps`,
    );
    for (const [s, row] of panel.rows.entries()) {
      if (row.ended) continue;
      check(row.chosen === 1, `${panel.label} step ${s} marks ${row.chosen} chosen tokens`);
      check(
        row.p.every((p) => p >= 0 && p <= 1),
        `${panel.label} step ${s} has probabilities outside [0, 1]`,
      );
    }
    check(
      panel.rows.some((row) => !row.ended),
      `${panel.label}: every row is empty`,
    );
  }
  // one token order per step: at step 0 both decodings share the prefix, so the columns are the same tokens
  check(
    heat.panels[0].rows[0].tokens.join(',') === heat.panels[1].rows[0].tokens.join(','),
    'the naive and DCS columns of step 0 are different tokens',
  );
  check(heat.high.p > heat.low.p, 'every heatmap cell has the same probability');
  check(heat.high.bg !== heat.low.bg, `p ${heat.low.p} and p ${heat.high.p} have the same colour`);
  check(/probability/.test(heat.legend) && /0/.test(heat.legend) && /1/.test(heat.legend), 'no legend scale');
  // a row click selects that step in the strip
  if (heat.steps > 1) {
    await heatmap
      .locator('[data-testid="heatmap-panel"]')
      .first()
      .locator('[data-testid="heatmap-row"][data-step="1"]')
      .click();
    await app
      .byTestId('inspector-step')
      .and(page.locator('[data-step="1"][aria-pressed="true"]'))
      .waitFor({ timeout: 5000 });
  }
  await screenshotAt(app, `${label}-07b-inspector-heatmap`, heatmap);

  // --- the beam view of the first beam candidate
  await app.show('candidates');
  const row = app
    .byTestId('candidate-row')
    .filter({ has: page.locator('.setting', { hasText: /^\s*beam/ }) })
    .first();
  await row.waitFor({ timeout: LONG });
  const stored = (await row.locator('.text > span').first().textContent()).trim();
  await row.locator('[data-testid="open-inspector"]').click();
  await app.byTestId('view-inspector').waitFor({ state: 'visible' });
  const view = app.byTestId('inspector-beam');
  await view.waitFor({ timeout: LONG });
  const beam = await view.evaluate((root) => {
    const groups = Number(root.getAttribute('data-groups'));
    const size = Number(root.getAttribute('data-group-size'));
    const steps = [...root.querySelectorAll('[data-testid="beam-step"]')].map((row) => {
      const perGroup = [];
      for (let g = 0; g < groups; g++)
        perGroup.push(row.querySelectorAll(`[data-testid="beam-cell"][data-group="${g}"]`).length);
      return {
        perGroup,
        done: row.querySelectorAll('.done').length,
        path: row.querySelectorAll('[data-testid="beam-cell"][data-winner-path="yes"]').length,
        scores: [...row.querySelectorAll('[data-testid="beam-cell"]')].map((c) => [
          Number(c.getAttribute('data-score')),
          Number(c.getAttribute('data-normalized')),
        ]),
      };
    });
    const hyps = [...root.querySelectorAll('[data-testid="beam-hypothesis"]')].map((h) => ({
      step: h.getAttribute('data-step'),
      score: Number(h.getAttribute('data-score')),
      winner: h.getAttribute('data-winner') === 'yes',
      kept: h.getAttribute('data-kept') === 'yes',
    }));
    const winner = root.querySelector('[data-testid="beam-winner"]');
    return {
      groups,
      size,
      declaredSteps: Number(root.getAttribute('data-steps')),
      steps,
      hyps,
      winner: {
        score: Number(winner.getAttribute('data-score')),
        stored: winner.getAttribute('data-stored-score'),
        text: winner.getAttribute('data-text'),
      },
    };
  });
  check(beam.groups === 3 && beam.size === 2, `the beam view shows ${beam.groups} groups of ${beam.size}`);
  check(
    beam.steps.length === beam.declaredSteps && beam.steps.length > 0,
    `${beam.steps.length} beam rows for ${beam.declaredSteps} steps`,
  );
  for (const [s, step] of beam.steps.entries()) {
    const open = step.perGroup.filter((n) => n === beam.size).length;
    check(
      open + step.done === beam.groups && step.perGroup.every((n) => n === beam.size || n === 0),
      `beam step ${s}: beams per group ${step.perGroup.join('/')} (${step.done} done)`,
    );
    check(
      step.scores.every(([score, normalized]) => Math.abs(normalized - score / (s + 2)) < 1e-9),
      `beam step ${s}: ÷L is not Σ / length`,
    );
  }
  check(beam.steps[0].path >= 1, 'no beam of step 0 is on the winner path');
  const finished = beam.hyps.filter((h) => h.step !== 'end');
  check(beam.hyps.length > 0, 'the beam view lists no hypotheses');
  const winners = beam.hyps.filter((h) => h.winner);
  check(winners.length === 1, `${winners.length} hypotheses are marked winner`);
  check(winners[0].kept, 'the winner is not among the kept hypotheses');
  check(
    winners[0].score === beam.winner.score &&
      beam.hyps.filter((h) => h.kept).every((h) => h.score <= beam.winner.score),
    `the winner's score ${winners[0].score} is not the best kept (${beam.winner.score})`,
  );
  check(beam.winner.text === stored, `the beam winner "${beam.winner.text}" is not the stored "${stored}"`);
  check(
    beam.winner.stored !== '' && Number(beam.winner.stored) === beam.winner.score,
    `the stored beam score ${beam.winner.stored} ≠ the replayed ${beam.winner.score}`,
  );
  await screenshotAt(app, `${label}-07c-inspector-beam`, view);
  // the ranked pairs of a clicked step
  await view.locator('[data-testid="beam-step"][data-step="1"]').click();
  const pairs = view.locator('.pairs');
  await pairs.waitFor();
  const outcomes = await pairs.locator('.pair .outcome').allTextContents();
  check(
    outcomes.filter((o) => o.trim() === 'beam').length === beam.groups * beam.size,
    `step 1 of the beam view ranks ${outcomes.join(', ')}`,
  );
  await screenshotAt(app, `${label}-07d-inspector-beam-pairs`, pairs);
  return {
    heatmapSteps: heat.steps,
    beamSteps: beam.steps.length,
    hypotheses: beam.hyps.length,
    finished: finished.length,
    winner: beam.winner.text,
  };
}
