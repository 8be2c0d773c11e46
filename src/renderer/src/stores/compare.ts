/**
 * Two candidates side by side: the picks (any two, from any mask or image) with what the comparison shows of each —
 * its crop (its own copy of the image and the mask's RLE, so stepping the workspace to another image changes
 * nothing), its scores and, for a sampled candidate, its stored trace for the heatmap.
 */
import { defineStore } from 'pinia';
import type { CandidateView } from '../../../shared/api.ts';
import type { CaptionTrace } from '../../../shared/caption.ts';
import type { Rle } from '../../../shared/rle.ts';
import { fixed } from '../lib/format.ts';
import { imageObjectUrl } from '../lib/image-url.ts';
import { api, errorMessage } from './api.ts';

/** One picked candidate and what its column shows. */
export interface ComparePick {
  candidate: CandidateView;
  imageUrl: string | null;
  rle: Rle | null;
  maskIndex: number | null;
  trace: CaptionTrace | null;
  /** Why there is no heatmap (beam search, or the trace failed to load); null while loading or when shown. */
  note: string | null;
}

/** The picks after toggling `id`: removed when picked, else added, the oldest dropped beyond two. */
export function togglePick<T extends { candidate: { id: string } }>(picks: readonly T[], pick: T): T[] {
  if (picks.some((p) => p.candidate.id === pick.candidate.id))
    return picks.filter((p) => p.candidate.id !== pick.candidate.id);
  return [...picks, pick].slice(-2);
}

/** The score rows of the comparison: each candidate's value and B − A (null when either is missing). */
export function scoreRows(
  a: Pick<CandidateView, 'uos' | 'cos' | 'dos'>,
  b: Pick<CandidateView, 'uos' | 'cos' | 'dos'>,
): { name: string; a: string; b: string; difference: string }[] {
  const row = (name: string, x: number | null, y: number | null, decimals: number) => ({
    name,
    a: fixed(x, decimals),
    b: fixed(y, decimals),
    difference:
      x === null || y === null ? '–' : `${y - x >= 0 ? '+' : '−'}${fixed(Math.abs(y - x), decimals)}`,
  });
  return [row('UoS', a.uos, b.uos, 3), row('CoS', a.cos, b.cos, 2), row('DoS', a.dos, b.dos, 3)];
}

export const useCompareStore = defineStore('compare', {
  state: () => ({
    picks: [] as ComparePick[],
    /** The side-by-side dialog is shown (with two picks). */
    open: false,
  }),
  actions: {
    /** Picks or unpicks a candidate; the second pick opens the comparison. */
    toggle(candidate: CandidateView): void {
      const before = this.picks;
      const pick: ComparePick = {
        candidate,
        imageUrl: null,
        rle: null,
        maskIndex: null,
        trace: null,
        note: null,
      };
      this.picks = togglePick(before, pick);
      for (const gone of before.filter((p) => !this.picked(p.candidate.id)))
        if (gone.imageUrl) URL.revokeObjectURL(gone.imageUrl);
      this.open = this.picks.length === 2;
      if (!this.picked(candidate.id)) return;
      const id = candidate.id;
      void Promise.all([
        api().getImage({ imageId: candidate.imageId }),
        api().listMasks({ imageId: candidate.imageId }),
      ])
        .then(([bytes, masks]) => {
          const mask = masks.find((m) => m.id === candidate.maskId);
          if (!this.picked(id)) return;
          this.update(id, {
            imageUrl: imageObjectUrl(bytes),
            rle: mask?.rle ?? null,
            maskIndex: mask?.index ?? null,
          });
        })
        .catch((error) => this.update(id, { note: `image: ${errorMessage(error)}` }));
      if (candidate.setting.kind === 'beam') {
        this.update(id, { note: 'beam search: no sampling trace (see its beam view)' });
        return;
      }
      void api()
        .getTrace({ candidateId: id })
        .then((stored) => this.update(id, { trace: stored.trace }))
        .catch((error) => this.update(id, { note: `trace: ${errorMessage(error)}` }));
    },
    /** Drops the picks (project switch). */
    clear(): void {
      for (const pick of this.picks) if (pick.imageUrl) URL.revokeObjectURL(pick.imageUrl);
      this.picks = [];
      this.open = false;
    },
    /** Sets fields of a pick still present (an answer for a pick since dropped is ignored). */
    update(id: string, fields: Partial<ComparePick>): void {
      const pick = this.picks.find((p) => p.candidate.id === id);
      if (pick) Object.assign(pick, fields);
    },
    picked(id: string): boolean {
      return this.picks.some((p) => p.candidate.id === id);
    },
  },
});
