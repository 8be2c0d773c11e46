/**
 * Finds the built renderer for the served mode, building it with Vite when it is missing or older than its sources
 * (`src/renderer`, `src/shared`). The build is the same one electron-vite makes for the desktop app.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type VuePlugin from '@vitejs/plugin-vue';
import type * as Vite from 'vite';

/** Result of {@link ensureRendererBuild}. */
export interface RendererBuild {
  dir: string;
  /** Whether this call built it, and how long that took. */
  built: boolean;
  seconds: number;
}

/** Newest modification time (ms) of the files under `dir`; 0 when it does not exist. */
export function newestMtime(dir: string): number {
  let newest = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (entry === 'node_modules') continue;
    const path = join(dir, entry);
    const info = statSync(path, { throwIfNoEntry: false });
    if (!info) continue;
    newest = Math.max(newest, info.isDirectory() ? newestMtime(path) : info.mtimeMs);
  }
  return newest;
}

/** True when `out/renderer/index.html` is missing or older than a source file of the renderer or shared layer. */
export function rendererBuildStale(root: string): boolean {
  const index = join(root, 'out', 'renderer', 'index.html');
  if (!existsSync(index)) return true;
  const builtAt = statSync(index).mtimeMs;
  return (
    Math.max(newestMtime(join(root, 'src', 'renderer')), newestMtime(join(root, 'src', 'shared'))) > builtAt
  );
}

/**
 * The renderer build folder of the project at `root`, (re)built when missing or stale (or when `force`). Building
 * needs the dev dependencies (vite, @vitejs/plugin-vue); it takes about 10–30 s on two cores.
 */
export async function ensureRendererBuild(
  root: string,
  options: { force?: boolean; log?: (line: string) => void } = {},
): Promise<RendererBuild> {
  const dir = join(root, 'out', 'renderer');
  if (!options.force && !rendererBuildStale(root)) return { dir, built: false, seconds: 0 };
  if (!existsSync(join(root, 'src', 'renderer', 'index.html'))) {
    if (existsSync(join(dir, 'index.html'))) return { dir, built: false, seconds: 0 };
    throw new Error(`no renderer build at ${dir} and no renderer sources to build it from`);
  }
  const started = performance.now();
  options.log?.('building the renderer (vite)…');
  let vite: typeof Vite;
  let vue: typeof VuePlugin;
  try {
    vite = await import('vite');
    vue = (await import('@vitejs/plugin-vue')).default;
  } catch {
    throw new Error(
      'building the renderer needs the dev dependencies (vite, @vitejs/plugin-vue): run `npm install`, or `npm run build` once',
    );
  }
  await vite.build({
    configFile: false,
    root: join(root, 'src', 'renderer'),
    // Relative asset URLs: the same build loads from file:// in Electron and from / in the served mode.
    base: './',
    plugins: [vue()],
    logLevel: 'warn',
    build: { outDir: dir, emptyOutDir: true, reportCompressedSize: false },
  });
  const seconds = (performance.now() - started) / 1000;
  options.log?.(`renderer built in ${seconds.toFixed(1)} s`);
  return { dir, built: true, seconds };
}
