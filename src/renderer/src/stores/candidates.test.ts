import { createPinia, setActivePinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import type { CandidateView } from '../../../shared/api.ts';
import { parseSettings } from '../../../shared/settings.ts';
import {
  cropLabel,
  cropOrder,
  decodingLabel,
  decodingOrder,
  groupRows,
  itemMembers,
  keptIds,
  matchesSearch,
  reviewedMembers,
  toggledDecision,
  useCandidatesStore,
} from './candidates.ts';
import { useFilterStore } from './filter.ts';
import { useSettingsStore } from './settings.ts';

function candidate(overrides: Partial<CandidateView>): CandidateView {
  return {
    id: 'c',
    maskId: 'm',
    imageId: 'i',
    crop: { kind: 'masked' },
    cropKey: 'masked',
    setting: { kind: 'top-k', k: 5, distinctive: true },
    settingKey: 'dcs-top-k-5',
    method: 'dcs',
    text: 'a red circle',
    editedText: null,
    uos: 1.2,
    cos: 25,
    dos: 1.4,
    singleMask: false,
    confusedWith: null,
    exportable: true,
    decision: null,
    ...overrides,
  };
}

describe('candidates table rules', () => {
  const policy = (overrides: object = {}) => ({
    tau: 1.3,
    singleMask: 'keep-all' as const,
    singleMaskShare: 0.5,
    emptyMask: 'drop' as const,
    seed: 0,
    ...overrides,
  });
  const kept = (list: CandidateView[], p = policy()) => [...keptIds(list, p)].sort();

  it('keeps a candidate when DoS > τ, and lets review decisions override it', () => {
    const list = [
      candidate({ id: '1:0:0', dos: 1.4 }),
      candidate({ id: '1:0:1', dos: 1.3 }),
      candidate({ id: '1:0:2', dos: 1.0, decision: 'accepted' }),
      candidate({ id: '1:0:3', dos: 2.0, decision: 'rejected' }),
    ];
    expect(kept(list)).toEqual(['1:0:0', '1:0:2']);
  });

  it('never keeps comparison-only candidates and follows the single-mask and empty-mask policies', () => {
    expect(kept([candidate({ id: '1:0:0', dos: 3, exportable: false })])).toEqual([]);
    const single = [
      candidate({ id: '2:0:0', dos: null, uos: null, cos: 30, singleMask: true }),
      candidate({ id: '2:0:1', dos: null, uos: null, cos: 20, singleMask: true }),
    ];
    expect(kept(single)).toEqual(['2:0:0', '2:0:1']);
    expect(kept(single, policy({ singleMask: 'keep-by-cos-rank' }))).toEqual(['2:0:0']);
    expect(kept(single, policy({ singleMask: 'drop' }))).toEqual([]);
    const low = [candidate({ id: '3:1:0', dos: 1.1 }), candidate({ id: '3:1:1', dos: 1.2 })];
    expect(kept(low)).toEqual([]);
    expect(kept(low, policy({ emptyMask: 'keep-best' }))).toEqual(['3:1:1']);
  });

  it('orders crops as the reference (masked, then margins ascending) and decodings beam → DCS k → DCS p → plain', () => {
    const rows = [
      candidate({
        crop: { kind: 'box', margin: 1.2 },
        setting: { kind: 'beam', beams: 6, groups: 3, scoring: 'raw-logits' },
      }),
      candidate({
        crop: { kind: 'box', margin: 1.0 },
        setting: { kind: 'top-p', p: 0.4, distinctive: false },
      }),
      candidate({
        crop: { kind: 'box', margin: 1.0 },
        setting: { kind: 'top-p', p: 0.8, distinctive: true },
      }),
      candidate({ crop: { kind: 'box', margin: 1.0 }, setting: { kind: 'top-k', k: 13, distinctive: true } }),
      candidate({ crop: { kind: 'masked' }, setting: { kind: 'top-k', k: 5, distinctive: true } }),
    ];
    const sorted = [...rows].sort(
      (a, b) => cropOrder(a) - cropOrder(b) || decodingOrder(a) - decodingOrder(b),
    );
    expect(sorted.map((c) => `${cropLabel(c)} ${decodingLabel(c)}`)).toEqual([
      'masked crop DCS k=5',
      'box crop ×1.0 DCS k=13',
      'box crop ×1.0 DCS p=0.8',
      'box crop ×1.0 plain p=0.4',
      'box crop ×1.2 beam',
    ]);
  });
});

describe('duplicate caption groups', () => {
  const rows = [
    candidate({
      id: '1:0:0',
      text: 'a red circle',
      setting: { kind: 'beam', beams: 3, groups: 1, scoring: 'raw-logits' },
    }),
    candidate({ id: '1:0:1', text: 'the blue square' }),
    candidate({ id: '1:0:2', text: 'A  red circle', crop: { kind: 'box', margin: 1.1 }, dos: 0.8 }),
    candidate({ id: '1:0:3', text: 'a green star', editedText: 'a red circle', decision: 'accepted' }),
  ];
  const lines = (expanded: string[] = []) =>
    groupRows(rows, new Set(expanded)).map((item) =>
      item.kind === 'group'
        ? `group ${item.members.map((m) => m.id).join(',')}`
        : `${item.kind} ${item.candidate.id}`,
    );

  it('collapses equal captions (case, spaces and edits included) into one line at the first member', () => {
    expect(lines()).toEqual(['group 1:0:0,1:0:2,1:0:3', 'single 1:0:1']);
  });

  it('lists an expanded group’s members, each on its own line, right after it', () => {
    expect(lines(['a red circle'])).toEqual([
      'group 1:0:0,1:0:2,1:0:3',
      'member 1:0:0',
      'member 1:0:2',
      'member 1:0:3',
      'single 1:0:1',
    ]);
    const [group] = groupRows(rows, new Set());
    expect(itemMembers(group).map((m) => m.id)).toEqual(['1:0:0', '1:0:2', '1:0:3']);
  });

  it('reviews a group through its exportable members only (plain-sampling comparison rows are never kept)', () => {
    const mixed = [rows[0], candidate({ id: '1:0:9', text: 'a red circle', exportable: false })];
    const [group] = groupRows(mixed, new Set());
    expect(itemMembers(group).map((m) => m.id)).toEqual(['1:0:0', '1:0:9']);
    expect(reviewedMembers(group).map((m) => m.id)).toEqual(['1:0:0']);
    const [single] = groupRows([mixed[1]], new Set());
    expect(reviewedMembers(single).map((m) => m.id)).toEqual(['1:0:9']);
  });

  it('sets a group decision on every member, and clears it only when every member has it', () => {
    expect(toggledDecision(rows.slice(0, 3), 'accepted')).toBe('accepted');
    expect(toggledDecision(rows, 'accepted')).toBe('accepted');
    expect(toggledDecision([{ decision: 'accepted' }, { decision: 'accepted' }], 'accepted')).toBe('none');
    expect(toggledDecision([{ decision: 'accepted' }, { decision: 'accepted' }], 'rejected')).toBe(
      'rejected',
    );
  });
});

describe("the page's keep policy comes from the project's saved settings, seed included", () => {
  it("draws the empty mask's caption by the saved seed, as the engine does, in the table", () => {
    setActivePinia(createPinia());
    const settings = useSettingsStore();
    const filter = useFilterStore();
    const candidates = useCandidatesStore();
    // mask 4:1 of a two-mask image has no caption above τ = 1.3: its open candidates are 2, 4 and 5 (3 rejected)
    candidates.list = [
      candidate({ id: '4:1:2', dos: 1.1 }),
      candidate({ id: '4:1:3', dos: 0.9, decision: 'rejected' }),
      candidate({ id: '4:1:4', dos: 1.2 }),
      candidate({ id: '4:1:5', dos: 1.0 }),
    ];
    filter.setTau(1.3);
    // shared/decide.test.ts hand-checks the draw: seed 7 → position 1 (candidate 4), seed 2 → position 0 (2)
    for (const [seed, drawn] of [
      [7, '4:1:4'],
      [2, '4:1:2'],
    ] as const) {
      settings.saved = parseSettings({ seed, filter: { emptyMask: 'random' } });
      expect(filter.policy.seed).toBe(seed);
      // the slider's count is the engine's now (src/engine/service/scale.test.ts, shared/kept-counter.test.ts)
      expect([...candidates.kept]).toEqual([drawn]);
    }
  });
});

describe('caption search', () => {
  it('matches when every word of the query occurs in the caption, case and spacing ignored', () => {
    const c = candidate({ text: 'a Red  circle' });
    expect(matchesSearch(c, 'red ci')).toBe(true);
    expect(matchesSearch(c, '  CIRCLE ')).toBe(true);
    expect(matchesSearch(c, 'red square')).toBe(false);
    expect(matchesSearch(c, '')).toBe(true);
  });

  it('searches the edited text and the generated one', () => {
    const c = candidate({ text: 'a red circle', editedText: 'the left ball' });
    expect(matchesSearch(c, 'left')).toBe(true);
    expect(matchesSearch(c, 'circle')).toBe(true);
  });

  it('narrows the table together with the other filters', () => {
    setActivePinia(createPinia());
    const store = useCandidatesStore();
    store.list = [
      candidate({ id: 'a', text: 'a red circle', method: 'dcs' }),
      candidate({
        id: 'b',
        text: 'a red square',
        method: 'beam',
        setting: { kind: 'beam', beams: 6, groups: 3, scoring: 'raw-logits' },
      }),
      candidate({ id: 'c', text: 'a blue circle', method: 'dcs' }),
    ];
    store.filters.search = 'red';
    expect(store.rows.map((r) => r.id).sort()).toEqual(['a', 'b']);
    store.filters.method = 'dcs';
    expect(store.rows.map((r) => r.id)).toEqual(['a']);
  });
});
