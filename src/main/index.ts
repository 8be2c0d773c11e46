/**
 * Electron main process: one window with the renderer sandboxed and isolated, the engine in a utilityProcess, and
 * every IPC call checked (sender + schema) before it is forwarded. Main itself only routes and shows dialogs.
 *
 * Security (Electron's checklist, DESIGN.md §9): contextIsolation, sandbox, no nodeIntegration, webSecurity on,
 * a strict CSP (response header of the app:// scheme, and the page's meta tag), no remote content, navigation and
 * new windows denied, webviews refused, every permission request denied.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  session,
  utilityProcess,
  type IpcMainInvokeEvent,
  type WebContents,
} from 'electron';
import {
  API_METHODS,
  EVENT_IPC_CHANNEL,
  REQUEST_CHANNELS,
  type AppInfo,
  type FolderPurpose,
  type RequestChannel,
} from '../shared/api.ts';
import { createEngineClient, type EngineClient } from '../engine/service/client.ts';
import type { EngineServiceOptions } from '../engine/service/options.ts';
import {
  APP_ORIGIN,
  createIpcHandler,
  electronCsp,
  navigationAllowed,
  requestAllowed,
  type IpcSender,
  type RendererOrigin,
} from './ipc-guard.ts';
import { registerAppScheme, serveRenderer } from './protocol.ts';

const devUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
const renderer: RendererOrigin = devUrl
  ? { kind: 'dev', origin: new URL(devUrl).origin }
  : { kind: 'app', origin: APP_ORIGIN };
const windows = new Set<number>();

registerAppScheme();
app.enableSandbox();

/** Model packs: bundled resources when packaged (outside the asar), the repository's resources/models in development. */
function packDirs(): string[] {
  return app.isPackaged
    ? [join(process.resourcesPath, 'models')]
    : [join(app.getAppPath(), 'resources', 'models')];
}

function startEngine(): EngineClient {
  const options: EngineServiceOptions = {
    mode: 'electron',
    version: app.getVersion(),
    packDirs: packDirs(),
    allowedRoots: [],
    defaultProjectDir: join(app.getPath('documents'), 'Pseudo-RIS'),
    // Settings for new projects (a JSON file of any subset of the settings), e.g. the e2e run's reduced settings.
    defaultSettings: process.env.PSEUDO_RIS_SETTINGS
      ? (JSON.parse(readFileSync(process.env.PSEUDO_RIS_SETTINGS, 'utf8')) as Record<string, unknown>)
      : undefined,
  };
  const child = utilityProcess.fork(
    join(__dirname, 'engineHost.js'),
    [`--engine-options=${JSON.stringify(options)}`],
    {
      serviceName: 'Pseudo-RIS engine',
      stdio: 'inherit',
    },
  );
  let exitHandler: ((reason: string) => void) | null = null;
  child.on('exit', (code) => exitHandler?.(`engine process exited with code ${code}`));
  return createEngineClient({
    post: (message) => child.postMessage(message),
    onMessage: (handler) => child.on('message', handler),
    onExit: (handler) => (exitHandler = handler),
    terminate: async () => {
      child.kill();
    },
  });
}

const FOLDER_TITLES: Record<FolderPurpose, string> = {
  images: 'Choose an image folder',
  project: 'Choose a project folder',
  export: 'Choose an export destination',
  models: 'Choose a model-pack folder',
};

function installIpc(engine: EngineClient): void {
  // Requests in flight per window, aborted when the window goes away.
  const inFlight = new Map<number, Set<AbortController>>();
  const handle = createIpcHandler({
    renderer,
    trustedWebContents: () => windows,
    forward: async (channel: RequestChannel, params: unknown, sender: IpcSender) => {
      if (channel === API_METHODS.chooseFolder) {
        const { purpose, title } = params as { purpose: FolderPurpose; title?: string };
        const owner = BrowserWindow.fromId(sender.webContentsId) ?? BrowserWindow.getFocusedWindow();
        const dialogOptions: Electron.OpenDialogOptions = {
          title: title ?? FOLDER_TITLES[purpose],
          properties: ['openDirectory', 'createDirectory'],
        };
        const picked = owner
          ? await dialog.showOpenDialog(owner, dialogOptions)
          : await dialog.showOpenDialog(dialogOptions);
        return picked.canceled || picked.filePaths.length === 0 ? null : picked.filePaths[0];
      }
      const controller = new AbortController();
      let set = inFlight.get(sender.webContentsId);
      if (!set) inFlight.set(sender.webContentsId, (set = new Set()));
      set.add(controller);
      try {
        const result = await engine.request(channel, params, controller.signal);
        if (channel === API_METHODS.appInfo)
          return { ...(result as AppInfo), mode: 'electron', nativeDialogs: true } satisfies AppInfo;
        return result;
      } finally {
        set.delete(controller);
      }
    },
  });
  for (const channel of REQUEST_CHANNELS) {
    ipcMain.handle(channel, (event: IpcMainInvokeEvent, params: unknown) =>
      handle(
        channel,
        {
          frameUrl: event.senderFrame?.url,
          isMainFrame: event.senderFrame?.parent === null,
          webContentsId: event.sender.id,
        },
        params,
      ),
    );
  }
  engine.onEvent((event, payload) => {
    for (const window of BrowserWindow.getAllWindows()) {
      if (windows.has(window.webContents.id)) window.webContents.send(EVENT_IPC_CHANNEL, { event, payload });
    }
  });
  app.on('web-contents-created', (_event, contents) => {
    contents.once('destroyed', () => {
      for (const controller of inFlight.get(contents.id) ?? []) controller.abort();
      inFlight.delete(contents.id);
    });
  });
}

function lockDown(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!navigationAllowed(url, renderer)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!navigationAllowed(url, renderer)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1400,
    height: 900,
    show: false,
    title: 'Pseudo-RIS Studio',
    webPreferences: {
      preload: join(__dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  const id = window.webContents.id;
  windows.add(id);
  window.on('closed', () => windows.delete(id));
  window.once('ready-to-show', () => window.show());
  if (devUrl) void window.loadURL(devUrl);
  else void window.loadURL(`${APP_ORIGIN}/index.html`);
  return window;
}

app.on('web-contents-created', (_event, contents) => lockDown(contents));

void app.whenReady().then(() => {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  // No remote content: every request that is not our renderer (or the dev server) is cancelled.
  ses.webRequest.onBeforeRequest((details, callback) =>
    callback({ cancel: !requestAllowed(details.url, renderer) }),
  );
  // The CSP as a header on every response (the dev server's too); the page also carries it as a meta tag.
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [electronCsp(renderer)] },
    });
  });
  if (!devUrl) serveRenderer(join(__dirname, '../renderer'), renderer);
  const engine = startEngine();
  installIpc(engine);
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
  app.on('will-quit', () => void engine.close());
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
