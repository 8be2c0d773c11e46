/**
 * The engine facade: one handler per request channel of the API contract (shared/api.ts), over the engine modules
 * (runtime, segment, caption, filter, pipeline, dataset). It stays thin — the logic lives in those modules; this
 * file keeps the served-mode roots and the active model pack, and hands the open project's channels to its session
 * (session.ts `ProjectSession` and its parts: runs, review, inspector, outputs). The adapters (Electron IPC,
 * WebSocket server) run it inside an engine host.
 */
import { readFileSync } from 'node:fs';
import {
  ApiError,
  mergeSettings,
  type ApiHandlers,
  type PackView,
  type ProvidersView,
  type RequestChannel,
} from '../../shared/api.ts';
import type { PackSummary } from '../../shared/models.ts';
import { parseSettings, settingsPreset } from '../../shared/settings.ts';
import {
  interactive,
  listModelPacks,
  modelRoots,
  providerAvailability,
  validateModelPack,
} from '../runtime/index.ts';
import type { EngineServiceOptions } from './options.ts';
import { parseRedisUrl } from '../pipeline/index.ts';
import { boxesRecord } from '../segment/index.ts';
import { confineSettingsPaths, FileScope, isInside, realPathOf } from './paths.ts';
import { demoPackDir, ProjectSession } from './session.ts';

