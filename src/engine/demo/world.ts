/**
 * The shapes world's vocabulary of attributes and how they look in pixels (DESIGN.md §6).
 *
 * Scenes (scenes.ts), the demo graphs (segmenter, captioner, scorer) and the oracle all read these constants, so the
 * world is defined once.
 */

export const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'] as const;
export const SHAPES = ['circle', 'square', 'triangle'] as const;
export const PATTERNS = ['plain', 'striped', 'dotted'] as const;

export type Colour = (typeof COLOURS)[number];
export type Shape = (typeof SHAPES)[number];
export type Pattern = (typeof PATTERNS)[number];

/** An object's three attributes. */
export interface Attributes {
  colour: Colour;
  shape: Shape;
  pattern: Pattern;
}

/** sRGB of each colour's flat fill: saturated, so an object's chroma stands out from the near-grey background. */
export const COLOUR_RGB: Record<Colour, readonly [number, number, number]> = {
  red: [220, 45, 45],
  green: [50, 165, 70],
  blue: [40, 90, 215],
  yellow: [235, 205, 35],
  purple: [145, 65, 180],
  orange: [245, 135, 25],
};

/** Stripes and dots are drawn in the object's own colour darkened by this factor (same hue, lower value). */
export const PATTERN_SHADE = 0.55;

/** Backgrounds are low-saturation: every channel within this range, channels at most this far apart. */
export const BACKGROUND_RANGE = { min: 170, max: 240, maxChannelSpread: 18 } as const;
