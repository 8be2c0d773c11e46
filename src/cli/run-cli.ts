/**
 * Test tooling for the CLI's tests: runs `bin/pseudo-ris.mjs` in a child Node process, as a user would.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

/** The CLI's entry script. */
export const CLI_BIN = resolve(import.meta.dirname, '../../bin/pseudo-ris.mjs');

/** What a CLI run answered: its exit code (1 when it died without one, e.g. on the timeout) and its output. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `pseudo-ris <args>` and resolves once it exits (never rejects: a failure is a non-zero `code`). */
export function runCli(
  args: string[],
  options: { timeout: number; maxBuffer?: number; env?: NodeJS.ProcessEnv },
): Promise<CliRun> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI_BIN, ...args], options, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}
