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

/**
 * Whether a caption matches a search: every word of `query` occurs in it (case and spacing ignored, edited text when
 * there is one, generated text too), so "red ci" finds "a red circle". An empty query matches everything.
 */
export function matchesSearch(candidate: Pick<CandidateView, 'text' | 'editedText'>, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const texts = [normalizedText(candidate), candidate.text.toLowerCase()];
  return words.every((word) => texts.some((text) => text.includes(word)));
}

/**
 * One line of the candidates table: a candidate whose caption is unique among the rows shown, a group of candidates
 * with the same caption (collapsed into one line with a count; its review applies to every member), or, while its
 * group is expanded, one member of a group (its own decoding, crop and DoS, reviewed on its own).
 */
export type CandidateItem =
  | { kind: 'single'; key: string; candidate: CandidateView }
  | { kind: 'group'; key: string; candidate: CandidateView; members: CandidateView[] }
  | { kind: 'member'; key: string; candidate: CandidateView; group: string };

/**
 * The table's lines from its rows (in table order): rows with the same normalized caption collapse into one group
 * line at the first member's place; an expanded group (its key in `expanded`) is followed by its members.
 */
export function groupRows(rows: readonly CandidateView[], expanded: ReadonlySet<string>): CandidateItem[] {
  const byText = new Map<string, CandidateView[]>();
  for (const row of rows) {
    const key = normalizedText(row);
    const members = byText.get(key);
    if (members) members.push(row);
    else byText.set(key, [row]);
  }
  const items: CandidateItem[] = [];
  for (const [key, members] of byText) {
    if (members.length === 1) {
      items.push({ kind: 'single', key: members[0].id, candidate: members[0] });
      continue;
    }
    items.push({ kind: 'group', key, candidate: members[0], members });
    if (expanded.has(key))
      for (const member of members)
        items.push({ kind: 'member', key: member.id, candidate: member, group: key });
  }
  return items;
}

/** The candidates of a line: a group's members, else the one candidate. */
export function itemMembers(item: CandidateItem): CandidateView[] {
  return item.kind === 'group' ? item.members : [item.candidate];
}

/**
 * The candidates a review of `item` changes: a group's exportable members (its plain-sampling comparison rows are
 * never kept, so a decision on them would mean nothing), else the one candidate.
 */
export function reviewedMembers(item: CandidateItem): CandidateView[] {
  if (item.kind !== 'group') return [item.candidate];
  const exportable = item.members.filter((m) => m.exportable);
  return exportable.length > 0 ? exportable : item.members;
}

/**
 * What pressing accept or reject on a line sets: the decision, or `none` (clear) when every candidate of the line has
 * it already — the same toggle as on one candidate.
 */
