/**
 * The candidates of one mask: review state (accept / reject / edit), a cursor for keyboard review, and undo via the
 * engine (`candidates:undo`, which records decisions). Kept-ness is derived here from DoS and the shared τ.
 */
import { defineStore } from 'pinia';
import type { CandidateView } from '../../../shared/api.ts';
import { isKept } from '../lib/tau.ts';
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

/** Kept at τ: DoS > τ; single-mask candidates are kept (the default `keep-all` policy). */
export function keptAt(candidate: CandidateView, tau: number): boolean {
  if (!candidate.exportable) return false;
  if (candidate.decision === 'rejected') return false;
  if (candidate.decision === 'accepted') return true;
  return isKept(candidate.dos, tau) ?? candidate.singleMask;
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
  }),
  getters: {
    /** Rows in table order: grouped by crop, then decoding. */
    rows(state): CandidateView[] {
      return state.list
        .filter((candidate) => state.showComparison || candidate.exportable)
        .sort((a, b) => cropOrder(a) - cropOrder(b) || decodingOrder(a) - decodingOrder(b));
    },
    keptCount(): number {
      const tau = useFilterStore().tau;
      return this.rows.filter((candidate) => keptAt(candidate, tau)).length;
    },
    exportableCount(): number {
      return this.rows.filter((candidate) => candidate.exportable).length;
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
          const i = this.rows.findIndex((row) => row.id === result.candidate!.id);
          if (i >= 0) this.cursor = i;
        } else useAppStore().notify('info', 'Nothing to undo');
      } catch (error) {
        useAppStore().notify('error', `Undo: ${errorMessage(error)}`);
      }
    },
  },
});
