import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRle } from '../image/rle.ts';
import { generateScenes, renderScene, shareTwoAttributes, type GroundTruth } from './scenes.ts';
import { BACKGROUND_RANGE, COLOURS, PATTERNS, SHAPES } from './world.ts';

const temporary: string[] = [];
afterAll(async () => {
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('renderScene', () => {
  const scenes = Array.from({ length: 60 }, (_, i) => renderScene(7, i));

  it('renders 2 to 6 objects on images between 240 and 1024 pixels a side', () => {
    for (const { image, truth } of scenes) {
      expect(truth.objects.length).toBeGreaterThanOrEqual(2);
      expect(truth.objects.length).toBeLessThanOrEqual(6);
      expect(Math.min(image.width, image.height)).toBeGreaterThanOrEqual(240);
      expect(Math.max(image.width, image.height)).toBeLessThanOrEqual(1024);
      expect(image.data.length).toBe(image.width * image.height * 3);
    }
  });

  it('gives every object world attributes, a distinct triple and a tight bbox around its mask', () => {
    for (const { truth } of scenes) {
      const keys = truth.objects.map((o) => `${o.colour}/${o.shape}/${o.pattern}`);
      expect(new Set(keys).size).toBe(keys.length);
      for (const o of truth.objects) {
        expect(COLOURS).toContain(o.colour);
        expect(SHAPES).toContain(o.shape);
        expect(PATTERNS).toContain(o.pattern);
        const [x, y, w, h] = o.bbox;
        let area = 0;
        let outside = 0;
        let [minX, minY, maxX, maxY] = [Infinity, Infinity, -1, -1];
        for (let yy = 0; yy < truth.height; yy += 1) {
          for (let xx = 0; xx < truth.width; xx += 1) {
            if (!o.mask.data[yy * truth.width + xx]) continue;
            area += 1;
            if (!(xx >= x && xx < x + w && yy >= y && yy < y + h)) outside += 1;
            minX = Math.min(minX, xx);
            minY = Math.min(minY, yy);
            maxX = Math.max(maxX, xx);
            maxY = Math.max(maxY, yy);
          }
        }
        expect(outside).toBe(0);
        expect([minX, minY, maxX - minX + 1, maxY - minY + 1]).toEqual(o.bbox);
        expect(area).toBeGreaterThan(0.3 * w * h);
      }
    }
  });

  it('keeps objects apart and off the border, and paints only low-saturation background outside them', () => {
    for (const { image, truth } of scenes.slice(0, 20)) {
      const owner = new Int8Array(truth.width * truth.height);
      for (const o of truth.objects) {
        let overlaps = 0;
        for (let i = 0; i < owner.length; i += 1) {
          if (o.mask.data[i]) {
            if (owner[i] !== 0) overlaps += 1;
            owner[i] = o.id;
          }
        }
        expect(overlaps).toBe(0);
        const [x, y, w, h] = o.bbox;
        expect(x).toBeGreaterThan(5);
        expect(y).toBeGreaterThan(5);
        expect(x + w).toBeLessThan(truth.width - 5);
        expect(y + h).toBeLessThan(truth.height - 5);
      }
      let offRange = 0;
      for (let i = 0; i < owner.length; i += 1) {
        if (owner[i]) continue;
        const [r, g, b] = [image.data[i * 3], image.data[i * 3 + 1], image.data[i * 3 + 2]];
        const low = Math.min(r, g, b);
        const high = Math.max(r, g, b);
        if (
          low < BACKGROUND_RANGE.min ||
          high > BACKGROUND_RANGE.max ||
          high - low > BACKGROUND_RANGE.maxChannelSpread
        ) {
          offRange += 1;
        }
      }
      expect(offRange).toBe(0);
    }
  });

  it('makes most objects share two attributes with another object of their scene', () => {
    const share = shareTwoAttributes(scenes.map((s) => s.truth));
    console.log(`objects sharing two attributes with another: ${(share * 100).toFixed(1)} %`);
    expect(share).toBeGreaterThan(0.5);
  });

  it('is a pure function of seed and index', () => {
    const again = renderScene(7, 3);
    expect(Buffer.from(again.image.data).equals(Buffer.from(scenes[3].image.data))).toBe(true);
    expect(Buffer.from(renderScene(8, 3).image.data).equals(Buffer.from(scenes[3].image.data))).toBe(false);
  });

  it('refuses a negative index', () => {
    expect(() => renderScene(1, -1)).toThrow('renderScene: index must be an integer ≥ 0, got -1');
  });
});

describe('generateScenes', () => {
  it('writes byte-identical PNGs and ground truth for the same seed, with masks that decode to the objects', async () => {
    const a = await mkdtemp(join(tmpdir(), 'scenes-a-'));
    const b = await mkdtemp(join(tmpdir(), 'scenes-b-'));
    temporary.push(a, b);
    await generateScenes({ count: 3, seed: 11, outDir: a });
    await generateScenes({ count: 3, seed: 11, outDir: b });
    const files = (await readdir(a)).sort();
    expect(files).toEqual(['ground-truth.json', 'scene-0000.png', 'scene-0001.png', 'scene-0002.png']);
    for (const file of files) {
      expect((await readFile(join(a, file))).equals(await readFile(join(b, file)))).toBe(true);
    }
    const truth = JSON.parse(await readFile(join(a, 'ground-truth.json'), 'utf8')) as GroundTruth;
    expect(truth.version).toBe(1);
    expect(truth.seed).toBe(11);
    expect(truth.images).toHaveLength(3);
    const scene = renderScene(11, 1);
    const image = truth.images[1];
    expect(image.file).toBe('scene-0001.png');
    const png = await sharp(join(a, image.file)).raw().toBuffer({ resolveWithObject: true });
    expect(png.info).toMatchObject({ width: image.width, height: image.height, channels: 3 });
    expect(png.data.equals(Buffer.from(scene.image.data))).toBe(true);
    image.objects.forEach((object, i) => {
      expect(object.segmentation.size).toEqual([image.height, image.width]);
      expect(typeof object.segmentation.counts).toBe('string');
      const mask = decodeRle(object.segmentation);
      expect(Buffer.from(mask.data).equals(Buffer.from(scene.truth.objects[i].mask.data))).toBe(true);
    });
  });

  it('rejects a count below one', async () => {
    await expect(generateScenes({ count: 0, seed: 1, outDir: tmpdir() })).rejects.toThrow(
      'generateScenes: count must be an integer ≥ 1, got 0',
    );
  });
});
