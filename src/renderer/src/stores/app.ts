/**
 * App-wide state: which view is shown, the connection, app info, model packs and providers, and notices.
 */
import { defineStore } from 'pinia';
import type { AppInfo, PackView, ProvidersView } from '../../../shared/api.ts';
import type { ConnectionState } from '../api/ws-transport.ts';
import { api, apiConnection, errorMessage } from './api.ts';

/** The views of DESIGN.md §8, in navigation order. */
export const VIEWS = [
  'gallery',
  'workspace',
  'candidates',
  'inspector',
  'parameters',
  'report',
  'models',
] as const;
export type ViewName = (typeof VIEWS)[number];

/** A message shown in the status strip. */
export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
  /** What the notice is about ('engine', 'project', …): `resolve(cause)` clears it once that works again. */
  cause?: string;
}

let noticeId = 1;

export const useAppStore = defineStore('app', {
  state: () => ({
    view: 'gallery' as ViewName,
    connection: 'connecting' as ConnectionState,
    connectionDetail: '' as string,
    info: null as AppInfo | null,
    packs: [] as PackView[],
    providers: null as ProvidersView | null,
    modelsLoading: false,
    notices: [] as Notice[],
  }),
  getters: {
    /** True when the engine runs the generated shapes-world pack (the UI must say so). */
    demoInUse: (state) => state.providers?.demo ?? state.packs.some((pack) => pack.active && pack.demo),
    activePack: (state) => state.packs.find((pack) => pack.active) ?? null,
  },
  actions: {
    /** Connects and loads what every view needs. */
    async start(): Promise<void> {
      apiConnection().onState((state, detail) => {
        const reconnected = state === 'open' && this.connection !== 'open' && this.info !== null;
        if (state === 'open') this.resolve('engine');
        this.connection = state;
        this.connectionDetail = detail ?? '';
        if (reconnected) void this.loadModels();
      });
      try {
        this.info = await api().appInfo();
      } catch (error) {
        this.notify('error', `Could not reach the engine: ${errorMessage(error)}`, 'engine');
        return;
      }
      await this.loadModels();
    },
    async loadModels(): Promise<void> {
      this.modelsLoading = true;
      try {
        const [packs, providers] = await Promise.all([api().listModels(), api().modelProviders()]);
        this.packs = packs;
        this.providers = providers;
      } catch (error) {
        this.notify('error', `Models: ${errorMessage(error)}`);
      } finally {
        this.modelsLoading = false;
      }
    },
    async validatePack(dir: string): Promise<void> {
      try {
        const view = await api().validateModels({ dir });
        const i = this.packs.findIndex((pack) => pack.dir === dir);
        if (i >= 0) this.packs[i] = view;
      } catch (error) {
        this.notify('error', `Validate ${dir}: ${errorMessage(error)}`);
      }
    },
    async addPackFolder(dir: string): Promise<void> {
      try {
        this.packs = await api().addModelFolder({ dir });
      } catch (error) {
        this.notify('error', `Add model folder: ${errorMessage(error)}`);
      }
    },
    async usePack(dir: string, forceCpu = false): Promise<void> {
      try {
        this.providers = await api().useModels({ dir, forceCpu });
        this.packs = await api().listModels();
      } catch (error) {
        this.notify('error', `Use pack: ${errorMessage(error)}`);
      }
    },
    /** Asks for a folder: the native dialog in Electron; null in served mode (the view shows a path field instead). */
    async chooseFolder(purpose: 'images' | 'project' | 'export' | 'models'): Promise<string | null> {
      if (!this.info?.nativeDialogs) return null;
      try {
        return await api().chooseFolder({ purpose });
      } catch (error) {
        this.notify('error', `Folder dialog: ${errorMessage(error)}`);
        return null;
      }
    },
    show(view: ViewName): void {
      this.view = view;
    },
    /** Shows a notice; one with a `cause` replaces the earlier notice of that cause (no pile of the same error). */
    notify(kind: Notice['kind'], text: string, cause?: string): void {
      const notice = { id: noticeId++, kind, text, cause };
      if (cause) this.resolve(cause);
      this.notices.push(notice);
      if (this.notices.length > 5) this.notices.shift();
      if (kind === 'info') setTimeout(() => this.dismiss(notice.id), 4000);
    },
    /** Clears the notices of `cause`: what they reported works now. */
    resolve(cause: string): void {
      this.notices = this.notices.filter((notice) => notice.cause !== cause);
    },
    dismiss(id: number): void {
      this.notices = this.notices.filter((notice) => notice.id !== id);
    },
  },
});
