import { describe, expect, it } from 'vitest';
import { encodeRle } from '../image/rle.ts';
import type { BinaryMask } from '../image/types.ts';
import { attributeWords, explainIdentification, identifies, type OracleImage } from './oracle.ts';
import { renderScene, groundTruthOf } from './scenes.ts';

/** A 4×2 mask with the given pixel indices set. */
function mask(...pixels: number[]): BinaryMask {
  const data = new Uint8Array(8);
  for (const p of pixels) data[p] = 1;
  return { width: 4, height: 2, data };
}

// Two cows: red striped circle and red plain circle; plus a blue dotted square.
const scene: OracleImage = {
  objects: [
    { id: 1, colour: 'red', shape: 'circle', pattern: 'striped', mask: mask(0, 4) },
    { id: 2, colour: 'red', shape: 'circle', pattern: 'plain', mask: mask(1, 5) },
    { id: 3, colour: 'blue', shape: 'square', pattern: 'dotted', mask: mask(2, 3, 6, 7) },
  ],
};

describe('oracle', () => {
  it('finds attribute words and their synonyms, case-insensitively', () => {
    expect(attributeWords('A Red striped circle on a grey background').map((w) => [w.kind, w.value])).toEqual(
      [
        ['colour', 'red'],
        ['pattern', 'striped'],
        ['shape', 'circle'],
      ],
    );
    expect(attributeWords('two squares with dots').map((w) => w.value)).toEqual(['square', 'dotted']);
    expect(attributeWords('a photo of a shape')).toEqual([]);
  });

  it('accepts a caption whose words match the target and no other object', () => {
    expect(identifies(scene, 1, 'a striped red circle')).toBe(true);
    expect(identifies(scene, 1, 'something striped')).toBe(true);
    expect(identifies(scene, 3, 'a blue shape')).toBe(true);
    expect(identifies(scene, 3, 'a square')).toBe(true);
  });

  it('rejects a caption that also matches another object (the two cows case)', () => {
    expect(identifies(scene, 1, 'a red circle')).toBe(false);
    expect(explainIdentification(scene, 1, 'a red circle').matching).toEqual([1, 2]);
  });

  it('rejects a caption with a word that does not match the target', () => {
    expect(identifies(scene, 2, 'a striped red circle')).toBe(false);
    expect(identifies(scene, 3, 'a blue circle')).toBe(false);
    expect(identifies(scene, 1, 'a red blue striped circle')).toBe(false);
  });

  it('identifies nothing without attribute words unless the scene has one object', () => {
    expect(identifies(scene, 1, 'a photo of a shape')).toBe(false);
    const single: OracleImage = { objects: [scene.objects[0]] };
    expect(identifies(single, 1, 'a photo of a shape')).toBe(true);
  });

  it('takes the target as a mask matched with IoU ≥ 0.5, from raw masks or COCO RLE', () => {
    expect(identifies(scene, mask(0, 4), 'a striped circle')).toBe(true);
    expect(identifies(scene, mask(0), 'a striped circle')).toBe(true); // IoU 0.5
    expect(explainIdentification(scene, mask(0, 1, 5), 'a striped circle').targetId).toBe(2);
    expect(explainIdentification(scene, mask(0, 1, 2, 3), 'a striped circle').targetId).toBe(null);
    const rle: OracleImage = {
      objects: scene.objects.map(({ mask: m, ...rest }) => ({
        ...rest,
        segmentation: encodeRle(m as BinaryMask),
      })),
    };
    expect(identifies(rle, mask(2, 3, 6, 7), 'a dotted shape')).toBe(true);
  });

  it('works on generated ground truth', () => {
    const { truth } = renderScene(3, 0);
    const target = truth.objects[0];
    const full = `a ${target.pattern} ${target.colour} ${target.shape}`;
    expect(identifies(truth, target.id, full)).toBe(true);
    expect(identifies(groundTruthOf(truth), target.mask, full)).toBe(true);
  });

  it('names what is wrong with a bad target', () => {
    expect(() => identifies(scene, 9, 'red')).toThrow('identifies: no object with id 9 (ids: 1, 2, 3)');
    expect(() => identifies(scene, { width: 2, height: 2, data: new Uint8Array(4) }, 'red')).toThrow(
      'identifies: target mask is 2×2, object 1 is 4×2',
    );
    expect(() => identifies({ objects: [] }, 1, 'red')).toThrow(
      'the image ground truth must have at least one object',
    );
  });
});
