/**
 * The shapes world's scene generator (DESIGN.md §6): deterministic PNG scenes with 2–6 flat objects and their ground
 * truth (attributes, bbox, COCO RLE mask).
 *
 * Edges are crisp (a pixel belongs to an object when its centre does; no anti-aliasing), so ground-truth masks are
 * exact. Objects keep a margin from each other and from the image border, so a flood fill from a point never joins
 * two objects. Many objects share two of three attributes with another object of the scene by construction (the
 * paper's "two cows" case), which is what makes captions ambiguous.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodeRle, type Rle, type BinaryMask, type RgbImage } from '../image/index.ts';
import { Random, mixSeed } from './random.ts';
import {
  BACKGROUND_RANGE,
  COLOURS,
  COLOUR_RGB,
  PATTERNS,
  PATTERN_SHADE,
  SHAPES,
  type Attributes,
} from './world.ts';

/** One object of a scene, in memory: attributes, tight bbox [x, y, w, h] and exact mask. */
export interface SceneObject extends Attributes {
  /** 1-based within its image. */
  id: number;
  bbox: [number, number, number, number];
  mask: BinaryMask;
}

/** A scene's ground truth in memory. */
export interface SceneTruth {
  /** 1-based image id (index + 1). */
  id: number;
  file: string;
  width: number;
  height: number;
  objects: SceneObject[];
}

/** A rendered scene. */
export interface Scene {
  image: RgbImage;
  truth: SceneTruth;
}

/** One object as stored in `ground-truth.json`. */
export interface GroundTruthObject extends Attributes {
  id: number;
  bbox: [number, number, number, number];
  segmentation: Rle;
}

/** One image as stored in `ground-truth.json`. */
export interface GroundTruthImage {
  file: string;
  id: number;
  width: number;
  height: number;
  objects: GroundTruthObject[];
}

/** `ground-truth.json`, written next to the scene PNGs. */
export interface GroundTruth {
  version: 1;
  seed: number;
  images: GroundTruthImage[];
}

/** Options of {@link generateScenes}. */
export interface GenerateScenesOptions {
  count: number;
  seed: number;
  outDir: string;
}

/** Chance that a new object copies an existing one with exactly one attribute changed ("two cows"). */
const SHARE_TWO_CHANCE = 0.7;

/** File name of scene `index` (0-based). */
export function sceneFileName(index: number): string {
  return `scene-${String(index).padStart(4, '0')}.png`;
}

/**
 * Renders scene `index` of the world seeded by `seed`, in memory.
 *
 * Each scene draws from its own stream (`mixSeed(seed, index)`), so scene i is the same whatever the count.
 */
export function renderScene(seed: number, index: number): Scene {
  if (!Number.isInteger(seed)) throw new Error(`renderScene: seed must be an integer, got ${seed}`);
  if (!Number.isInteger(index) || index < 0)
    throw new Error(`renderScene: index must be an integer ≥ 0, got ${index}`);
  const random = new Random(mixSeed(seed, index));
  const { width, height } = pickSize(random);
  const data = new Uint8Array(width * height * 3);
  paintBackground(data, width, height, random);

  const count = random.int(2, 6);
  const attributes = pickAttributes(count, random);
  const placements = placeObjects(count, width, height, random);
  const objects: SceneObject[] = [];
  placements.forEach((place, i) => {
    const attrs = attributes[i];
    const mask = paintObject(data, width, height, place, attrs, random);
    objects.push({ id: i + 1, ...attrs, bbox: maskBbox(mask), mask });
  });
  return {
    image: { width, height, data },
    truth: { id: index + 1, file: sceneFileName(index), width, height, objects },
  };
}

/** The ground-truth record of a scene (masks as COCO compressed RLE). */
export function groundTruthOf(truth: SceneTruth): GroundTruthImage {
  return {
    file: truth.file,
    id: truth.id,
    width: truth.width,
    height: truth.height,
    objects: truth.objects.map((o) => ({
      id: o.id,
      colour: o.colour,
      shape: o.shape,
      pattern: o.pattern,
      bbox: o.bbox,
      segmentation: encodeRle(o.mask),
    })),
  };
}

/**
 * Writes `count` scene PNGs and `ground-truth.json` into `outDir` (created if missing).
 *
 * The same seed and count give byte-identical files. Each file is written to a temporary name and renamed.
 */
