/**
 * τ and the project-wide kept count, computed in the page from stored columns (`filter:scores`: DoS, CoS, masks and
 * review marks, fetched once per run and after each review change), so that moving the slider never waits for the
 * engine. The count comes from the shared keep rule (shared/decide.ts): `buildKeptIndex` runs `decide` once per
 * policy change, then each τ move is one binary search — the same kept set the engine exports, every policy and
 * every review mark included.
 */
import { defineStore } from 'pinia';
import { markRaw } from 'vue';
import {
  buildKeptIndex,
  emptyColumns,
  imageKeptAt,
  keepPolicy,
  keptCountAt,
  REVIEW_CODES,
  scoreColumns,
  type DecisionColumns,
  type KeepPolicy,
  type KeptIndex,
} from '../../../shared/decide.ts';
import { parseSettings, REFERENCE_TAU } from '../../../shared/settings.ts';
import { api, errorCode, errorMessage } from './api.ts';
import { useAppStore } from './app.ts';
import { useSettingsStore } from './settings.ts';

/** The policies and seed used before the project's settings are loaded: the schema's defaults. */
const DEFAULT_SETTINGS = parseSettings({});

export const useFilterStore = defineStore('filter', {
  state: () => ({
    tau: REFERENCE_TAU,
    // markRaw: typed arrays stay out of Vue's proxies (10,000+ values; reactivity is on the columns object only)
    columns: markRaw(emptyColumns()) as DecisionColumns,
    /** The image id of each entry of `columns.maskCounts` (the `image` column indexes this). */
    imageIds: [] as string[],
    loaded: false,
  }),
  getters: {
    /**
     * The keep policy at the current τ: the project's saved single-mask and empty-mask choices and its seed (the
     * `emptyMask: 'random'` draw), as the engine decides with them (`project:get` / `settings:get` send them).
     */
    policy(state): KeepPolicy {
      return keepPolicy(useSettingsStore().saved ?? DEFAULT_SETTINGS, state.tau);
    },
    /** Rebuilt only when the columns, a policy or the seed change, not when τ moves (the getter does not read τ). */
    index(state): KeptIndex {
      const { tau: _tau, ...policy } = keepPolicy(useSettingsStore().saved ?? DEFAULT_SETTINGS);
      return markRaw(buildKeptIndex(state.columns, policy));
    },
    /** Per image id: candidates reviewed (accepted or rejected) and exportable candidates, for the gallery. */
    reviewByImage(state): Map<string, { reviewed: number; total: number }> {
      const out = new Map<string, { reviewed: number; total: number }>();
      const { image, review } = state.columns;
      for (let k = 0; k < image.length; k++) {
        const id = state.imageIds[image[k]];
        if (id === undefined) continue;
        const entry = out.get(id) ?? { reviewed: 0, total: 0 };
        entry.total++;
        if (review[k] === REVIEW_CODES.accepted || review[k] === REVIEW_CODES.rejected) entry.reviewed++;
        out.set(id, entry);
      }
      return out;
    },
    /**
     * Per image id: candidates kept at τ and exportable candidates, for the gallery's tiles. From the same index as the
     * top bar's `kept`, so the tiles sum to it at every τ (they used to show the engine's count at the saved τ).
     */
    keptByImage(state): Map<string, { kept: number; total: number }> {
      const out = new Map<string, { kept: number; total: number }>();
      const index = this.index;
      state.imageIds.forEach((id, image) => {
        out.set(id, { kept: imageKeptAt(index, image, state.tau), total: 0 });
      });
      for (const image of state.columns.image) {
        const entry = out.get(state.imageIds[image]);
        if (entry) entry.total++;
      }
      return out;
    },
    total(state): number {
      return state.columns.image.length;
    },
    /** Exportable candidates kept at τ by the shared rule (policies and review included). */
    kept(state): number {
      const start = performance.now();
      const kept = keptCountAt(this.index, state.tau);
      // Non-reactive write: timing must not trigger another render.
      timing.last = performance.now() - start;
      return kept;
    },
  },
  actions: {
    async load(): Promise<void> {
      try {
        const scores = await api().dosScores();
        this.setColumns(scoreColumns(scores));
        this.imageIds = scores.imageIds;
      } catch (error) {
        // No stale counts: a failed load (no project open, project closed) shows none rather than the last ones.
        this.clear();
        // no open project yet: nothing to count, not an error worth a notice
        if (errorCode(error) !== 'no-project')
          useAppStore().notify('error', `Scores: ${errorMessage(error)}`);
      }
    },
    /** Forgets the stored scores (project switch / no project): the kept count shows 0 / 0, never an old one. */
    clear(): void {
      this.columns = markRaw(emptyColumns());
      this.imageIds = [];
      this.loaded = false;
    },
    /** Replaces the columns directly (used by tests and the 10k-candidate check). */
    setColumns(columns: DecisionColumns): void {
      this.columns = markRaw(columns);
      this.loaded = true;
    },
    setTau(tau: number): void {
      if (Number.isFinite(tau)) this.tau = Math.min(10, Math.max(0, tau));
    },
  },
});

/** Duration of the last kept-count computation, in milliseconds (outside the store to stay non-reactive). */
export const timing = { last: 0 };
