import { describe, expect, it } from 'vitest';
import type { CandidateView } from '../../../shared/api.ts';
import { cropLabel, cropOrder, decodingLabel, decodingOrder, keptAt } from './candidates.ts';

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
  it('keeps a candidate when DoS > τ, and lets review decisions override it', () => {
    expect(keptAt(candidate({ dos: 1.4 }), 1.3)).toBe(true);
    expect(keptAt(candidate({ dos: 1.3 }), 1.3)).toBe(false);
    expect(keptAt(candidate({ dos: 1.0, decision: 'accepted' }), 1.3)).toBe(true);
    expect(keptAt(candidate({ dos: 2.0, decision: 'rejected' }), 1.3)).toBe(false);
  });

  it('never keeps comparison-only candidates and keeps single-mask ones (no ratio)', () => {
    expect(keptAt(candidate({ dos: 3, exportable: false }), 1.3)).toBe(false);
    expect(keptAt(candidate({ dos: null, uos: null, singleMask: true }), 1.3)).toBe(true);
  });

  it('orders crops as the reference (masked, then margins ascending) and decodings beam → DCS k → DCS p → plain', () => {
    const rows = [
      candidate({ crop: { kind: 'box', margin: 1.2 }, setting: { kind: 'beam', beams: 6, groups: 3, scoring: 'raw-logits' } }),
      candidate({ crop: { kind: 'box', margin: 1.0 }, setting: { kind: 'top-p', p: 0.4, distinctive: false } }),
      candidate({ crop: { kind: 'box', margin: 1.0 }, setting: { kind: 'top-p', p: 0.8, distinctive: true } }),
      candidate({ crop: { kind: 'box', margin: 1.0 }, setting: { kind: 'top-k', k: 13, distinctive: true } }),
      candidate({ crop: { kind: 'masked' }, setting: { kind: 'top-k', k: 5, distinctive: true } }),
    ];
    const sorted = [...rows].sort((a, b) => cropOrder(a) - cropOrder(b) || decodingOrder(a) - decodingOrder(b));
    expect(sorted.map((c) => `${cropLabel(c)} ${decodingLabel(c)}`)).toEqual([
      'masked crop DCS k=5',
      'box crop ×1.0 DCS k=13',
      'box crop ×1.0 DCS p=0.8',
      'box crop ×1.0 plain p=0.4',
      'box crop ×1.2 beam',
    ]);
  });
});
