/**
 * Resizing of float planes and binary masks.
 *
 * `resizeBilinearChw` reproduces `torch.nn.functional.interpolate(mode='bilinear', align_corners=False,
 * antialias=False)`, which is what `torchvision.transforms.Resize` does on a float tensor (the reference's crops,
 * DESIGN.md §5) and what SAM uses to upsample mask logits.
 */
import type { BinaryMask, Size } from './types.ts';

/**
 * Bilinear resize of a planar float image, PyTorch semantics (align_corners=False, no antialias).
 *
 * Source coordinate of output index i: `(i + 0.5) · in/out − 0.5`, clamped below at 0; the right/bottom neighbour is
 * clamped to the last index. Downscaling therefore samples (no area averaging), as torchvision 0.12 did on tensors.
 *
 * in:  src float32[channels, from.height, from.width]
 * out: float32[channels, to.height, to.width]
 */
export function resizeBilinearChw(src: Float32Array, channels: number, from: Size, to: Size): Float32Array {
  checkSize(from, 'from');
  checkSize(to, 'to');
  if (!Number.isInteger(channels) || channels < 1)
    throw new RangeError(`channels must be a positive integer, got ${channels}`);
  const plane = from.width * from.height;
  if (src.length !== channels * plane) {
    throw new RangeError(
      `src has ${src.length} values, expected channels·height·width = ${channels}·${from.height}·${from.width} = ${channels * plane}`,
    );
  }
  const xs = sourceTaps(from.width, to.width);
  const ys = sourceTaps(from.height, to.height);
  const out = new Float32Array(channels * to.width * to.height);
  for (let c = 0; c < channels; c++) {
    const base = c * plane;
    let o = c * to.width * to.height;
    for (let y = 0; y < to.height; y++) {
      const r0 = base + ys.i0[y] * from.width;
      const r1 = base + ys.i1[y] * from.width;
      const wy = ys.w[y];
      for (let x = 0; x < to.width; x++) {
        const x0 = xs.i0[x];
        const x1 = xs.i1[x];
        const wx = xs.w[x];
        const top = src[r0 + x0] * (1 - wx) + src[r0 + x1] * wx;
        const bottom = src[r1 + x0] * (1 - wx) + src[r1 + x1] * wx;
        out[o++] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/**
 * Nearest-neighbour resize of a binary mask (PyTorch `mode='nearest'`: source index `floor(i · in/out)`).
 *
 * Used to bring an imported or stored mask to another resolution; masks at image resolution never need it.
 */
export function resizeMaskNearest(mask: BinaryMask, to: Size): BinaryMask {
  checkSize(mask, 'mask');
  checkSize(to, 'to');
  const out = new Uint8Array(to.width * to.height);
  const sx = mask.width / to.width;
  const sy = mask.height / to.height;
  for (let y = 0; y < to.height; y++) {
    const row = Math.min(mask.height - 1, Math.floor(y * sy)) * mask.width;
    for (let x = 0; x < to.width; x++) {
      out[y * to.width + x] = mask.data[row + Math.min(mask.width - 1, Math.floor(x * sx))];
    }
  }
  return { width: to.width, height: to.height, data: out };
}

/** Per output index: the two source indices and the weight of the second (PyTorch's linear source index rule). */
function sourceTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; w: Float32Array } {
  const scale = inSize / outSize;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    // area_pixel_compute_source_index: negative source coordinates clamp to 0 for linear modes.
    const source = Math.max(0, (i + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(source), inSize - 1);
    i0[i] = lo;
    i1[i] = Math.min(lo + 1, inSize - 1);
    w[i] = source - lo;
  }
  return { i0, i1, w };
}

function checkSize(size: Size, name: string): void {
  if (!Number.isInteger(size.width) || !Number.isInteger(size.height) || size.width < 1 || size.height < 1) {
    throw new RangeError(
      `${name} must have positive integer width and height, got ${size.width}×${size.height}`,
    );
  }
}
