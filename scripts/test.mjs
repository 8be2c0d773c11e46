// `npm test`: lint, format check, typecheck, unit + model tests (Vitest), then the browser end-to-end tests when Chromium is
// present. Ends with one plain "N passed, N failed" line that CI reads.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

const steps = [];
function run(name, cmd, args, env = {}) {
  const started = Date.now();
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const result = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env }, shell: false });
  const ok = result.status === 0;
  steps.push({ name, ok, seconds: (Date.now() - started) / 1000 });
  return ok;
}

const bin = (name) => `node_modules/.bin/${name}`;
run('lint', bin('eslint'), ['.']);
run('format (Prettier)', bin('prettier'), ['--check', '--log-level', 'warn', '.']);
run('typecheck (node)', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
run('typecheck (renderer)', bin('vue-tsc'), ['--noEmit', '-p', 'tsconfig.web.json']);
mkdirSync('.cache', { recursive: true });
run('unit and model tests', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  '--outputFile.json=.cache/vitest.json',
]);

let passed = 0;
let failed = 0;
let skipped = 0;
// CI shows only the output's tail: the failed tests are named again in the summary, with their first message line.
const failures = [];
if (existsSync('.cache/vitest.json')) {
  const report = JSON.parse(readFileSync('.cache/vitest.json', 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  for (const file of report.testResults ?? [])
    for (const test of file.assertionResults ?? [])
      if (test.status === 'failed') {
        const message = String(test.failureMessages?.[0] ?? '')
          .split('\n')[0]
          .slice(0, 300);
        failures.push(`${file.name.replace(process.cwd() + '/', '')} > ${test.fullName}: ${message}`);
      }
  // A file that fails before its tests run (import error, timeout in a hook) has no failed test of its own.
  for (const file of report.testResults ?? [])
    if (file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed'))
      failures.push(
        `${file.name.replace(process.cwd() + '/', '')}: ${String(file.message ?? '')
          .split('\n')[0]
          .slice(0, 300)}`,
      );
}
if (existsSync('scripts/e2e.mjs') && process.env.SKIP_E2E !== '1') {
  const ok = run('end-to-end (served mode, Chromium)', process.execPath, ['scripts/e2e.mjs']);
  if (existsSync('.cache/e2e.json')) {
    const e2e = JSON.parse(readFileSync('.cache/e2e.json', 'utf8'));
    passed += e2e.passed;
    failed += e2e.failed;
    skipped += e2e.skipped;
  } else if (!ok) failed += 1;
}

console.log('\n=== summary');
for (const failure of failures) console.log(`failed: ${failure}`);
for (const step of steps)
  console.log(`${step.ok ? 'ok  ' : 'FAIL'} ${step.name} (${step.seconds.toFixed(1)} s)`);
const failedSteps = steps.filter((s) => !s.ok).length;
// A failed lint/typecheck step counts as a failure of its own in the closing line.
console.log(
  `${passed} passed, ${failed + (failedSteps && failed === 0 ? failedSteps : 0)} failed, ${skipped} skipped`,
);
process.exit(failedSteps > 0 ? 1 : 0);
