/** The export dialog: formats, τ, destination, split; progress events and the files written. */
import { defineStore } from 'pinia';
import {
  EXPORT_FORMATS,
  type ExportFormat,
  type ExportProgress,
  type ExportResult,
} from '../../../shared/api.ts';
import { api, errorMessage } from './api.ts';
import { useFilterStore } from './filter.ts';

let subscribed = false;

export const useExportStore = defineStore('export', {
  state: () => ({
    open: false,
    formats: ['refcoco'] as ExportFormat[],
    dest: '',
    split: 'train',
    /** null = use the τ of the filter store. */
    tau: null as number | null,
    running: false,
    progress: null as ExportProgress | null,
    result: null as ExportResult | null,
    error: null as string | null,
  }),
  getters: {
    allFormats: () => EXPORT_FORMATS,
  },
  actions: {
    show(): void {
      if (!subscribed) {
        subscribed = true;
        api().onExportProgress((progress) => (this.progress = progress));
      }
      this.open = true;
      this.error = null;
    },
    async run(): Promise<void> {
      this.running = true;
      this.error = null;
      this.result = null;
      try {
        this.result = await api().exportDataset({
          formats: this.formats,
          dest: this.dest.trim() || undefined,
          tau: this.tau ?? useFilterStore().tau,
          split: this.split,
        });
      } catch (error) {
        this.error = errorMessage(error);
      } finally {
        this.running = false;
        this.progress = null;
      }
    },
  },
});
