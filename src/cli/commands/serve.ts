/**
 * `pseudo-ris serve`: the browser-served mode. Serves the renderer build and the API over a WebSocket on loopback,
 * behind a random token printed in the URL; the engine runs in a worker thread.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { startWorkerEngine } from '../../engine/service/worker.ts';
import { mergeSettings } from '../../shared/api.ts';
import { parseSettings } from '../../shared/settings.ts';
import { ensureRendererBuild } from '../../server/renderer-build.ts';
import { isLoopbackHost } from '../../server/security.ts';
import { startServer } from '../../server/server.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Registers `serve`. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the UI to a browser: HTTP + WebSocket on loopback, behind a random token')
    .option('--port <port>', 'port to listen on (0 = any free port)', '8765')
    .option(
      '--host <host>',
      'address to bind (loopback by default; anything else exposes the engine to your network)',
      '127.0.0.1',
    )
    .option(
      '--allow <dirs...>',
      'folders the UI may open projects, images and exports under (default: the current folder)',
    )
    .option('--models <dirs...>', 'extra model-pack folders')
    .option(
      '--allow-queue <hosts...>',
      'Redis hosts (host or host:port) a queued run started from the page may connect to (default: loopback only)',
    )
    .option('--rebuild', 'rebuild the renderer even when the build is up to date')
    .option('--settings <file>', 'settings JSON for new projects (any subset, over the paper defaults)')
    .option('--cpu', 'run every model on the CPU provider')
    .action(
      async (options: {
        port: string;
        host: string;
        allow?: string[];
        allowQueue?: string[];
        models?: string[];
        rebuild?: boolean;
        cpu?: boolean;
        settings?: string;
      }) => {
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new Error(`--port must be an integer 0–65535, got "${options.port}"`);
        if (!isLoopbackHost(options.host)) {
          process.stderr.write(
            [
              '',
              '!!! WARNING: serving on a non-loopback address (' + options.host + ').',
              '!!! Anyone on your network who learns the URL and token can read and write the allowed folders',
              '!!! and run the engine. Traffic is plain HTTP (not encrypted). Use --host 127.0.0.1 unless you mean it.',
              '',
            ].join('\n') + '\n',
          );
        }
        let defaultSettings: Record<string, unknown> | undefined;
        if (options.settings) {
          try {
            defaultSettings = JSON.parse(readFileSync(options.settings, 'utf8')) as Record<string, unknown>;
          } catch (error) {
            throw new Error(`--settings ${options.settings}: ${(error as Error).message}`, { cause: error });
          }
          mergeSettings(parseSettings({}), defaultSettings); // fail now, naming the bad field, not at the first project
        }
        const log = (line: string) => process.stderr.write(`serve: ${line}\n`);
        const build = await ensureRendererBuild(repoRoot, { force: options.rebuild, log });
        const allowedRoots = (options.allow?.length ? options.allow : [process.cwd()]).map((dir) =>
          resolve(dir),
        );
        const engine = startWorkerEngine({
          mode: 'served',
          version: '',
          packDirs: (options.models ?? []).map((dir) => resolve(dir)),
          allowedRoots,
          defaultProjectDir: allowedRoots[0],
          queueHosts: options.allowQueue ?? [],
          forceCpu: options.cpu,
          defaultSettings,
        });
        const server = await startServer({ rendererDir: build.dir, engine, host: options.host, port });
        process.stdout.write(
          `Pseudo-RIS Studio is served at:\n  ${server.url}\n(allowed folders: ${allowedRoots.join(', ')}; Ctrl+C stops)\n`,
        );
        await new Promise<void>((resolveStop) => {
          const stop = () => resolveStop();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await server.close();
        await engine.close();
      },
    );
}
