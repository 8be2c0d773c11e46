import { describe, expect, it } from 'vitest';
import type { BinaryMask } from '../image/types.ts';
import { selectMasks, type SelectableMask } from './select.ts';

const W = 100;
const H = 80;

function rect(x0: number, y0: number, x1: number, y1: number): BinaryMask {
  const data = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * W + x] = 1;
  return { width: W, height: H, data };
}

function proposal(id: number, mask: BinaryMask, predictedIou: number, stability = 1): SelectableMask {
  return { id, mask, area: mask.data.reduce((s, v) => s + v, 0), predictedIou, stability };
}

describe('selectMasks', () => {
  it('keeps separate objects ranked by predicted IoU × stability', () => {
    const { selected, decisions } = selectMasks([
      proposal(0, rect(10, 10, 20, 20), 0.9),
      proposal(1, rect(40, 10, 50, 20), 0.95, 0.98),
    ]);
    expect(selected.map((s) => s.id)).toEqual([1, 0]);
    expect(decisions[1]).toMatchObject({ kept: true, rank: 0 });
    expect(decisions[1].reason).toBe('kept: rank 1 of 2 by score 0.931 (IoU 0.950 × stability 0.980)');
  });

  it('drops background: masks touching 3 borders and masks covering most of the image', () => {
    const { decisions } = selectMasks([
      proposal(0, rect(0, 0, 100, 30), 0.99),
      proposal(1, rect(5, 5, 95, 75), 0.99),
      proposal(2, rect(40, 40, 50, 50), 0.9),
    ]);
    expect(decisions[0].reason).toBe('dropped: touches 3 image borders: background');
    expect(decisions[1].reason).toBe(
      'dropped: too large (78.8 % of the image > 75.0 %): background or scene',
    );
    expect(decisions[2].kept).toBe(true);
  });

  it('drops tiny specks', () => {
    const { decisions } = selectMasks([proposal(0, rect(40, 40, 42, 42), 0.99)]);
    expect(decisions[0].reason).toBe('dropped: too small (0.05 % of the image < 0.10 %)');
  });

  it('prefers the whole object over a part, whichever comes first', () => {
    const whole = rect(10, 10, 40, 40);
    const part = rect(10, 10, 25, 40);
    // The part scores higher: it is kept first, then replaced by the whole (score within the margin).
    const first = selectMasks([proposal(0, part, 0.97), proposal(1, whole, 0.93)]);
    expect(first.selected.map((s) => s.id)).toEqual([1]);
    expect(first.decisions[0].reason).toBe(
      'dropped: part of mask 1 (100.0 % inside it), replaced by the whole',
    );
    // The whole scores higher: the part is dropped as part of it.
    const second = selectMasks([proposal(0, part, 0.9), proposal(1, whole, 0.95)]);
    expect(second.selected.map((s) => s.id)).toEqual([1]);
    expect(second.decisions[0].reason).toBe('dropped: part of mask 1 (100.0 % inside it)');
  });

  it('keeps the part when the would-be whole scores clearly worse', () => {
    const { selected, decisions } = selectMasks([
      proposal(0, rect(10, 10, 25, 40), 0.99),
      proposal(1, rect(10, 10, 40, 40), 0.6),
    ]);
    expect(selected.map((s) => s.id)).toEqual([0]);
    expect(decisions[1].reason).toBe(
      'dropped: contains mask 0 whose score is clearly higher (0.990 vs 0.600)',
    );
  });

  it('drops a mask covering two kept objects as a group', () => {
    const { decisions } = selectMasks([
      proposal(0, rect(10, 10, 20, 20), 0.99),
      proposal(1, rect(30, 10, 40, 20), 0.99),
      proposal(2, rect(5, 5, 45, 25), 0.97),
    ]);
    expect(decisions[2].reason).toBe('dropped: covers 2 kept masks (0, 1): a group or background');
  });

  it('drops near-duplicates and caps at K with a reason', () => {
    const masks = [proposal(0, rect(10, 10, 20, 20), 0.99), proposal(1, rect(11, 10, 21, 20), 0.98)];
    for (let i = 0; i < 6; i++)
      masks.push(proposal(2 + i, rect(30 + 10 * i, 50, 37 + 10 * i, 60), 0.9 - i * 0.01));
    const { selected, decisions } = selectMasks(masks, { maxMasks: 3 });
    expect(decisions[1].reason).toMatch(/^dropped: duplicate of mask 0 \(IoU 0\.\d\d\)$/);
    expect(selected.map((s) => s.id)).toEqual([0, 2, 3]);
    expect(decisions[4].reason).toBe('dropped: beyond the cap of 3 masks (rank 4)');
    expect(decisions.every((d) => d.reason.length > 0)).toBe(true);
  });

  it('rejects a bad K', () => {
    expect(() => selectMasks([], { maxMasks: 0 })).toThrow('maxMasks must be a positive integer, got 0');
  });
});