export async function generateScenes(options: GenerateScenesOptions): Promise<GroundTruth> {
  const { count, seed, outDir } = options;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`generateScenes: count must be an integer ≥ 1, got ${count}`);
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`generateScenes: seed must be an integer ≥ 0, got ${seed}`);
  await mkdir(outDir, { recursive: true });
  const images: GroundTruthImage[] = [];
  for (let index = 0; index < count; index += 1) {
    const { image, truth } = renderScene(seed, index);
    await writeAtomic(join(outDir, truth.file), await encodePng(image));
    images.push(groundTruthOf(truth));
  }
  const groundTruth: GroundTruth = { version: 1, seed, images };
  await writeAtomic(
    join(outDir, 'ground-truth.json'),
    Buffer.from(JSON.stringify(groundTruth, null, 1) + '\n'),
  );
  return groundTruth;
}

/** Encodes an RGB image as PNG with fixed settings (deterministic bytes). */
export async function encodePng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

/** Share of objects that share exactly two attributes with at least one other object of their scene. */
export function shareTwoAttributes(scenes: readonly { objects: readonly Attributes[] }[]): number {
  let total = 0;
  let sharing = 0;
  for (const scene of scenes) {
    for (const a of scene.objects) {
      total += 1;
      if (scene.objects.some((b) => b !== a && sharedAttributes(a, b) === 2)) sharing += 1;
    }
  }
  return total === 0 ? 0 : sharing / total;
}

/** How many of colour, shape and pattern two objects have in common. */
export function sharedAttributes(a: Attributes, b: Attributes): number {
  return Number(a.colour === b.colour) + Number(a.shape === b.shape) + Number(a.pattern === b.pattern);
}

async function writeAtomic(path: string, bytes: Buffer): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, path);
}

/** Landscape ~320×240 to ~1024×768 mostly, sometimes portrait. */
function pickSize(random: Random): { width: number; height: number } {
  const long = random.int(320, 1024);
  const ratio = random.uniform(0.6, 0.9);
  const short = Math.max(240, Math.min(768, Math.round(long * ratio)));
  return random.chance(0.15) ? { width: short, height: long } : { width: long, height: short };
}

/**
 * Attributes of `count` objects, all distinct triples; each new object, with probability {@link SHARE_TWO_CHANCE},
 * copies an earlier one and changes exactly one attribute.
 */
function pickAttributes(count: number, random: Random): Attributes[] {
  const chosen: Attributes[] = [];
  const key = (a: Attributes) => `${a.colour}/${a.shape}/${a.pattern}`;
  const taken = new Set<string>();
  while (chosen.length < count) {
    let candidate: Attributes;
    if (chosen.length > 0 && random.chance(SHARE_TWO_CHANCE)) {
      const base = random.pick(chosen);
      const which = random.int(0, 2);
      candidate = { ...base };
      if (which === 0) candidate.colour = random.pick(COLOURS.filter((c) => c !== base.colour));
      else if (which === 1) candidate.shape = random.pick(SHAPES.filter((s) => s !== base.shape));
      else candidate.pattern = random.pick(PATTERNS.filter((p) => p !== base.pattern));
    } else {
      candidate = {
        colour: random.pick(COLOURS),
        shape: random.pick(SHAPES),
        pattern: random.pick(PATTERNS),
      };
    }
    if (taken.has(key(candidate))) continue;
    taken.add(key(candidate));
    chosen.push(candidate);
  }
  return chosen;
}

interface Placement {
  x: number;
  y: number;
  /** Side of the square the shape is drawn in. */
  size: number;
}

/**
 * Non-overlapping squares with a margin between them and from the border (rejection sampling, shrinking the objects
 * when a scene is crowded).
 */
function placeObjects(count: number, width: number, height: number, random: Random): Placement[] {
  const short = Math.min(width, height);
  const margin = Math.round(0.03 * Math.max(width, height)) + 6;
  let maxFraction = 0.36 - 0.025 * (count - 2);
  for (let attempt = 0; attempt < 40; attempt += 1) {
    const placed: Placement[] = [];
    for (let i = 0; i < count; i += 1) {
      const size = Math.round(short * random.uniform(0.15, Math.max(0.16, maxFraction)));
      let ok = false;
      for (let tries = 0; tries < 200 && !ok; tries += 1) {
        const x = random.int(margin, width - margin - size);
        const y = random.int(margin, height - margin - size);
        ok = placed.every(
          (p) =>
            x + size + margin <= p.x ||
            p.x + p.size + margin <= x ||
            y + size + margin <= p.y ||
            p.y + p.size + margin <= y,
        );
        if (ok) placed.push({ x, y, size });
      }
      if (!ok) break;
    }
    if (placed.length === count) return placed;
    maxFraction = Math.max(0.16, maxFraction * 0.9);
  }
  throw new Error(`placeObjects: could not place ${count} objects in ${width}×${height}`);
}

