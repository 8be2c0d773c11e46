/**
 * The engine facade: one handler per request channel of the API contract (shared/api.ts), over the engine modules
 * (runtime, segment, caption, filter, pipeline, dataset). It stays thin — the logic lives in those modules; this
 * file keeps the session state (open project, active model pack, current run) and maps engine results to the
 * contract's view types. The adapters (Electron IPC, WebSocket server) run it inside an engine host.
 */
import { readFileSync } from 'node:fs';
import {
  ApiError,
  mergeSettings,
  type ApiHandlers,
  type PackView,
  type ProvidersView,
} from '../../shared/api.ts';
import type { PackSummary } from '../../shared/models.ts';
import { parseSettings, settingsPreset } from '../../shared/settings.ts';
import {
  listModelPacks,
  loadModelPack,
  modelRoots,
  supportedBackends,
  validateModelPack,
  type ModelPack,
} from '../runtime/index.ts';
import type { EngineServiceOptions } from './options.ts';
import { confineSettingsPaths, FileScope, isInside, realPathOf } from './paths.ts';
import { demoPackDir, ProjectService } from './project.ts';

/** Builds the facade's handlers. State (project, pack, run) lives in the returned closure. */
export function createEngineService(options: EngineServiceOptions): ApiHandlers {
  const userPackDirs = new Set<string>(options.packDirs);
  const served = new FileScope();
  const servedReady = Promise.all(options.allowedRoots.map((root) => served.allow(root)));
  let activePack: { summary: PackSummary; pack: ModelPack } | null = null;

  /** In served mode, a folder the user names must lie under an allowed root. */
  async function checkServed(path: string, what: string): Promise<string> {
    if (options.allowedRoots.length === 0) return realPathOf(path);
    await servedReady;
    return served.check(path, what);
  }

  function packView(summary: PackSummary): PackView {
    const origin = [...userPackDirs].some((dir) => isInside(dir, summary.dir)) ? 'user' : 'resources';
    return { ...summary, active: activePack?.summary.dir === summary.dir, origin };
  }

  async function providersView(): Promise<ProvidersView> {
    // Only the backends this build bundles can run here (doctor lists the others as "not bundled").
    const available = supportedBackends()
      .filter((backend) => backend.bundled)
      .map((backend) => backend.name);
    // The runs use the pipeline's own sessions: show their providers (what ran), else the chosen pack's.
    const ran = await projects.runProviders();
    if (ran && ran.roles.length > 0 && (!activePack || activePack.summary.name === ran.name))
      return { pack: ran.name, demo: ran.demo, available, roles: ran.roles };
    if (!activePack) return { pack: ran?.name ?? null, demo: ran?.demo ?? false, available, roles: [] };
    return {
      pack: activePack.summary.name,
      demo: activePack.summary.demo,
      available,
      roles: activePack.pack.providers(),
    };
  }

  async function useModels(dir: string, forceCpu: boolean): Promise<ProvidersView> {
    const summary = await validateModelPack(dir, { level: 'quick' });
    if (!summary.valid)
      throw new ApiError(
        'invalid-params',
        `model pack "${summary.name}" is not usable: ${summary.issues.map((i) => i.message).join('; ')}`,
      );
    const pack = await loadModelPack(dir, { forceCpu: forceCpu || options.forceCpu });
    await activePack?.pack.dispose();
    activePack = { summary, pack };
    return providersView();
  }

  const projects = new ProjectService({
    checkUserPath: (path, what) => checkServed(path, what),
    packDir: async () => activePack?.summary.dir ?? demoPackDir(),
    newSettings: () => mergeSettings(parseSettings({}), options.defaultSettings),
  });

  return {
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

    'project:create': (params, context) => projects.create(params, context),
    'project:open': (params, context) => projects.open(params, context),
    'project:openDemo': (params, context) => projects.openDemo(params, context),
    'project:current': async () => projects.current(),
    'project:addImages': (params, context) => projects.addImages(params, context),
    'project:images': async () => projects.images(),
    'settings:get': async () => projects.settings(),
    'settings:set': async (params, context) =>
      projects.setSettings(
        { ...params, settings: (await confineSettingsPaths(params.settings, checkServed))! },
        context,
      ),
    'run:start': async (params, context) => {
      const settings = await confineSettingsPaths(params.settings, checkServed);
      // checked again when the run opens it: the stored path may have become a symlink out since it was set
      if (!settings && projects.current()) await confineSettingsPaths(projects.settings(), checkServed);
      return projects.startRun({ ...params, settings }, context);
    },
    'run:pause': () => projects.pause(),
    'run:resume': (_params, context) => projects.resume(context),
    'run:cancel': () => projects.cancel(),
    'run:status': async () => projects.status(),
    'image:get': (params) => projects.image(params),
    'image:masks': async (params) => projects.masks(params),
    'mask:predict': (params) => projects.predict(params),
    'mask:add': (params) => projects.addMask(params),
    'mask:refine': (params) => projects.refineMask(params),
    'mask:delete': async (params) => projects.deleteMask(params),
    'mask:restore': async (params) => projects.restoreMask(params),
    'candidates:list': async (params) => projects.candidates(params),
    'candidates:decide': async (params) => projects.decide(params),
    'candidates:edit': async (params) => projects.edit(params),
    'candidates:undo': async () => projects.undo(),
    'filter:scores': async () => projects.dosScores(),
    'filter:counts': async (params) => projects.keptCounts(params),
    'inspector:trace': (params) => projects.trace(params),
    'inspector:rerun': (params) => projects.rerun(params),
    'report:get': async (params) => projects.report(params),
    'export:run': (params, context) => projects.export(params, context),

    'dialog:chooseFolder': async () => {
      throw new ApiError(
        'unsupported',
        'folder dialogs exist only in the desktop app: type the folder path instead',
      );
    },
  };

  /** Model folders: the runtime's own roots are always readable; others obey the served-mode roots. */
  async function checkModelDir(dir: string): Promise<string> {
    const real = await realPathOf(dir);
    for (const root of modelRoots([...userPackDirs])) if (isInside(root, real)) return real;
    return checkServed(dir, 'model folder');
  }
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
