import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { segmentationToMask } from '../segment/import.ts';
import { polygonsToMask } from './polygon.ts';
import { decodeRle } from './rle.ts';
import { polygonsToMaskLikePycocotools } from './rle-poly.ts';

// Real pycocotools output: annToMask's decode(merge(frPyObjects(polygons))) of float polygons (stars, random
// self-intersecting ones, several per annotation, some past the image border), as compressed RLE.
const golden = JSON.parse(
  readFileSync(new URL('./fixtures/ann-to-mask-golden.json', import.meta.url), 'utf8'),
) as {
  cases: Array<{ width: number; height: number; segmentation: number[][]; counts: string; area: number }>;
};

describe('polygons as pycocotools rasterises them', () => {
  it('give the mask COCO.annToMask gives, pixel for pixel', () => {
    expect(golden.cases).toHaveLength(24);
    for (const c of golden.cases) {
      const size = { width: c.width, height: c.height };
      const expected = Array.from(decodeRle({ size: [c.height, c.width], counts: c.counts }).data);
      expect(Array.from(polygonsToMaskLikePycocotools(c.segmentation, size).data)).toEqual(expected);
      // an imported COCO annotation is that mask
      expect(Array.from(segmentationToMask(c.segmentation, size).data)).toEqual(expected);
    }
  });

  it('differ from centre sampling along edges (what the import did before)', () => {
    let differing = 0;
    for (const c of golden.cases) {
      const size = { width: c.width, height: c.height };
      const expected = decodeRle({ size: [c.height, c.width], counts: c.counts }).data;
      const centre = polygonsToMask(c.segmentation, size).data;
      differing += centre.reduce((n, v, i) => n + (v !== expected[i] ? 1 : 0), 0);
    }
    expect(differing).toBeGreaterThan(0);
  });
});