/** A low-saturation grey, optionally with a smooth value-noise texture (same offset on all channels). */
function paintBackground(data: Uint8Array, width: number, height: number, random: Random): void {
  const { min, max, maxChannelSpread } = BACKGROUND_RANGE;
  const base = random.int(min + 12, max - 12);
  const half = Math.floor((maxChannelSpread - 2) / 2);
  const tint = [random.int(-half, half), random.int(-half, half), random.int(-half, half)];
  const textured = random.chance(0.5);
  const amplitude = textured ? random.uniform(3, 9) : 0;
  // Value noise: a coarse grid of random offsets, smoothly interpolated (arithmetic only, reproducible everywhere).
  const gx = 4;
  const gy = 4;
  const grid = Array.from({ length: (gx + 1) * (gy + 1) }, () => random.uniform(-1, 1));
  for (let y = 0; y < height; y += 1) {
    const fy = (y / height) * gy;
    const iy = Math.min(gy - 1, Math.floor(fy));
    const ty = smooth(fy - iy);
    for (let x = 0; x < width; x += 1) {
      let offset = 0;
      if (textured) {
        const fx = (x / width) * gx;
        const ix = Math.min(gx - 1, Math.floor(fx));
        const tx = smooth(fx - ix);
        const a = grid[iy * (gx + 1) + ix];
        const b = grid[iy * (gx + 1) + ix + 1];
        const c = grid[(iy + 1) * (gx + 1) + ix];
        const d = grid[(iy + 1) * (gx + 1) + ix + 1];
        offset = amplitude * (a + (b - a) * tx + (c - a) * ty + (a - b - c + d) * tx * ty);
      }
      const i = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch += 1) data[i + ch] = clamp(Math.round(base + tint[ch] + offset), min, max);
    }
  }
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Draws one object (pixel centres inside the shape), returns its exact mask. */
function paintObject(
  data: Uint8Array,
  width: number,
  height: number,
  place: Placement,
  attrs: Attributes,
  random: Random,
): BinaryMask {
  const mask = new Uint8Array(width * height);
  const colour = COLOUR_RGB[attrs.colour];
  const shade = colour.map((c) => Math.round(c * PATTERN_SHADE));
  const period = Math.max(8, Math.round(place.size / random.uniform(5, 8)));
  const stripeAxis = random.int(0, 2); // 0 vertical, 1 horizontal, 2 diagonal
  const dotRadius = period * random.uniform(0.25, 0.32);
  const { x: x0, y: y0, size } = place;
  const triangleHeight = Math.round(size * 0.87);
  const triangleTop = y0 + Math.round((size - triangleHeight) / 2);
  for (let y = y0; y < y0 + size; y += 1) {
    for (let x = x0; x < x0 + size; x += 1) {
      const px = x + 0.5 - x0;
      const py = y + 0.5 - y0;
      if (!inside(attrs.shape, px, py, size, triangleTop - y0, triangleHeight)) continue;
      let dark = false;
      if (attrs.pattern === 'striped') {
        const coordinate = stripeAxis === 0 ? px : stripeAxis === 1 ? py : (px + py) / Math.SQRT2;
        dark = Math.floor(coordinate / (period / 2)) % 2 === 1;
      } else if (attrs.pattern === 'dotted') {
        const dx = px - (Math.floor(px / period) + 0.5) * period;
        const dy = py - (Math.floor(py / period) + 0.5) * period;
        dark = dx * dx + dy * dy <= dotRadius * dotRadius;
      }
      const rgb = dark ? shade : colour;
      const i = (y * width + x) * 3;
      data[i] = rgb[0];
      data[i + 1] = rgb[1];
      data[i + 2] = rgb[2];
      mask[y * width + x] = 1;
    }
  }
  return { width, height, data: mask };
}

/** Whether a point (relative to the shape's square) is inside the shape. */
function inside(
  shape: Attributes['shape'],
  px: number,
  py: number,
  size: number,
  top: number,
  triangleHeight: number,
): boolean {
  if (shape === 'square') return true;
  if (shape === 'circle') {
    const r = size / 2;
    return (px - r) * (px - r) + (py - r) * (py - r) <= r * r;
  }
  // Upright isosceles triangle: apex at the top centre, base at the bottom.
  const v = py - top;
  if (v < 0 || v > triangleHeight) return false;
  const halfWidth = (v / triangleHeight) * (size / 2);
  return Math.abs(px - size / 2) <= halfWidth;
}

/** Tight bbox [x, y, w, h] of a mask, as pycocotools' `toBbox` gives it. */
function maskBbox(mask: BinaryMask): [number, number, number, number] {
  let x0 = mask.width;
  let y0 = mask.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < mask.height; y += 1) {
    for (let x = 0; x < mask.width; x += 1) {
      if (mask.data[y * mask.width + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}
