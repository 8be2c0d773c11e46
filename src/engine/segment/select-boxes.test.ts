import { describe, expect, it } from 'vitest';
import { polygonsToMask, type BinaryMask } from '../image/index.ts';
import { boxPixels, selectByDetections, type Detection } from './select-boxes.ts';

const W = 6;
const H = 4;

/** A W×H mask set on the pixels x ∈ [x0, x1), y ∈ [y0, y1). */
function rect(x0: number, x1: number, y0: number, y1: number): BinaryMask {
  const data = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * W + x] = 1;
  return { width: W, height: H, data };
}

// SAM masks in the generator's order:
//   P0 = columns 0–1, all rows (8 px); P1 = columns 2–5, rows 0–1 (8 px); P2 = columns 3–5, all rows (12 px)
const proposals = [rect(0, 2, 0, 4), rect(2, 6, 0, 2), rect(3, 6, 0, 4)].map((mask, id) => ({ id, mask }));

describe('selecting SAM masks with detections, as the released code does', () => {
  it('gives each detection the SAM mask of largest overlap: duplicates kept, the first on a tie, mask 0 for none, no cap', () => {
    const detections: Detection[] = [
      // box pixels x 0–2, y 0–1: P0 shares 4, P1 shares 2 (column 2), P2 none → P0
      { sourceId: 'a', bbox: [0, 0, 3, 2], score: 0.9 },
      // x from ceil(2.6 − 0.5) = 3 to ceil(6 − 0.5) − 1 = 5, all rows: P1 shares 6, P2 shares 12 → P2
      { sourceId: 'b', bbox: [2.6, 0, 3.4, 4], score: 0.8 },
      // its own mask x 3–5, y 0–1 (6 px): P1 and P2 both share 6 → the first, P1
      { sourceId: 'c', bbox: [3, 0, 3, 2], score: 0.7, mask: rect(3, 6, 0, 2) },
      // score 0.5 is not above 0.5: ignored
      { sourceId: 'd', bbox: [0, 0, 6, 4], score: 0.5 },
      // x 2, y 2–3: no SAM mask there → all zeros → mask 0 (torch.argmax)
      { sourceId: 'e', bbox: [2, 2, 1, 2], score: 0.6 },
      // no score: always used; the same box as b → P2 again
      { sourceId: 'f', bbox: [2.6, 0, 3.4, 4] },
      // reaches past the image: clipped to x 4–5, y 3 → P2 shares 2
      { sourceId: 'g', bbox: [4, 3, 10, 10], score: 0.55 },
    ];
    const { selected, matches, decisions } = selectByDetections(proposals, detections, { minScore: 0.5 });
    // by score, best first (CutLER's order), the unscored f last
    expect(matches.map((m) => [m.sourceId, m.proposal, m.overlap, m.measure])).toEqual([
      ['a', 0, 4, 'box'],
      ['b', 2, 12, 'box'],
      ['c', 1, 6, 'mask'],
      ['e', 0, 0, 'box'],
      ['g', 2, 2, 'box'],
      ['f', 2, 12, 'box'],
    ]);
    // six masks for six detections: P2 three times, P0 twice
    expect(selected.map((p) => p.id)).toEqual([0, 2, 1, 0, 2, 2]);
    expect(selected[1]).toBe(selected[5]);
    expect(decisions.map((d) => d.used)).toEqual([true, true, true, false, true, true, true]);
    expect(decisions[2].reason).toBe('selects SAM mask 1 (6 px shared with its mask), the first of 2 tied');
    expect(decisions[3].reason).toBe('ignored: score 0.5 is not above 0.5');
    expect(decisions[4].reason).toBe(
      "overlaps no SAM mask: takes SAM mask 0, as the released code's argmax does",
    );
    expect(decisions[0].reason).toBe('selects SAM mask 0 (4 px shared with its box)');
  });

  it('counts the pixels whose centres lie in a box, as the polygon rasterizer fills the same rectangle', () => {
    expect(boxPixels([0.4, 0.6, 1.2, 1], { width: W, height: H })).toEqual({ x0: 0, y0: 1, x1: 2, y1: 2 });
    expect(boxPixels([-3, -3, 2, 2], { width: W, height: H })).toBeNull();
    expect(boxPixels([6, 0, 1, 1], { width: W, height: H })).toBeNull();
    for (const [x, y, w, h] of [
      [0.4, 0.6, 1.2, 1],
      [1.5, 0.5, 3, 2.9],
      [0, 0, 6, 4],
      [2.49, 1.51, 0.2, 1],
    ]) {
      const polygon = polygonsToMask([[x, y, x + w, y, x + w, y + h, x, y + h]], { width: W, height: H });
      const range = boxPixels([x, y, w, h], { width: W, height: H });
      const fromRange = range ? rect(range.x0, range.x1, range.y0, range.y1) : rect(0, 0, 0, 0);
      expect(Array.from(fromRange.data), `box ${[x, y, w, h]}`).toEqual(Array.from(polygon.data));
    }
  });

  it('takes detections by score whatever the file order (stable on equal scores)', () => {
    const detections: Detection[] = [
      { sourceId: 'low', bbox: [0, 0, 2, 4], score: 0.6 },
      { sourceId: 'high', bbox: [3, 0, 3, 4], score: 0.95 },
      { sourceId: 'tie-1', bbox: [2, 0, 4, 2], score: 0.8 },
      { sourceId: 'tie-2', bbox: [0, 0, 2, 4], score: 0.8 },
    ];
    const { matches, selected } = selectByDetections(proposals, detections, { minScore: 0.5 });
    expect(matches.map((m) => m.sourceId)).toEqual(['high', 'tie-1', 'tie-2', 'low']);
    expect(selected.map((p) => p.id)).toEqual([2, 1, 0, 0]);
  });

  it('selects nothing without SAM masks; a box covering no pixel takes SAM mask 0; refuses a mask of another size', () => {
    const none = selectByDetections([], [{ sourceId: 'a', bbox: [0, 0, 1, 1], score: 0.9 }], {
      minScore: 0.5,
    });
    expect(none.selected).toEqual([]);
    expect(none.decisions[0]).toMatchObject({ used: false, reason: 'no SAM mask was generated to match' });
    // the released overlap of an empty box is 0 with every SAM mask: argmax → 0
    const outside = selectByDetections(proposals, [{ sourceId: 'annotation 7', bbox: [10, 10, 2, 2] }], {
      minScore: 0.5,
    });
    expect(outside.selected.map((p) => p.id)).toEqual([0]);
    expect(outside.matches[0]).toMatchObject({ proposal: 0, overlap: 0 });
    expect(outside.decisions[0].reason).toBe(
      "overlaps no SAM mask: takes SAM mask 0, as the released code's argmax does",
    );
    const small = { width: 2, height: 2, data: new Uint8Array(4).fill(1) };
    expect(() =>
      selectByDetections(proposals, [{ sourceId: 'x', bbox: [0, 0, 1, 1], mask: small }], { minScore: 0.5 }),
    ).toThrow('detection x is 2×2 but the SAM masks are 6×4');
  });
});
