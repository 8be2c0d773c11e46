/**
 * Images and masks as plain data (DESIGN.md §5): loading, resizing, crops, tensors, COCO RLE and polygons.
 *
 * The stage's public surface: other stages import it only through this file (eslint.config.js, stage fences).
 */
export * from './crops.ts';
export * from './load.ts';
export * from './mask.ts';
export * from './polygon.ts';
export * from './resize.ts';
export * from './rle.ts';
export * from './rle-poly.ts';
export * from './tensor.ts';
export * from './types.ts';
