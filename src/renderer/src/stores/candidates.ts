/**
 * The candidates of one mask: review state (accept / reject / edit), a cursor for keyboard review, and undo via the
 * engine (`candidates:undo`, which records decisions). Kept-ness comes from the shared keep rule (shared/decide.ts)
 * at the shared τ and the project's policies, so the table agrees with the slider, the report and the exports.
 */
import { defineStore } from 'pinia';
import type { CandidateView } from '../../../shared/api.ts';
import { decideViews, type KeepPolicy } from '../../../shared/decide.ts';
import { api, errorMessage } from './api.ts';
import { useAppStore } from './app.ts';
import { useFilterStore } from './filter.ts';

/** Order of crop groups in the table: the reference's crop order (masked, then box margins ascending). */
export function cropOrder(candidate: CandidateView): number {
  return candidate.crop.kind === 'masked' ? 0 : candidate.crop.margin;
}

/** Order of decodings inside a crop group: beam, DCS top-k, DCS top-p, then plain sampling. */
export function decodingOrder(candidate: CandidateView): number {
  const setting = candidate.setting;
  if (setting.kind === 'beam') return 0;
  const base = setting.distinctive ? 1000 : 3000;
  return base + (setting.kind === 'top-k' ? setting.k : 500 + setting.p * 100);
}

/** A short label of a decoding setting: `beam`, `DCS k=5`, `plain p=0.4`. */
export function decodingLabel(candidate: Pick<CandidateView, 'setting'>): string {
  const setting = candidate.setting;
  if (setting.kind === 'beam') return setting.scoring === 'raw-logits' ? 'beam' : 'beam (log-prob)';
  const name = setting.distinctive ? 'DCS' : 'plain';
  return setting.kind === 'top-k' ? `${name} k=${setting.k}` : `${name} p=${setting.p.toFixed(1)}`;
}

/** A crop's label: `masked crop` or `box crop ×1.1`. */
export function cropLabel(candidate: Pick<CandidateView, 'crop'>): string {
  return candidate.crop.kind === 'masked' ? 'masked crop' : `box crop ×${candidate.crop.margin.toFixed(1)}`;
}

/**
 * Ids of the candidates kept under `policy` (τ included), decided together as the engine decides them: the
 * empty-mask and single-mask policies look at a mask's whole candidate list, and review marks override scores.
 */
export function keptIds(list: readonly CandidateView[], policy: KeepPolicy): Set<string> {
  const kept = decideViews(list, policy);
  return new Set(list.filter((_, k) => kept[k]).map((candidate) => candidate.id));
}

/** A caption's text for duplicate grouping: the edited text when there is one, lower case, spaces collapsed. */
export function normalizedText(candidate: Pick<CandidateView, 'text' | 'editedText'>): string {
  return (candidate.editedText ?? candidate.text).toLowerCase().replace(/\s+/g, ' ').trim();
}

