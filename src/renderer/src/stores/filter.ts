/**
 * τ and the kept counts, answered by the engine from its columns (`filter:counts`: the project's count and the
 * gallery's visible tiles', equal to the shared keep rule on every stored result, review applied). The page never
 * holds the candidates: on a 100k-image project they are millions. Each τ move asks once; moves made while an answer
 * is on its way are folded into one more request (latest wins), so the slider never queues work. The slider's
 * histogram comes from `filter:scores`.
 */
import { defineStore } from 'pinia';
import { keepPolicy, type KeepPolicy } from '../../../shared/decide.ts';
import { parseSettings, REFERENCE_TAU } from '../../../shared/settings.ts';
import { api, errorCode, errorMessage } from './api.ts';
import { useAppStore } from './app.ts';
import { useSettingsStore } from './settings.ts';

/** The policies and seed used before the project's settings are loaded: the schema's defaults. */
const DEFAULT_SETTINGS = parseSettings({});

/** Whether a counts request is on its way, and whether τ or the tiles changed since it left. */
let inFlight: Promise<void> | null = null;
let again = false;

export const useFilterStore = defineStore('filter', {
  state: () => ({
    tau: REFERENCE_TAU,
    /** Exportable candidates of finished images, and their masks. */
    total: 0,
    masks: 0,
    /** Kept at `keptTau` (the last answer; `tau` once the request for it came back). */
    kept: 0,
    keptTau: null as number | null,
    /** DoS histogram of the stored candidates (the slider's background). */
    histogram: { width: 3 / 40, counts: [] as number[] },
    /** Per visible tile: kept at `keptTau` and exportable candidates. */
    perImage: {} as Record<string, { kept: number; candidates: number; reviewed: number }>,
    /** The tiles the gallery shows now (their counts follow τ). */
    visible: [] as string[],
    /** The image open in the workspace or candidates view (its review progress is shown). */
    focus: null as string | null,
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
    /** Per visible image id: candidates kept at τ and exportable candidates, for the gallery's tiles. */
    keptByImage(state): Map<string, { kept: number; total: number }> {
      return new Map(
        Object.entries(state.perImage).map(([id, c]) => [id, { kept: c.kept, total: c.candidates }]),
      );
    },
    /** Per visible (or focused) image id: candidates reviewed (accepted or rejected) and exportable candidates. */
    reviewByImage(state): Map<string, { reviewed: number; total: number }> {
      return new Map(
        Object.entries(state.perImage).map(([id, c]) => [id, { reviewed: c.reviewed, total: c.candidates }]),
      );
    },
  },
  actions: {
    /** Loads the slider's figures (count, histogram), then the counts at τ. */
    async load(): Promise<void> {
      try {
        const scores = await api().dosScores();
        this.total = scores.candidates;
        this.histogram = scores.histogram;
        this.loaded = true;
        await this.recount();
      } catch (error) {
        // No stale counts: a failed load (no project open, project closed) shows none rather than the last ones.
        this.clear();
        // no open project yet: nothing to count, not an error worth a notice
        if (errorCode(error) !== 'no-project')
          useAppStore().notify('error', `Scores: ${errorMessage(error)}`);
      }
    },
    /** Asks the engine for the counts at τ (project and visible tiles); folds requests made meanwhile into one. */
    async recount(): Promise<void> {
      if (inFlight) {
        again = true;
        return inFlight;
      }
      inFlight = (async () => {
        // `inFlight` is cleared in the same turn as the last `again` check: a request made after it starts anew,
        // one made before it is folded into this loop (none is lost between the two)
        try {
          do {
            again = false;
            const tau = this.tau;
            const imageIds = [...new Set([...(this.focus ? [this.focus] : []), ...this.visible])].slice(
              0,
              1000,
            );
            try {
              const counts = await api().keptCounts({ tau, imageIds });
              this.kept = counts.kept;
              this.total = counts.candidates;
              this.masks = counts.masks;
              this.keptTau = tau;
              this.perImage = counts.perImage;
            } catch (error) {
              if (errorCode(error) === 'no-project') {
                this.clear();
                return;
              }
              throw error;
            }
          } while (again);
        } finally {
          inFlight = null;
        }
      })();
      return inFlight;
    },
    /** The gallery shows these tiles now: their counts are asked for at the current τ. */
    setVisible(imageIds: readonly string[]): void {
      if (imageIds.length === this.visible.length && imageIds.every((id, k) => id === this.visible[k]))
        return;
      this.visible = [...imageIds];
      if (this.loaded && imageIds.some((id) => !(id in this.perImage))) void this.recount();
    },
    /** The image open in the workspace: its review progress follows each decision. */
    setFocus(imageId: string | null): void {
      if (this.focus === imageId) return;
      this.focus = imageId;
      if (this.loaded && imageId && !(imageId in this.perImage)) void this.recount().catch(() => {});
    },
    /** Forgets the counts (project switch / no project): the kept count shows 0 / 0, never an old one. */
    clear(): void {
      this.total = 0;
      this.masks = 0;
      this.kept = 0;
      this.keptTau = null;
      this.histogram = { width: 3 / 40, counts: [] };
      this.perImage = {};
      this.loaded = false;
    },
    setTau(tau: number): void {
      if (!Number.isFinite(tau)) return;
      this.tau = Math.min(10, Math.max(0, tau));
      if (this.loaded) void this.recount().catch(() => {});
    },
  },
});
