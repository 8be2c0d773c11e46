import { describe, expect, it } from 'vitest';
import { encodeRle, maskToRings, type BinaryMask, type Polygon } from '../../image/index.ts';
import { decodeLikeAnnToMask, decodeLikeReferPy, rleFrPoly } from './coco-decode.ts';
import { cocoSegmentation, decodesTo } from './segmentation.ts';

/** A mask from rows of '#' (inside) and '.' (outside). */
function draw(...rows: string[]): BinaryMask {
  const width = rows[0].length;
  const data = new Uint8Array(width * rows.length);
  rows.forEach((row, y) => [...row].forEach((c, x) => (data[y * width + x] = c === '#' ? 1 : 0)));
  return { width, height: rows.length, data };
}

/** A pseudo-random blob mask (seeded LCG), SAM-like noise with holes and specks. */
function noise(width: number, height: number, seed: number, density = 0.45): BinaryMask {
  let s = seed;
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s / 2147483648 < density ? 1 : 0;
  }
  return { width, height, data };
}

const CORPUS: Record<string, BinaryMask> = {
  'a one-pixel hole': draw('.....', '.###.', '.#.#.', '.###.', '.....'),
  'a nested hole with an island': draw(
    '#########',
    '#.......#',
    '#.#####.#',
    '#.#...#.#',
    '#.#.#.#.#',
    '#.#...#.#',
    '#.#####.#',
    '#.......#',
    '#########',
  ),
  'two parts': draw('##....', '##....', '....##', '....##'),
  'two parts touching at a corner': draw('##..', '##..', '..##', '..##'),
  'one-pixel parts': draw('#.#.#', '.....', '#...#'),
  'a part with a hole beside a one-pixel part, touching the borders': draw('###.#', '#.#..', '###.#'),
  'a full image': draw('###', '###'),
  'a diagonal chain': draw('#...', '.#..', '..#.', '...#'),
  'noise 17×13 (seed 1)': noise(17, 13, 1),
  'noise 23×19 (seed 2)': noise(23, 19, 2),
  'noise 31×8 (seed 3)': noise(31, 8, 3),
};

describe('the two COCO decoders, as re-implemented', () => {
  it('rasterize pixel-corner polygons the way formats.md §1.3 documents rleFrPoly', () => {
    // the square [2,1, 5,1, 5,3, 2,3] covers x ∈ {2,3,4}, y ∈ {1,2} on a 4×6 image: column-major runs
    expect(rleFrPoly([2, 1, 5, 1, 5, 3, 2, 3], 4, 6)).toEqual([9, 2, 2, 2, 2, 2, 5]);
  });

  it('fail where the Python code fails: a bare RLE dict in refer.py, a compressed RLE in a list in annToMask', () => {
    const mask = CORPUS['a one-pixel hole'];
    const rle = encodeRle(mask);
    expect(() => decodeLikeReferPy(rle, 5, 5)).toThrow('KeyError: 0');
    expect(() => decodeLikeAnnToMask([rle], 5, 5)).toThrow('ValueError: invalid literal for int()');
    // each decodes its own RLE form
    expect(Array.from(decodeLikeReferPy([rle], 5, 5).data)).toEqual(Array.from(mask.data));
    expect(Array.from(decodeLikeAnnToMask(rle, 5, 5).data)).toEqual(Array.from(mask.data));
  });

  it("sum overlapping polygons in refer.py's rule and union them in annToMask's", () => {
    const square = [0, 0, 2, 0, 2, 2, 0, 2];
    expect(decodeLikeReferPy([square, square], 3, 3).data[0]).toBe(2);
    expect(decodeLikeAnnToMask([square, square], 3, 3).data[0]).toBe(1);
  });
});

describe('the exported segmentation', () => {
  for (const [name, mask] of Object.entries(CORPUS)) {
    it(`decodes to the mask under both refer.py and pycocotools rules: ${name}`, () => {
      const segmentation = cocoSegmentation(mask, name);
      expect(Array.isArray(segmentation[0])).toBe(true);
      expect(segmentation[0].length).toBeGreaterThan(4); // never read as a box by frPyObjects
      expect(decodesTo(segmentation, mask)).toBe(true);
    });
  }

  it('writes one polygon per mask, whatever its parts and holes', () => {
    expect(cocoSegmentation(CORPUS['two parts'], 'x')).toHaveLength(1);
    expect(cocoSegmentation(CORPUS['a nested hole with an island'], 'x')).toHaveLength(1);
    expect(cocoSegmentation(CORPUS['a full image'], 'x')).toEqual([[0, 0, 3, 0, 3, 2, 0, 2]]);
  });

  it('says a mask of more than 1,000 parts as one polygon (pycocotools mask.area overflows past 255)', () => {
    const specks = noise(120, 90, 7, 0.2);
    const parts = maskToRings(specks).filter((ring) => signedArea(ring) > 0).length;
    expect(parts).toBeGreaterThan(1000);
    const segmentation = cocoSegmentation(specks, 'specks');
    expect(segmentation).toHaveLength(1);
    expect(decodesTo(segmentation, specks)).toBe(true);
  });

  it('refuses an empty mask', () => {
    expect(() => cocoSegmentation(draw('..', '..'), 'image 3 mask 1')).toThrow(
      'image 3 mask 1: the mask is empty; it cannot be exported',
    );
  });
});

/** Shoelace area with y down: outer boundaries positive, holes negative. */
function signedArea(polygon: Polygon): number {
  let sum = 0;
  const n = polygon.length / 2;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    sum += polygon[2 * i] * polygon[2 * j + 1] - polygon[2 * j] * polygon[2 * i + 1];
  }
  return sum / 2;
}