export const useCandidatesStore = defineStore('candidates', {
  state: () => ({
    imageId: null as string | null,
    maskId: null as string | null,
    list: [] as CandidateView[],
    cursor: 0,
    editing: null as string | null,
    showComparison: true,
    loading: false,
    /** Review filters: decoding method, crop (its cropKey), kept at τ only, not reviewed yet only. */
    filters: {
      method: 'all' as 'all' | CandidateView['method'],
      crop: 'all' as string,
      keptOnly: false,
      unreviewedOnly: false,
    },
  }),
  getters: {
    /** Every row shown without the review filters, in table order: grouped by crop, then decoding. */
    allRows(state): CandidateView[] {
      return state.list
        .filter((candidate) => state.showComparison || candidate.exportable)
        .sort((a, b) => cropOrder(a) - cropOrder(b) || decodingOrder(a) - decodingOrder(b));
    },
    /** The rows the table shows: `allRows` through the review filters. */
    rows(state): CandidateView[] {
      const f = state.filters;
      return this.allRows.filter(
        (candidate) =>
          (f.method === 'all' || candidate.method === f.method) &&
          (f.crop === 'all' || candidate.cropKey === f.crop) &&
          (!f.keptOnly || this.kept.has(candidate.id)) &&
          (!f.unreviewedOnly || candidate.decision === null),
      );
    },
    /** How many rows of the mask carry the same text (normalized), for the "×n" duplicate marks. */
    duplicates(state): Map<string, number> {
      const counts = new Map<string, number>();
      for (const candidate of state.list) {
        const key = normalizedText(candidate);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    },
    /** Kept candidates of the open mask at the current τ and policies (all of the list, shown or not, decide). */
    kept(state): Set<string> {
      return keptIds(state.list, useFilterStore().policy);
    },
    keptCount(): number {
      return this.allRows.filter((candidate) => this.kept.has(candidate.id)).length;
    },
    exportableCount(): number {
      return this.allRows.filter((candidate) => candidate.exportable).length;
    },
    current(): CandidateView | null {
      return this.rows[this.cursor] ?? null;
    },
  },
  actions: {
    async openMask(imageId: string, maskId: string): Promise<void> {
      this.imageId = imageId;
      this.maskId = maskId;
      this.cursor = 0;
      this.editing = null;
      this.loading = true;
      this.list = [];
      // A later openMask wins: answers for a mask no longer shown are dropped.
      const current = () => this.maskId === maskId;
      try {
        const list = await api().listCandidates({ imageId, maskId });
        if (current()) this.list = list;
      } catch (error) {
        if (!current()) return;
        this.list = [];
        useAppStore().notify('error', `Candidates: ${errorMessage(error)}`);
      } finally {
        if (current()) this.loading = false;
      }
    },
    replace(candidate: CandidateView): void {
      const i = this.list.findIndex((item) => item.id === candidate.id);
      if (i >= 0) this.list[i] = candidate;
    },
    move(delta: number): void {
      const n = this.rows.length;
      if (n === 0) return;
      this.cursor = Math.min(n - 1, Math.max(0, this.cursor + delta));
    },
    async decide(candidateId: string, decision: 'accepted' | 'rejected' | 'none'): Promise<void> {
      try {
        this.replace(await api().decideCandidate({ candidateId, decision }));
        // a decision moves the project-wide kept count (accept keeps, reject drops): refresh the slider's columns
        void useFilterStore().load();
      } catch (error) {
        useAppStore().notify('error', `Review: ${errorMessage(error)}`);
      }
    },
    /** Toggles a decision on the current row (pressing `a` twice clears the acceptance). */
    async decideCurrent(decision: 'accepted' | 'rejected'): Promise<void> {
      const candidate = this.current;
      if (!candidate) return;
      await this.decide(candidate.id, candidate.decision === decision ? 'none' : decision);
      if (candidate.decision !== decision) this.move(1);
    },
    /**
     * Accepts every candidate kept at τ that has no decision yet (the review's "these are right"), one request each;
     * answers how many were accepted.
     */
    async acceptAllKept(): Promise<number> {
      const pending = this.allRows.filter(
        (candidate) => candidate.exportable && candidate.decision === null && this.kept.has(candidate.id),
      );
      for (const candidate of pending) {
        try {
          this.replace(await api().decideCandidate({ candidateId: candidate.id, decision: 'accepted' }));
        } catch (error) {
          useAppStore().notify('error', `Review: ${errorMessage(error)}`);
          break;
        }
      }
      void useFilterStore().load();
      return pending.length;
    },
    async edit(candidateId: string, text: string): Promise<void> {
      try {
        this.replace(await api().editCandidate({ candidateId, text }));
        this.editing = null;
      } catch (error) {
        useAppStore().notify('error', `Edit: ${errorMessage(error)}`);
      }
    },
    async undo(): Promise<void> {
      try {
        const result = await api().undo();
        if (result.candidate) {
          this.replace(result.candidate);
          void useFilterStore().load();
          const i = this.rows.findIndex((row) => row.id === result.candidate!.id);
          if (i >= 0) this.cursor = i;
        } else useAppStore().notify('info', 'Nothing to undo');
      } catch (error) {
        useAppStore().notify('error', `Undo: ${errorMessage(error)}`);
      }
    },
  },
});
