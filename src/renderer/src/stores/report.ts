/** The quality report at the current τ (DESIGN.md §7). */
import { defineStore } from 'pinia';
import type { ReportView } from '../../../shared/api.ts';
import { api, errorMessage } from './api.ts';
import { useAppStore } from './app.ts';

export const useReportStore = defineStore('report', {
  state: () => ({ report: null as ReportView | null, loading: false }),
  actions: {
    async load(tau: number): Promise<void> {
      this.loading = true;
      try {
        this.report = await api().getReport({ tau });
      } catch (error) {
        useAppStore().notify('error', `Report: ${errorMessage(error)}`);
      } finally {
        this.loading = false;
      }
    },
  },
});
