/* global document, window, MutationObserver -- the functions passed to evaluate/waitForFunction run in the page */
// Queued runs in the served mode (issue 13), in Chromium, with a real Redis and a real `pseudo-ris worker` process:
// (a) the user runs the demo scenes through the queue from the gallery: the top bar shows the queue (coordinated
//     here, done counts up to every image) and the tiles fill in; (b) a project that `pseudo-ris generate --queue`
//     coordinates in another process is opened: the top bar shows that queue (coordinated elsewhere), offers no
//     run, pause or cancel, and the tiles fill in as the worker's results are committed.
// Redis: $PSEUDO_RIS_TEST_REDIS_URL, else a private `redis-server` on a free loopback port; skipped when neither.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { App, Gallery } from './pages.mjs';
import { CHROMIUM, launchChromium, startServe } from './served.mjs';

const LONG = 240_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The CI's Redis, or a private one (stopped by `stop`), or null. */
async function redis(workDir) {
  if (process.env.PSEUDO_RIS_TEST_REDIS_URL)
    return { url: process.env.PSEUDO_RIS_TEST_REDIS_URL, stop: () => {} };
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) return null;
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', workDir],
    { stdio: 'ignore' },
  );
  for (let k = 0; k < 100; k++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG')
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `redis://127.0.0.1:${port}/0`, stop: () => child.kill('SIGTERM') };
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Records in the page every state the top bar's queue shows (`run-queue`), for `queueSeen` to read back. */
async function watchQueue(page) {
  await page.evaluate(() => {
    const seen = [];
    window.__queueSeen = seen;
    const observer = new MutationObserver(() => {
      const el = document.querySelector('[data-testid="run-queue"]');
      if (el)
        seen.push({
          coordinator: el.getAttribute('data-coordinator'),
          done: Number(el.getAttribute('data-done')),
          text: el.textContent.replace(/\s+/g, ' ').trim(),
        });
    });
    observer.observe(document.body, {
      subtree: true,
      attributes: true,
      childList: true,
      characterData: true,
    });
    window.__queueObserver = observer;
  });
}

const queueSeen = (page) =>
  page.evaluate(() => {
    window.__queueObserver?.disconnect();
    return window.__queueSeen ?? [];
  });

const allDone = (page, n) =>
  page.waitForFunction(
    (count) =>
      document.querySelectorAll('[data-testid="gallery-item"][data-status="done"]').length === count &&
      !document.querySelector('[data-testid="run-queue"]'),
    n,
    { timeout: LONG, polling: 250 },
  );

