/**
 * τ and the project-wide kept count, computed in the page from stored DoS scores (`filter:scores`, fetched once
 * per run), so that moving the slider never waits for the engine.
 */
import { defineStore } from 'pinia';
import { markRaw } from 'vue';
import { REFERENCE_TAU } from '../../../shared/settings.ts';
import { buildDosIndex, keptCount, type DosIndex } from '../lib/tau.ts';
import { api, errorMessage } from './api.ts';
import { useAppStore } from './app.ts';

export const useFilterStore = defineStore('filter', {
  state: () => ({
    tau: REFERENCE_TAU,
    // markRaw: typed arrays stay out of Vue's proxies (10,000+ values; reactivity is on the index object only)
    index: markRaw(buildDosIndex([])) as DosIndex,
    loaded: false,
  }),
  getters: {
    total: (state) => state.index.sorted.length + state.index.singleMask,
    /** Scored candidates with DoS > τ plus single-mask candidates (kept by the default policy). */
    kept(state): number {
      const start = performance.now();
      const kept = keptCount(state.index, state.tau);
      // Non-reactive write: timing must not trigger another render.
      timing.last = performance.now() - start;
      return kept;
    },
  },
  actions: {
    async load(): Promise<void> {
      try {
        const scores = await api().dosScores();
        this.index = markRaw(buildDosIndex(Array.from(scores.dos)));
        this.loaded = true;
      } catch (error) {
        if (!errorMessage(error).includes('project')) useAppStore().notify('error', `Scores: ${errorMessage(error)}`);
      }
    },
    /** Replaces the scores directly (used by tests and the 10k-candidate check). */
    setScores(dos: ArrayLike<number | null>): void {
      this.index = markRaw(buildDosIndex(dos));
      this.loaded = true;
    },
    setTau(tau: number): void {
      if (Number.isFinite(tau)) this.tau = Math.min(10, Math.max(0, tau));
    },
  },
});

/** Duration of the last kept-count computation, in milliseconds (outside the store to stay non-reactive). */
export const timing = { last: 0 };