export function toggledDecision(
  members: readonly Pick<CandidateView, 'decision'>[],
  decision: 'accepted' | 'rejected',
): 'accepted' | 'rejected' | 'none' {
  return members.length > 0 && members.every((m) => m.decision === decision) ? 'none' : decision;
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
    /** Keys (normalized captions) of the duplicate groups shown expanded. */
    expanded: [] as string[],
    /** Review filters: caption search, decoding method, crop (its cropKey), kept at τ only, not reviewed only. */
    filters: {
      search: '',
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
          matchesSearch(candidate, f.search) &&
          (f.method === 'all' || candidate.method === f.method) &&
          (f.crop === 'all' || candidate.cropKey === f.crop) &&
          (!f.keptOnly || this.kept.has(candidate.id)) &&
          (!f.unreviewedOnly || candidate.decision === null),
      );
    },
    /** How many candidates of the mask carry the same text (normalized), shown or not. */
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
    /** The table's lines: unique captions, duplicate groups and the members of expanded groups. */
    items(state): CandidateItem[] {
      return groupRows(this.rows, new Set(state.expanded));
    },
    /** The line under the cursor. */
    currentItem(): CandidateItem | null {
      return this.items[this.cursor] ?? null;
    },
    /** The candidate under the cursor (a group's first member for a group line). */
    current(): CandidateView | null {
      return this.currentItem?.candidate ?? null;
    },
  },
  actions: {
    async openMask(imageId: string, maskId: string): Promise<void> {
      this.imageId = imageId;
      this.maskId = maskId;
      this.cursor = 0;
      this.editing = null;
      this.expanded = [];
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
    /** Shows image `imageId` with no mask open (an image without masks, reached by stepping through images). */
    showImageWithoutMasks(imageId: string): void {
      this.imageId = imageId;
      this.maskId = null;
      this.list = [];
      this.cursor = 0;
      this.expanded = [];
      this.loading = false;
    },
    replace(candidate: CandidateView): void {
      const i = this.list.findIndex((item) => item.id === candidate.id);
      if (i >= 0) this.list[i] = candidate;
    },
    /** Expands or collapses the duplicate group `key` (the cursor stays on its line). */
    toggleGroup(key: string): void {
      const line = this.currentItem?.key;
      this.expanded = this.expanded.includes(key)
        ? this.expanded.filter((k) => k !== key)
        : [...this.expanded, key];
      const i = this.items.findIndex((item) => item.key === line);
      this.cursor = i >= 0 ? i : Math.min(this.cursor, Math.max(0, this.items.length - 1));
    },
    move(delta: number): void {
      const n = this.items.length;
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
    /**
     * One decision for several candidates (a duplicate group, "accept every kept"): one request and one undo step.
     * Answers whether it was applied.
     */
    async decideMany(candidateIds: string[], decision: 'accepted' | 'rejected' | 'none'): Promise<boolean> {
      if (candidateIds.length === 0) return true;
      try {
        for (const view of await api().decideCandidates({ candidateIds, decision })) this.replace(view);
        void useFilterStore().load();
        return true;
      } catch (error) {
        useAppStore().notify('error', `Review: ${errorMessage(error)}`);
        return false;
      }
    },
    /** Toggles a decision on a line: a group's applies to every member (pressing `a` twice clears the acceptance). */
    async decideItem(item: CandidateItem, decision: 'accepted' | 'rejected'): Promise<void> {
      const members = reviewedMembers(item);
      const next = toggledDecision(members, decision);
      if (item.kind === 'group')
        await this.decideMany(
          members.map((m) => m.id),
          next,
        );
      else await this.decide(item.candidate.id, next);
    },
    /** Toggles a decision on the current line, then moves on when it was set (not cleared). */
    async decideCurrent(decision: 'accepted' | 'rejected'): Promise<void> {
      const item = this.currentItem;
      if (!item) return;
      const next = toggledDecision(reviewedMembers(item), decision);
      await this.decideItem(item, decision);
      if (next !== 'none') this.move(1);
    },
    /**
     * Accepts every candidate kept at τ that has no decision yet (the review's "these are right"), one request each;
     * answers how many were accepted.
     */
    async acceptAllKept(): Promise<number> {
      const pending = this.allRows.filter(
        (candidate) => candidate.exportable && candidate.decision === null && this.kept.has(candidate.id),
      );
      // one request and one undo step for all of them
      const done = await this.decideMany(
        pending.map((candidate) => candidate.id),
        'accepted',
      );
      return done ? pending.length : 0;
    },
    async edit(candidateId: string, text: string): Promise<void> {
      try {
        this.replace(await api().editCandidate({ candidateId, text }));
        this.editing = null;
      } catch (error) {
        useAppStore().notify('error', `Edit: ${errorMessage(error)}`);
      }
    },
    /** Edits a line's caption: a group's edit applies to every member (one request and one undo step each). */
    async editItem(item: CandidateItem, text: string): Promise<void> {
      for (const member of itemMembers(item)) await this.edit(member.id, text);
    },
    async undo(): Promise<void> {
      try {
        const result = await api().undo();
        if (result.candidate) {
          for (const view of result.candidates?.length ? result.candidates : [result.candidate])
            this.replace(view);
          void useFilterStore().load();
          // the cursor goes to the line that changed back (a group's line when a group decision was undone)
          const id = result.candidate.id;
          const i = this.items.findIndex((item) => itemMembers(item).some((m) => m.id === id));
          if (i >= 0) this.cursor = i;
        } else useAppStore().notify('info', 'Nothing to undo');
      } catch (error) {
        useAppStore().notify('error', `Undo: ${errorMessage(error)}`);
      }
    },
  },
});
