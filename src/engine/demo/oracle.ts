/**
 * The shapes world's oracle (DESIGN.md §6): does a caption identify its target object in a scene?
 *
 * A caption identifies its target when the attribute words it contains all match the target and do not all match
 * any other object of the scene. A caption with no attribute word identifies nothing, unless the scene has a single
 * object. This judges the pipeline independently of the demo scorer.
 */
import { maskIou, decodeRle, type Rle, type BinaryMask } from '../image/index.ts';
import { COLOURS, PATTERNS, SHAPES, type Attributes } from './world.ts';

/** One object as the oracle needs it: attributes and either an in-memory mask or a COCO RLE. */
export interface OracleObject extends Attributes {
  id: number;
  mask?: BinaryMask;
  segmentation?: Rle;
}

/** The ground truth of one image (a `SceneTruth` or a `ground-truth.json` image both fit). */
export interface OracleImage {
  objects: readonly OracleObject[];
}

/** Which attribute a word names. */
export type AttributeKind = keyof Attributes;

/** An attribute word found in a caption. */
export interface AttributeWord {
  word: string;
  kind: AttributeKind;
  value: string;
}

/** The oracle's verdict with its reasons. */
export interface Identification {
  identifies: boolean;
  /** Id of the target object, or null when a target mask matched no object (IoU < 0.5). */
  targetId: number | null;
  /** Attribute words found in the caption, in order. */
  words: AttributeWord[];
  /** Ids of the objects every attribute word matches (all objects when there is no attribute word). */
  matching: number[];
}

/** Minimum IoU for a mask to stand for a ground-truth object. */
export const TARGET_IOU = 0.5;

/**
 * Words for each attribute value: the world's names (which are the demo vocabulary's words) plus plural and
 * adjective forms a real captioner would use.
 */
const SYNONYMS: Record<string, [AttributeKind, string]> = Object.fromEntries([
  ...COLOURS.map((c) => [c, ['colour', c]]),
  ...SHAPES.map((s) => [s, ['shape', s]]),
  ...SHAPES.map((s) => [`${s}s`, ['shape', s]]),
  ...PATTERNS.map((p) => [p, ['pattern', p]]),
  ['triangular', ['shape', 'triangle']],
  ['round', ['shape', 'circle']],
  ['stripes', ['pattern', 'striped']],
  ['stripy', ['pattern', 'striped']],
  ['dots', ['pattern', 'dotted']],
  ['spotted', ['pattern', 'dotted']],
  ['polka', ['pattern', 'dotted']],
]);

/** Attribute words of a caption (case-insensitive; any non-letter separates words). */
export function attributeWords(caption: string): AttributeWord[] {
  if (typeof caption !== 'string')
    throw new Error(`attributeWords: caption must be a string, got ${typeof caption}`);
  const words: AttributeWord[] = [];
  for (const word of caption.toLowerCase().split(/[^a-z]+/)) {
    const entry = SYNONYMS[word];
    if (entry) words.push({ word, kind: entry[0], value: entry[1] });
  }
  return words;
}

/**
 * Whether `caption` identifies the target in `image`: the target is an object id, or a mask matched to the object
 * with the highest IoU (≥ 0.5; below that nothing is identified).
 */
export function identifies(image: OracleImage, target: number | BinaryMask, caption: string): boolean {
  return explainIdentification(image, target, caption).identifies;
}

/** {@link identifies} with its reasons: the target found, the attribute words and the objects they match. */
export function explainIdentification(
  image: OracleImage,
  target: number | BinaryMask,
  caption: string,
): Identification {
  if (!image || !Array.isArray(image.objects) || image.objects.length === 0) {
    throw new Error('identifies: the image ground truth must have at least one object');
  }
  const words = attributeWords(caption);
  const matching = image.objects.filter((o) => words.every((w) => o[w.kind] === w.value)).map((o) => o.id);
  const targetId = resolveTarget(image, target);
  const identifies =
    targetId !== null &&
    matching.length === 1 &&
    matching[0] === targetId &&
    (words.length > 0 || image.objects.length === 1);
  return { identifies, targetId, words, matching };
}

/**
 * The id of the object a target stands for: an id as given (checked), or the object a mask overlaps with the highest
 * IoU (≥ {@link TARGET_IOU}; null below). Resolve a mask once and pass the id to {@link identifies} for each of its
 * captions: matching a mask decodes and compares every object's mask, which dominates judging many captions.
 */
export function resolveTarget(image: OracleImage, target: number | BinaryMask): number | null {
  if (typeof target === 'number') {
    if (!image.objects.some((o) => o.id === target)) {
      throw new Error(
        `identifies: no object with id ${target} (ids: ${image.objects.map((o) => o.id).join(', ')})`,
      );
    }
    return target;
  }
  let best: number | null = null;
  let bestIou = TARGET_IOU;
  for (const object of image.objects) {
    const mask = object.mask ?? (object.segmentation ? decodeRle(object.segmentation) : undefined);
    if (!mask) throw new Error(`identifies: object ${object.id} has neither a mask nor a segmentation`);
    if (mask.width !== target.width || mask.height !== target.height) {
      throw new Error(
        `identifies: target mask is ${target.width}×${target.height}, object ${object.id} is ${mask.width}×${mask.height}`,
      );
    }
    const iou = maskIou(mask, target);
    if (iou >= bestIou) {
      bestIou = iou;
      best = object.id;
    }
  }
  return best;
}
