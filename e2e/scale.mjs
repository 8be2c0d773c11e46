/* global document -- the functions passed to waitForFunction and evaluate run in the page */
// The gallery at scale (issue 20), served mode in Chromium: a project of a few thousand images (e2e/scale-fixture.ts)
// is opened, the gallery renders only the rows in view, scrolls to its end and pages in from the engine, and a τ move
// changes the top bar's and the tiles' counts to what the shared rule gives on every stored result.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { App, Gallery } from './pages.mjs';
import { CHROMIUM, launchChromium, startServe, stepRecorder } from './served.mjs';

const COUNT = 3000;

function check(ok, message) {
  if (!ok) throw new Error(message);
}

export async function runScale({ root, workDir, artifacts }) {
  if (!existsSync(CHROMIUM)) return { skipped: `Chromium not found at ${CHROMIUM}` };
  const steps = [];
  const step = stepRecorder(steps);
  const fixture = await step('write the project', () =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(root, 'e2e', 'scale-fixture.ts'),
          join(workDir, 'scale'),
          String(COUNT),
          '1.3,0.5',
        ],
        { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 },
      )
        .trim()
        .split('\n')
        .at(-1),
    ),
  );
  const serve = await startServe(root, workDir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = [];
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    // requests the page sent and answers it got (by id), and the counts requests (τ and how many tiles they name)
    const sent = new Set();
    const answered = new Set();
    const counts = [];
    page.on('websocket', (socket) => {
      socket.on('framesent', ({ payload }) => {
        try {
          const frame = JSON.parse(String(payload));
          if (frame.id !== undefined) sent.add(frame.id);
          if (frame.channel === 'filter:counts')
            counts.push(`${frame.params.tau}:${frame.params.imageIds?.length ?? 'all'}`);
        } catch {
          // not a request frame
        }
      });
      socket.on('framereceived', ({ payload }) => {
        try {
          const frame = JSON.parse(String(payload));
          if (frame.id !== undefined) answered.add(frame.id);
        } catch {
          // binary or not JSON
        }
      });
    });
    /** Resolves once every request the page sent is answered (opening loads settings after the tiles). */
    const quiet = async () => {
      for (let k = 0; k < 300; k++) {
        if ([...sent].every((id) => answered.has(id))) return;
        await page.waitForTimeout(100);
      }
      throw new Error(
        `requests still unanswered after 30 s: ${[...sent].filter((id) => !answered.has(id)).length}`,
      );
    };
    await page.goto(serve.url);
    const app = new App(page, artifacts);
    const gallery = new Gallery(app);
    await app.connected();
    const openMs = await step('open → first tiles', async () => {
      const at = Date.now();
      await gallery.openProject(fixture.project);
      await page.waitForFunction(
        () =>
          Number(document.querySelector('[data-testid="project-kept-count"]')?.getAttribute('data-total')) >
          0,
      );
      return Date.now() - at;
    });
    const scroller = app.byTestId('gallery-scroller');
    check(
      Number(await scroller.getAttribute('data-total')) === COUNT,
      `the gallery says ${await scroller.getAttribute('data-total')} images, not ${COUNT}`,
    );
    // the first page's rows render once its answer arrives: wait on that, then count
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="gallery-item"]').length > 0,
      null,
      {
        timeout: 30_000,
      },
    );
    const rendered = await page.locator('[data-testid="gallery-item"]').count();
    check(
      rendered > 0 && rendered < 200,
      `the gallery rendered ${rendered} tiles of ${COUNT} (virtual scrolling renders the rows in view)`,
    );

    // τ 1.3 (the project's) then 0.5: the top bar equals the rule on every stored result
    await app.page.waitForFunction(
      (n) =>
        Number(document.querySelector('[data-testid="project-kept-count"]')?.getAttribute('data-kept')) === n,
      fixture.kept['1.3'].total,
      { timeout: 15_000 },
    );
    // the project's settings arrive after the tiles and set τ to the saved one: a move before that would be undone
    await quiet();
    const tauMs = await step('move τ', async () => {
      const at = Date.now();
      const kept = await app.setTau(0.5, fixture.kept['1.3'].total);
      check(
        kept === fixture.kept['0.5'].total,
        `kept at τ 0.5: the page shows ${kept}, the rule gives ${fixture.kept['0.5'].total}`,
      );
      return Date.now() - at;
    });
    // the visible tiles follow τ: each equals the rule's count for its image
    const tilesAgree = async () =>
      page.evaluate((expected) => {
        const wrong = [];
        let seen = 0;
        for (const tile of document.querySelectorAll('[data-testid="gallery-item"][data-status="done"]')) {
          const id = tile.getAttribute('data-image-id');
          const kept = Number(tile.querySelector('[data-testid="tile-kept"]')?.getAttribute('data-kept'));
          seen++;
          if (kept !== expected[id]) wrong.push(`${id}: ${kept} ≠ ${expected[id]}`);
        }
        return { seen, wrong };
      }, fixture.kept['0.5'].perImage);
    let agree = await tilesAgree();
    for (let k = 0; k < 50 && agree.wrong.length; k++) {
      await page.waitForTimeout(100);
      agree = await tilesAgree();
    }
    check(
      agree.seen > 0 && agree.wrong.length === 0,
      `tiles at τ 0.5 disagree with the rule: ${agree.wrong.slice(0, 5).join('; ')} (counts asked: ${counts.join(', ')})`,
    );

    // scroll to the end: the last images page in from the engine, still only the rows in view are rendered
    await step('scroll to the end', async () => {
      await scroller.evaluate((el) => (el.scrollTop = el.scrollHeight));
      await page.waitForSelector(`[data-testid="gallery-item"][data-image-id="${COUNT}"]`, {
        timeout: 15_000,
      });
    });
    const renderedAtEnd = await page.locator('[data-testid="gallery-item"]').count();
    check(renderedAtEnd < 200, `at the end the gallery renders ${renderedAtEnd} tiles`);
    agree = await tilesAgree();
    for (let k = 0; k < 50 && agree.wrong.length; k++) {
      await page.waitForTimeout(100);
      agree = await tilesAgree();
    }
    check(
      agree.wrong.length === 0,
      `tiles at the end disagree with the rule: ${agree.wrong.slice(0, 5).join('; ')}`,
    );
    await app.screenshot('scale-gallery-end');
    if (errors.length) throw new Error(`the page logged errors: ${errors.join(' | ')}`);
    console.log(
      `     scale: ${COUNT} images: open → first tiles ${openMs} ms, τ move ${tauMs} ms, ${rendered} tiles rendered`,
    );
    return { steps, openMs, tauMs, rendered };
  } catch (error) {
    error.message += `\n--- serve log (tail) ---\n${serve.log().slice(-3000)}`;
    throw error;
  } finally {
    await browser.close();
    serve.child.kill('SIGTERM');
  }
}