/** Runs both cases. Answers `{ skipped }` without Chromium or Redis. */
export async function runQueued({ root, workDir, artifacts }) {
  if (!existsSync(CHROMIUM)) return { skipped: `Chromium not found at ${CHROMIUM}` };
  const server = await redis(workDir);
  if (!server)
    return { skipped: 'no Redis: set PSEUDO_RIS_TEST_REDIS_URL or install redis-server (.ci/run does both)' };
  const cli = join(root, 'bin', 'pseudo-ris.mjs');
  const children = [];
  const logs = [];
  const start = (args, label) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d) => logs.push(`${label}: ${d.toString().trimEnd()}`));
    children.push(child);
    return child;
  };
  const name = `e2e-${process.pid}-${Date.now()}`;
  const worker = () =>
    start(['worker', '--queue', server.url, '--queue-name', name, '--name', 'e2e-w1'], 'worker');
  const steps = [];
  const started = Date.now();
  const serve = await startServe(root, workDir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const app = new App(page, artifacts);
    const gallery = new Gallery(app);
    await page.goto(serve.url);
    await app.connected();
    steps.push({ name: 'serve and connect', seconds: (Date.now() - started) / 1000 });

    // (a) started from the app
    let t = Date.now();
    await gallery.openDemo(join(workDir, 'queued-here'), 2);
    await watchQueue(page);
    const w1 = worker();
    await app.byTestId('queue-url').fill(server.url);
    await app.byTestId('queue-name').fill(name);
    await app.byTestId('run-queued').click();
    await app.byTestId('run-queue').and(page.locator('[data-coordinator="here"]')).waitFor({ timeout: LONG });
    check((await app.byTestId('run-pause').count()) === 0, 'a queued run offers pause');
    await app.screenshot('queued-01-here');
    await allDone(page, 2);
    const here = await queueSeen(page);
    check(
      here.length > 0 && here.every((s) => s.coordinator === 'here'),
      `queue shown: ${JSON.stringify(here)}`,
    );
    check(
      Math.max(...here.map((s) => s.done)) === 2,
      `the queue never showed 2 done: ${JSON.stringify(here)}`,
    );
    check(
      here.some((s) =>
        /^queue · \d+ waiting · active (none|e2e-w1 1) · \d\/2 done · 0 failed · [\d.]+ img\/min$/.test(
          s.text,
        ),
      ),
      `the queue text lacks its parts: ${JSON.stringify(here.at(-1))}`,
    );
    steps.push({ name: 'queued run started here', seconds: (Date.now() - t) / 1000 });
    // no worker until the app shows the other coordinator's run: its jobs wait in the queue
    w1.kill('SIGTERM');
    await new Promise((r) => (w1.exitCode === null ? w1.once('exit', r) : r()));

    // (b) coordinated by another process: the CLI on another demo project inside the allowed folder
    t = Date.now();
    const scenes = join(workDir, 'queued-elsewhere-scenes');
    check(
      spawnSync(process.execPath, [cli, 'demo', 'scenes', '--out', scenes, '--count', '2', '--seed', '9'])
        .status === 0,
      'demo scenes failed',
    );
    const project = join(workDir, 'queued-elsewhere');
    const settings = join(root, 'e2e', 'settings.json');
    const coordinator = start(
      [
        'generate',
        scenes,
        '--project',
        project,
        '--settings',
        settings,
        '--no-progress',
        '--queue',
        server.url,
        '--queue-name',
        name,
      ],
      'coordinator',
    );
    const snapshot = join(project, 'queue-progress.json');
    const deadline = Date.now() + LONG;
    while (!(existsSync(snapshot) && JSON.parse(readFileSync(snapshot, 'utf8')).stage === 'running')) {
      check(
        Date.now() < deadline && coordinator.exitCode === null,
        `the coordinator did not start:\n${logs.join('\n')}`,
      );
      await new Promise((r) => setTimeout(r, 200));
    }
    await watchQueue(page);
    await gallery.openProject(project);
    await app
      .byTestId('run-queue')
      .and(page.locator('[data-coordinator="elsewhere"]'))
      .waitFor({ timeout: 30_000 });
    check((await app.byTestId('run-start').count()) === 0, 'a run coordinated elsewhere offers Run');
    check((await app.byTestId('run-cancel').count()) === 0, 'a run coordinated elsewhere offers Cancel');
    await app.screenshot('queued-02-elsewhere');
    worker();
    await allDone(page, 2);
    const elsewhere = await queueSeen(page);
    check(
      elsewhere.every((s) => s.coordinator === 'elsewhere'),
      `queue shown: ${JSON.stringify(elsewhere)}`,
    );
    check(
      Math.max(...elsewhere.map((s) => s.done)) === 2,
      `the queue never showed 2 done: ${JSON.stringify(elsewhere)}`,
    );
    await new Promise((r) => (coordinator.exitCode === null ? coordinator.once('exit', r) : r()));
    check(
      coordinator.exitCode === 0,
      `the coordinator exited with ${coordinator.exitCode}:\n${logs.join('\n')}`,
    );
    steps.push({ name: 'queued run coordinated elsewhere', seconds: (Date.now() - t) / 1000 });
    return { steps, here: here.length, elsewhere: elsewhere.length };
  } catch (error) {
    throw new Error(
      `${error.message}\n--- serve log (tail) ---\n${serve.log().slice(-2000)}\n--- processes ---\n${logs.slice(-20).join('\n')}`,
      { cause: error },
    );
  } finally {
    await browser.close();
    serve.child.kill('SIGTERM');
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    server.stop();
  }
}
