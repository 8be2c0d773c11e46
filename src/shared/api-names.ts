/**
 * The names of the UI ↔ engine API: every request channel with the named function that calls it, and every event
 * with the named listener that receives it.
 *
 * This file is deliberately free of runtime dependencies (no zod): the sandboxed Electron preload imports it, and a
 * sandboxed preload cannot `require` packages. The parameter schemas and result types live in `api.ts`.
 */

/** Named function → `domain:verb` request channel. The preload and both renderer clients expose these names. */
export const API_METHODS = {
  appInfo: 'app:info',

  listModels: 'models:list',
  validateModels: 'models:validate',
  addModelFolder: 'models:addFolder',
  useModels: 'models:use',
  modelProviders: 'models:providers',

  createProject: 'project:create',
  openProject: 'project:open',
  openDemoProject: 'project:openDemo',
  currentProject: 'project:current',
  addImageFolder: 'project:addImages',
  listImages: 'project:images',

  getSettings: 'settings:get',
  defaultSettings: 'settings:defaults',
  setSettings: 'settings:set',

  startRun: 'run:start',
  pauseRun: 'run:pause',
  resumeRun: 'run:resume',
  cancelRun: 'run:cancel',
  runStatus: 'run:status',

  getImage: 'image:get',
  listMasks: 'image:masks',

  predictMask: 'mask:predict',
  addMask: 'mask:add',
  refineMask: 'mask:refine',
  deleteMask: 'mask:delete',
  restoreMask: 'mask:restore',

  listCandidates: 'candidates:list',
  decideCandidate: 'candidates:decide',
  decideCandidates: 'candidates:decideMany',
  editCandidate: 'candidates:edit',
  undo: 'candidates:undo',

  dosScores: 'filter:scores',
  keptCounts: 'filter:counts',

  getTrace: 'inspector:trace',
  getBeamTrace: 'inspector:beam',
  rerunCrop: 'inspector:rerun',
  attributeStep: 'inspector:attribute',

  getReport: 'report:get',
  exportDataset: 'export:run',

  chooseFolder: 'dialog:chooseFolder',
} as const;

/** Named listener → event channel. Each listener takes a callback and returns its unsubscribe function. */
export const API_EVENTS = {
  onProgress: 'run:progress',
  onImageUpdated: 'run:image',
  onRunFinished: 'run:finished',
  onExportProgress: 'export:progress',
  onProjectChanged: 'project:changed',
} as const;

/** A named API function, e.g. `startRun`. */
export type ApiMethodName = keyof typeof API_METHODS;
/** A request channel, e.g. `run:start`. */
export type RequestChannel = (typeof API_METHODS)[ApiMethodName];
/** A named listener, e.g. `onProgress`. */
export type ApiListenerName = keyof typeof API_EVENTS;
/** An event channel, e.g. `run:progress`. */
export type EventChannel = (typeof API_EVENTS)[ApiListenerName];

/** Every request channel, for allow-lists (main process, server, engine host). */
export const REQUEST_CHANNELS: readonly RequestChannel[] = Object.values(API_METHODS);
/** Every event channel. */
export const EVENT_CHANNELS: readonly EventChannel[] = Object.values(API_EVENTS);

/** The IPC channel on which the main process pushes events to the renderer (one channel, events tagged by name). */
export const EVENT_IPC_CHANNEL = 'api:event';

/** True when `value` is one of the request channels. */
export function isRequestChannel(value: unknown): value is RequestChannel {
  return typeof value === 'string' && (REQUEST_CHANNELS as readonly string[]).includes(value);
}

/** True when `value` is one of the event channels. */
export function isEventChannel(value: unknown): value is EventChannel {
  return typeof value === 'string' && (EVENT_CHANNELS as readonly string[]).includes(value);
}
