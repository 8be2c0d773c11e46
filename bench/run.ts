/**
 * `npm run bench`: runs every `bench/*.bench.ts` in turn and prints its figures. Benchmarks print; they never pass or
 * fail on time. Pass names to run a subset: `npm run bench -- caption masks`; `--models DIR` runs the caption and masks
 * benches on another pack (a real-architecture export) instead of the demo pack.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** What a bench module exports. */
export interface BenchModule {
  /** Prints its figures to stdout. */
  run(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
// Names select benches; `--flag value` pairs are the benches' own options (e.g. `caption --models DIR`).
const args = process.argv.slice(2);
const wanted = args.filter((arg, i) => !arg.startsWith('--') && !args[i - 1]?.startsWith('--'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
for (const file of files) {
  console.log(`\n## ${file.replace('.bench.ts', '')}`);
  const module = (await import(pathToFileURL(join(here, file)).href)) as BenchModule;
  await module.run();
}
