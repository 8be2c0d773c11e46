import { main } from './index.ts';

/**
 * Runs the CLI in this process (its `main`, as bin/pseudo-ris.mjs does), capturing its output: no tsx start-up per
 * call. Runs that need their own process (a lock held by another pid, SIGINT) spawn bin/pseudo-ris.mjs. For tests.
 */
export async function runCliInProcess(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const writes = [process.stdout.write, process.stderr.write] as const;
  process.stdout.write = ((chunk: string) => ((out.stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((out.stderr += chunk), true)) as typeof process.stderr.write;
  try {
    process.exitCode = undefined;
    const code = await main(['node', 'pseudo-ris', ...args]);
    return { code, ...out };
  } finally {
    [process.stdout.write, process.stderr.write] = writes;
    process.exitCode = undefined;
  }
}