/** Builds the facade's handlers. State (project, pack, run) lives in the returned closure. */
export function createEngineService(options: EngineServiceOptions): ApiHandlers {
  const userPackDirs = new Set<string>(options.packDirs);
  const served = new FileScope();
  const servedReady = Promise.all(options.allowedRoots.map((root) => served.allow(root)));
  /** The pack `models:use` chose and whether its sessions run on the CPU (the runs' stages open it so). */
  let activePack: { summary: PackSummary; forceCpu: boolean } | null = null;

  /** In served mode, a folder the user names must lie under an allowed root. */
  async function checkServed(path: string, what: string): Promise<string> {
    if (options.allowedRoots.length === 0) return realPathOf(path);
    await servedReady;
    return served.check(path, what);
  }

  /**
   * Box selection (`masks.selection: "boxes"`) depends on the boxes file's content, so the project records its SHA-256
   * as `generate --boxes` does: taken when the path is set (or first needed), then checked by every image's selection,
   * which fails by name once the file changed. A missing or malformed file is refused here, before any run.
   */
  async function recordBoxesHash(patch: Record<string, unknown>): Promise<Record<string, unknown>> {
    const masks = (patch.masks ?? {}) as Record<string, unknown>;
    const effective = mergeSettings(session.settings(), patch).masks;
    if (effective.selection !== 'boxes' || !effective.boxesPath) return patch;
    if (masks.boxesPath === undefined && effective.boxesSha256 !== undefined) return patch;
    try {
      // a path set anew is recorded anew; otherwise the recorded hash must still match
      const { sha256 } = await boxesRecord(effective, masks.boxesPath !== undefined);
      return { ...patch, masks: { ...masks, boxesSha256: sha256 } };
    } catch (error) {
      throw new ApiError('invalid-params', `masks.boxesPath: ${(error as Error).message}`);
    }
  }

  /** Served mode: a queued run connects only to loopback or to a host `serve --allow-queue` named. */
  function checkQueueHost(url: string, allowed: string[]): void {
    let parsed: URL;
    try {
      parsed = parseRedisUrl(url);
    } catch (error) {
      throw new ApiError('invalid-params', `queue.url: ${(error as Error).message.replace(/^--queue /, '')}`);
    }
    const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = parsed.port || '6379';
    const loopback = ['127.0.0.1', '::1', 'localhost'];
    const ok = allowed.length
      ? allowed.some((entry) => {
          const [h, p] = splitHostPort(entry.toLowerCase());
          return h === host && (p === undefined || p === port);
        })
      : loopback.includes(host);
    if (!ok)
      throw new ApiError(
        'forbidden',
        `queue.url: host ${host}:${port} is not allowed in served mode (${allowed.length ? `allowed: ${allowed.join(', ')}` : 'loopback only'}; start serve with --allow-queue HOST[:PORT])`,
      );
  }

  function packView(summary: PackSummary): PackView {
    const origin = [...userPackDirs].some((dir) => isInside(dir, summary.dir)) ? 'user' : 'resources';
    return { ...summary, active: activePack?.summary.dir === summary.dir, origin };
  }

  async function providersView(): Promise<ProvidersView> {
    // Only providers that ran a probe graph here (a bundled backend may still have no device to run on).
    const { available, unavailable } = await providerAvailability();
    // The runs use the pipeline's own sessions: show their providers (what ran), else the chosen pack's.
    const ran = await session.runProviders();
    if (ran && ran.roles.length > 0 && (!activePack || activePack.summary.name === ran.name))
      return { pack: ran.name, demo: ran.demo, available, unavailable, roles: ran.roles };
    if (!activePack)
      return { pack: ran?.name ?? null, demo: ran?.demo ?? false, available, unavailable, roles: [] };
    return {
      pack: activePack.summary.name,
      demo: activePack.summary.demo,
      available,
      unavailable,
      // no session of the chosen pack has opened yet (the stages open it on the first run)
      roles: [],
    };
  }

  async function useModels(dir: string, forceCpu: boolean): Promise<ProvidersView> {
    const summary = await validateModelPack(dir, { level: 'quick' });
    if (!summary.valid)
      throw new ApiError(
        'invalid-params',
        `model pack "${summary.name}" is not usable: ${summary.issues.map((i) => i.message).join('; ')}`,
      );
    // the session's stages reopen on the new pack (pipeline/engine.ts `openStages`, the one opener) at the next run
    activePack = { summary, forceCpu: forceCpu || Boolean(options.forceCpu) };
    return providersView();
  }

  const session = new ProjectSession({
    checkUserPath: (path, what) => checkServed(path, what),
    packDir: async () => activePack?.summary.dir ?? demoPackDir(),
    forceCpu: () => activePack?.forceCpu ?? Boolean(options.forceCpu),
    newSettings: () => mergeSettings(parseSettings({}), options.defaultSettings),
  });

  const handlers: ApiHandlers = {
    'app:info': async () => ({
      mode: options.mode,
      version: options.version || packageVersion(),
      nativeDialogs: false,
      defaultProjectDir: options.defaultProjectDir,
      allowedRoots: options.allowedRoots.length ? (await servedReady, served.roots()) : [],
    }),

    'models:list': async () => (await listModelPacks([...userPackDirs])).map(packView),
    'models:validate': async ({ dir }) => packView(await validateModelPack(await checkModelDir(dir))),
    'models:addFolder': async ({ dir }) => {
      userPackDirs.add(await checkModelDir(dir));
      return (await listModelPacks([...userPackDirs])).map(packView);
    },
    'models:use': async ({ dir, forceCpu }) => useModels(await checkModelDir(dir), forceCpu),
    'models:providers': async () => providersView(),

    'settings:defaults': async ({ preset }) => settingsPreset(preset),

    'project:create': (params, context) => session.create(params, context),
    'project:open': (params, context) => session.open(params, context),
    'project:openDemo': (params, context) => session.openDemo(params, context),
    'project:current': async () => session.current(),
    'project:addImages': (params, context) => session.addImages(params, context),
    'project:images': async (params) => session.images(params),
    'settings:get': async () => session.settings(),
    'settings:set': async (params, context) =>
      session.setSettings(
        {
          ...params,
          settings: await recordBoxesHash((await confineSettingsPaths(params.settings, checkServed))!),
        },
        context,
      ),
    'run:start': async (params, context) => {
      if (params.queue && options.mode === 'served')
        checkQueueHost(params.queue.url, options.queueHosts ?? []);
      const settings = await confineSettingsPaths(params.settings, checkServed);
      // checked again when the run opens it: the stored path may have become a symlink out since it was set
      if (!settings && session.current()) await confineSettingsPaths(session.settings(), checkServed);
      return session.runs.startRun({ ...params, settings }, context);
    },
    'run:pause': () => session.runs.pause(),
    'run:resume': (_params, context) => session.runs.resume(context),
    'run:cancel': () => session.runs.cancel(),
    'run:status': async () => session.runs.status(),
    'image:get': (params) => session.image(params),
    'image:masks': async (params) => session.review.masks(params),
    'mask:predict': (params) => session.predict(params),
    'mask:add': (params) => session.review.addMask(params),
    'mask:refine': (params) => session.review.refineMask(params),
    'mask:delete': async (params) => session.review.deleteMask(params),
    'mask:restore': async (params) => session.review.restoreMask(params),
    'candidates:list': async (params) => session.review.candidates(params),
    'candidates:decide': async (params) => session.review.decide(params),
    'candidates:decideMany': async (params) => session.review.decideMany(params),
    'candidates:edit': async (params) => session.review.edit(params),
    'candidates:undo': async () => session.review.undo(),
    'filter:scores': async () => session.outputs.dosScores(),
    'filter:counts': async (params) => session.outputs.keptCounts(params),
    'inspector:trace': (params) => session.inspector.trace(params),
    'inspector:beam': (params) => session.inspector.beam(params),
    'inspector:rerun': (params) => session.inspector.rerun(params),
    'inspector:attribute': (params) => session.inspector.attribute(params),
    'report:get': async (params) => session.outputs.report(params),
    'export:run': (params, context) => session.outputs.export(params, context),

    'dialog:chooseFolder': async () => {
      throw new ApiError(
        'unsupported',
        'folder dialogs exist only in the desktop app: type the folder path instead',
      );
    },
  };
  return inInteractiveLane(handlers);

  /** Model folders: the runtime's own roots are always readable; others obey the served-mode roots. */
  async function checkModelDir(dir: string): Promise<string> {
    const real = await realPathOf(dir);
    for (const root of modelRoots([...userPackDirs])) if (isInside(root, real)) return real;
    return checkServed(dir, 'model folder');
  }
}

