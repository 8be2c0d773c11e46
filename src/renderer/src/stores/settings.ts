/** The parameters panel: the project's settings, edited as a draft, with the "paper defaults" / "reference" presets. */
import { defineStore } from 'pinia';
import type { Settings } from '../../../shared/settings.ts';
import { api, errorMessage } from './api.ts';
import { useAppStore } from './app.ts';
import { emitStoreEvent } from './events.ts';
import { settingsProblems } from '../lib/settings-problem.ts';

export const useSettingsStore = defineStore('settings', {
  state: () => ({
    saved: null as Settings | null,
    draft: null as Settings | null,
    error: null as string | null,
    saving: false,
  }),
  getters: {
    dirty: (state) => JSON.stringify(state.saved) !== JSON.stringify(state.draft),
    /** What is wrong with the draft now, in words (empty when valid): follows every edit, so it clears at once. */
    problems: (state): string[] => (state.draft ? settingsProblems(state.draft) : []),
  },
  actions: {
    async load(): Promise<void> {
      try {
        this.saved = await api().getSettings();
        this.draft = clone(this.saved);
        // The error shown belongs to the last load: a project opened since clears "no project is open".
        this.error = null;
        emitStoreEvent('settings-saved', { tau: this.saved.filter.tau });
      } catch (error) {
        this.saved = null;
        this.draft = null;
        this.error = errorMessage(error);
      }
    },
    async preset(name: 'default' | 'reference'): Promise<void> {
      try {
        this.draft = await api().defaultSettings({ preset: name });
        this.error = null;
      } catch (error) {
        useAppStore().notify('error', `Preset: ${errorMessage(error)}`);
      }
    },
    revert(): void {
      this.draft = this.saved ? clone(this.saved) : null;
      this.error = null;
    },
    /** Validates the draft with the shared schema first, so mistakes are named before anything is sent. */
    async save(): Promise<void> {
      if (!this.draft || this.problems.length > 0) return;
      this.saving = true;
      try {
        this.saved = await api().setSettings({ settings: this.draft as unknown as Record<string, unknown> });
        this.draft = clone(this.saved);
        this.error = null;
        emitStoreEvent('settings-saved', { tau: this.saved.filter.tau });
      } catch (error) {
        this.error = errorMessage(error);
      } finally {
        this.saving = false;
      }
    },
  },
});

// Settings are plain JSON; structuredClone cannot copy Vue's reactive proxies.
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
