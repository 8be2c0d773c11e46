/** The quality report at the current τ (DESIGN.md §7). */
import { defineStore } from 'pinia';
import type { ReportView } from '../../../shared/api.ts';
import { api, errorMessage } from './api.ts';
import { useAppStore } from './app.ts';

// Reports for an older τ can arrive after a newer request; only the latest request's answer is shown.
let latest = 0;

export const useReportStore = defineStore('report', {
  state: () => ({ report: null as ReportView | null, loading: false }),
  actions: {
    /** Forgets the report (another project was opened); an answer still on its way is dropped. */
    clear(): void {
      latest++;
      this.$reset();
    },
    async load(tau: number): Promise<void> {
      const request = ++latest;
      this.loading = true;
      try {
        const report = await api().getReport({ tau });
        if (request === latest) this.report = report;
      } catch (error) {
        if (request === latest) useAppStore().notify('error', `Report: ${errorMessage(error)}`);
      } finally {
        if (request === latest) this.loading = false;
      }
    },
  },
});