/**
 * Requests that start, stop or carry long background work: they run in no lane, so the batch does not wait for them
 * (pause and cancel await the batch itself; an export is not what a user waits on between two clicks).
 */
const BACKGROUND_CHANNELS: ReadonlySet<RequestChannel> = new Set([
  'run:start',
  'run:resume',
  'run:pause',
  'run:cancel',
  'export:run',
]);

/**
 * Every other request is interactive (runtime/lanes.ts): while it is in flight the batch's next model call waits,
 * so reads never queue behind a run's graph runs and a prompt or an inspector replay runs ahead of them.
 */
function inInteractiveLane(handlers: ApiHandlers): ApiHandlers {
  const wrapped: Record<string, unknown> = {};
  for (const [channel, handler] of Object.entries(handlers) as [
    RequestChannel,
    (params: unknown, context: unknown) => Promise<unknown>,
  ][])
    wrapped[channel] = BACKGROUND_CHANNELS.has(channel)
      ? handler
      : (params: unknown, context: unknown) => interactive(() => handler(params, context));
  return wrapped as unknown as ApiHandlers;
}

let cachedVersion: string | null = null;
function packageVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    cachedVersion = (
      JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    cachedVersion = '0.0.0';
  }
  return cachedVersion;
}

/** `host`, `host:port`, `[v6]` or `[v6]:port` → [host, port?]. */
function splitHostPort(entry: string): [string, string | undefined] {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (v6) return [v6[1]!, v6[2]];
  const at = entry.lastIndexOf(':');
  if (at > 0 && entry.indexOf(':') === at) return [entry.slice(0, at), entry.slice(at + 1)];
  return [entry, undefined];
}
