// Served mode end to end: `pseudo-ris serve` on a random loopback port, driven by Debian's Chromium through
// playwright-core. Reduced settings (e2e/settings.json: 8×8 SAM grid, 3 masks, 3 sampling settings) keep the run
// of two demo scenes within a couple of minutes on two cores.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { runFlow } from './flow.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];

/** Opens Debian's Chromium headless with the e2e flags (every served-mode block drives it the same way). */
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

/** `step(name, work)`: runs `work` and records `{ name, seconds }` in `steps` (the blocks' printed timings). */
export function stepRecorder(steps) {
  return async (name, work) => {
    const started = Date.now();
    const value = await work();
    steps.push({ name, seconds: (Date.now() - started) / 1000 });
    return value;
  };
}

/**
 * Runs a served-mode block: skips without Chromium, else starts `pseudo-ris serve` and Chromium, hands `run` both with
 * a step recorder (`{ serve, browser, steps, step }`), and closes them after; a failure gets the serve log's tail.
 */
export async function withServedBrowser(root, workDir, run) {
  if (!existsSync(CHROMIUM)) return { skipped: `Chromium not found at ${CHROMIUM}` };
  const serve = await startServe(root, workDir);
  const browser = await launchChromium();
  const steps = [];
  try {
    return await run({ serve, browser, steps, step: stepRecorder(steps) });
  } catch (error) {
    error.message += `\n--- serve log (tail) ---\n${serve.log().slice(-3000)}`;
    throw error;
  } finally {
    await browser.close();
    serve.child.kill('SIGTERM');
  }
}

/** Starts `pseudo-ris serve` and resolves with its URL (the line it prints) and the child process. */
export function startServe(root, workDir) {
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin', 'pseudo-ris.mjs'),
      'serve',
      '--port',
      '0',
      '--allow',
      workDir,
      '--settings',
      join(root, 'e2e', 'settings.json'),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    // Building the renderer on a cold checkout takes ~10–30 s; three minutes means it is stuck.
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`pseudo-ris serve printed no URL within 180 s:\n${stderr.slice(-2000)}`));
    }, 180_000);
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[0], child, log: () => stderr });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `pseudo-ris serve exited with code ${code} before printing its URL:\n${stderr.slice(-2000)}`,
        ),
      );
    });
  });
}

/** Runs the flow in Chromium against the served mode. Answers `{ skipped }` when Chromium is missing. */
export async function runServed({ root, workDir, artifacts }) {
  if (!existsSync(CHROMIUM))
    return {
      skipped: `Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`,
    };
  const started = Date.now();
  const serve = await startServe(root, workDir);
  const serveSeconds = (Date.now() - started) / 1000;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const frames = [];
    const consoleErrors = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('websocket', (socket) =>
      socket.on('framesent', ({ payload }) => {
        try {
          const channel = JSON.parse(String(payload)).channel;
          if (typeof channel === 'string') frames.push(channel);
        } catch {
          // not a request frame
        }
      }),
    );
    await page.goto(serve.url);
    const result = await runFlow(page, { workDir, artifacts, label: 'served', frames });
    const csp = consoleErrors.filter((text) => /Content Security Policy/i.test(text));
    if (csp.length) throw new Error(`the page hit CSP violations: ${csp.join(' | ')}`);
    if (consoleErrors.length) throw new Error(`the page logged errors: ${consoleErrors.join(' | ')}`);
    return { ...result, serveSeconds };
  } catch (error) {
    error.message += `\n--- serve log (tail) ---\n${serve.log().slice(-3000)}`;
    throw error;
  } finally {
    await browser.close();
    serve.child.kill('SIGTERM');
  }
}
