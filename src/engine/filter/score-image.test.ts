import { describe, expect, it } from 'vitest';
import { scoreImage } from './score-image.ts';

const vectors: Record<string, number[]> = {
  'a red circle': [1, 1],
  'a photo of a circle': [2, 1],
  'a blue square': [0, 1],
  'a photo of a square': [0, 1],
};

describe('scoreImage', () => {
  it('scores from θ rows over all masks and encodes each distinct text once', async () => {
    const seen: string[][] = [];
    const encodeTexts = async (texts: string[]) => {
      seen.push(texts);
      return texts.map((t) => Float32Array.from(vectors[t]));
    };
    const out = await scoreImage({
      maskedEmbeddings: [Float32Array.from([1, 0]), Float32Array.from([0, 1])],
      cropEmbeddings: [Float32Array.from([1, 0]), Float32Array.from([0, 1])],
      candidates: [
        { mask: 0, text: 'a red circle' },
        { mask: 1, text: 'a red circle' },
        { mask: 1, text: 'a blue square' },
      ],
      encodeTexts,
      logitScale: 100,
    });
    expect(seen).toHaveLength(1);
    expect(seen[0].sort()).toEqual([
      'a blue square',
      'a photo of a circle',
      'a photo of a square',
      'a red circle',
    ]);
    expect(out.textEncodes).toBe(4);
    // θ(crop_j, "a red circle") = 70.71 for both masks → UoS 1; CoS = [89.44, 44.72] → DoS = 2 for mask 0, 0.5 for mask 1
    expect(out.scores[0].theta).toBeCloseTo(70.7107, 3);
    expect(out.scores[0].uos).toBeCloseTo(1);
    expect(out.scores[0].cos).toBeCloseTo(89.4427, 3);
    expect(out.scores[0].dos).toBeCloseTo(2);
    expect(out.scores[0].confusedWith).toBe(1);
    expect(out.scores[1].dos).toBeCloseTo(0.5);
    expect(out.scores[0].headNoun).toBe('circle');
    expect(out.scores[0].nounPrompt).toBe('a photo of a circle');
    // "a blue square" is orthogonal to mask 0's crop: θ = 0 in the denominator → no ratio
    expect(out.scores[2].uos).toBeNull();
    expect(out.scores[2].dos).toBeNull();
  });

  it('rejects a candidate of a mask that does not exist', async () => {
    await expect(
      scoreImage({
        maskedEmbeddings: [new Float32Array(2)],
        cropEmbeddings: [new Float32Array(2)],
        candidates: [{ mask: 1, text: 'x' }],
        encodeTexts: async () => [],
        logitScale: 100,
      }),
    ).rejects.toThrow('candidate mask 1 is out of range 0..0');
  });
});
