// `npm run test:e2e` (and the last step of `npm test`): the end-to-end flow in the served mode (Chromium) and in
// the Electron app (when its binary is present). Writes `.cache/e2e.json` = { passed, failed, skipped, tests }
// and screenshots of every view to e2e/artifacts/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAttribution } from '../e2e/attribution.mjs';
import { runElectron } from '../e2e/electron.mjs';
import { runIssue22 } from '../e2e/issue22.mjs';
import { runIssue22Ui } from '../e2e/issue22-ui.mjs';
import { runQueued } from '../e2e/queued.mjs';
import { runScale } from '../e2e/scale.mjs';
import { runServed } from '../e2e/served.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = join(root, 'e2e', 'artifacts');
mkdirSync(artifacts, { recursive: true });
mkdirSync(join(root, '.cache'), { recursive: true });
const only = process.argv[2];

const tests = [];
for (const [name, run] of [
  [
    'served mode in Chromium: demo scenes → run → masks → click mask → re-caption → candidates → τ → inspector → export',
    runServed,
  ],
  ['Electron app: the same flow', runElectron],
  // its own block (issue 13): a queued run started from the page, and one coordinated by another process
  ['served mode in Chromium: queued runs (Redis + a worker process) show their queue', runQueued],
  // issue 20: a project of a few thousand images scrolls virtually and counts at τ as the rule does
  ['served mode in Chromium: a 3000-image gallery scrolls and counts', runScale],
  // issue 22: the page stays quick and truthful while a run goes; its own block, runnable alone (`issue 22 in`)
  [
    'issue 22 in Chromium: interactive requests during a run, failed open, near-twin mask, project switch, pause',
    runIssue22,
  ],
  // issue 22's charts, labeling basics and layout; its own block, runnable alone (`issue 22 ui`)
  [
    'issue 22 ui in Chromium: chart axes, search, compare, saves, zoom, layout and every view at both sizes',
    runIssue22Ui,
  ],
  // issue 22: occlusion attribution in the inspector; its own block, runnable alone (`attribution`)
  [
    'attribution in Chromium: the inspector maps a step’s log-probability drops over the crop',
    runAttribution,
  ],
]) {
  if (only && !name.toLowerCase().startsWith(only)) continue;
  const workDir = mkdtempSync(join(tmpdir(), 'pris-e2e-'));
  const started = Date.now();
  try {
    const result = await run({ root, workDir, artifacts });
    const seconds = (Date.now() - started) / 1000;
    if (result.skipped) {
      console.log(`SKIP ${name}\n     ${result.skipped}`);
      tests.push({ name, status: 'skipped', reason: result.skipped, seconds });
    } else {
      console.log(`PASS ${name} (${seconds.toFixed(1)} s)`);
      for (const step of result.steps) console.log(`     ${step.name}: ${step.seconds.toFixed(1)} s`);
      if (result.interactive)
        console.log(
          `     during a run (measured, not asserted): image steps ${result.interactive.reads.join(', ')} ms; point prompt ${result.interactive.prompt} ms (focus before: ${result.interactive.focused})${result.interactive.measuredWhileRunning ? '' : ' (the run had ended before the prompt answered)'}`,
        );
      if (!result.tau) {
        tests.push({ name, status: 'passed', seconds, result });
        continue;
      }
      console.log(
        `     τ: kept ${result.tau.at13} at 1.3 → ${result.tau.low} at 0.5 → ${result.tau.high} at 2.5 (requests while moving τ: ${result.tau.requests.join(', ') || 'none'})`,
      );
      console.log(
        `     masks ${result.masksBefore} → ${result.masksAfter} (the added one re-captioned: ${result.recaptioned} candidates); ${result.rows} candidate rows; charts ${result.charts.join(', ')}; ${result.files} files exported`,
      );
      tests.push({ name, status: 'passed', seconds, result });
    }
  } catch (error) {
    const seconds = (Date.now() - started) / 1000;
    console.log(`FAIL ${name} (${seconds.toFixed(1)} s)\n${error.stack ?? error}`);
    tests.push({ name, status: 'failed', seconds, error: String(error.message ?? error) });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

const summary = {
  passed: tests.filter((t) => t.status === 'passed').length,
  failed: tests.filter((t) => t.status === 'failed').length,
  skipped: tests.filter((t) => t.status === 'skipped').length,
  tests,
};
writeFileSync(join(root, '.cache', 'e2e.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(
  `e2e: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped (screenshots in e2e/artifacts/)`,
);
process.exit(summary.failed > 0 ? 1 : 0);
