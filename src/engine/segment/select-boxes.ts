/**
 * Mask selection by imported detections, as the released Pseudo-RIS code selects masks (DESIGN.md §5 "Masks").
 *
 * The released rule, generate_masks/cutler_sam_masks.py of Seonghoon-Yu/Pseudo-RIS (commit de5d124):
 * - l. 52–53, 83: CutLER runs with `ROI_HEADS.SCORE_THRESH_TEST = --confidence-threshold` (default 0.5), which
 *   detectron2 applies as `scores > score_thresh` (third_party/CutLER/cutler/modeling/roi_heads/fast_rcnn.py l. 155);
 *   detections come out by score, best first (l. 166–168 there), at most 100 per image;
 * - l. 172–174: an image with no detection gets no masks (it is skipped);
 * - l. 187–195: for each detection z, `overlap_j = (cutler_mask_z & sam_mask_j).sum()` over the SAM masks in the
 *   generator's output order, and the detection takes `argmax_j overlap_j` — torch's argmax answers the first maximal
 *   index, so a tie goes to the earlier SAM mask, and a detection that overlaps no SAM mask (all zeros) takes SAM
 *   mask 0;
 * - l. 197, 202–205: `final_masks = sam_masks[max_overlap_idx]`, written in detection order: two detections picking
 *   the same SAM mask give two (identical) masks, and nothing caps the count.
 *
 * A detections file is not trusted to be in CutLER's order: detections are taken by score, best first (a stable sort,
 * so equal scores keep the file's order; detections without a score follow, in file order). A box covering no pixel
 * centre overlaps nothing, so it takes SAM mask 0, as the released argmax over zeros does.
 *
 * Here a detection's mask is its `segmentation` when the file has one (CutLER's evaluation writes it as RLE): the
 * overlap is then exactly the released one. A detection with only a `bbox` is matched by its box — the count of a SAM
 * mask's pixels whose centres lie inside it — which stands in for CutLER's mask (a CutLER mask lies within its box).
 */
import type { BinaryMask, Size } from '../image/index.ts';

/** One imported detection of an image (image pixels). */
export interface Detection {
  /** Its name in the source (`annotation <id>` or `detection <index>`), recorded with the mask it selects. */
  sourceId: string;
  /** COCO [x, y, width, height], width and height > 0. */
  bbox: [number, number, number, number];
  /** The detector's confidence; absent when the file has none (the detection is then always used). */
  score?: number;
  /** The detector's own mask, H×W, when the file has one: the overlap is then pixel intersection with it. */
  mask?: BinaryMask;
}

/** The half-open pixel range [x0, x1) × [y0, y1) of a COCO box: pixels whose centre lies inside, clipped to `size`. */
export interface PixelRange {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * The pixels of a COCO box [x, y, w, h]: columns c with x ≤ c + 0.5 < x + w, rows likewise (the centre rule of
 * `polygonsToMask`, so a box and its polygon cover the same pixels), clipped to the image. Null when no pixel of the
 * image is covered.
 */
export function boxPixels(bbox: readonly [number, number, number, number], size: Size): PixelRange | null {
  const [x, y, w, h] = bbox;
  const x0 = Math.max(0, Math.ceil(x - 0.5));
  const y0 = Math.max(0, Math.ceil(y - 0.5));
  const x1 = Math.min(size.width, Math.ceil(x + w - 0.5));
  const y1 = Math.min(size.height, Math.ceil(y + h - 0.5));
  return x1 > x0 && y1 > y0 ? { x0, y0, x1, y1 } : null;
}

/** How a detection met a SAM mask. */
export interface BoxMatch {
  /** Index of the detection in the input list. */
  detection: number;
  sourceId: string;
  /** Index of the chosen SAM mask in `proposals` (the generator's order). */
  proposal: number;
  /** Pixels shared by the detection's mask (or box) and the chosen SAM mask. */
  overlap: number;
  /** `mask`: the detection's segmentation (the released measure); `box`: its box standing in for it. */
  measure: 'mask' | 'box';
}

/** What happened to one detection, with a reason the UI can show. */
export interface BoxDecision {
  sourceId: string;
  used: boolean;
  /** The chosen SAM mask's index, when used. */
  proposal?: number;
  reason: string;
}

/**
 * Selects SAM masks with detections, as the released code does (see the module comment): each detection with
 * `score > minScore` (or no score), best score first, takes the SAM mask of largest overlap, the first one on a tie,
 * mask 0 when it overlaps none. `selected[i]` is the SAM mask of `matches[i]`; the same mask may appear more than
 * once. No SAM mask: nothing is selected.
 *
 * Shapes: every `proposals[j].mask` and `detections[z].mask` is H×W (row-major, 1 = inside); boxes are clipped to
 * H×W. Cost: one H×W summed-area table per SAM mask for the boxes, plus |detection mask| per pair.
 */
export function selectByDetections<T extends { mask: BinaryMask }>(
  proposals: readonly T[],
  detections: readonly Detection[],
  options: { minScore: number },
): { selected: T[]; matches: BoxMatch[]; decisions: BoxDecision[] } {
  let used: number[] = [];
  const decisions: BoxDecision[] = detections.map((d, z) => {
    if (d.score !== undefined && !(d.score > options.minScore))
      return {
        sourceId: d.sourceId,
        used: false,
        reason: `ignored: score ${d.score} is not above ${options.minScore}`,
      };
    used.push(z);
    return { sourceId: d.sourceId, used: true, reason: '' };
  });
  // CutLER's order: by score, best first (stable; unscored last, in file order)
  const score = (z: number) => detections[z].score ?? Number.NEGATIVE_INFINITY;
  used = used.sort((a, b) => score(b) - score(a) || a - b);
  if (proposals.length === 0) {
    for (const z of used)
      Object.assign(decisions[z], { used: false, reason: 'no SAM mask was generated to match' });
    return { selected: [], matches: [], decisions };
  }
  const size = { width: proposals[0].mask.width, height: proposals[0].mask.height };
  // overlaps[u][j]: pixels shared by used detection u and SAM mask j
  const overlaps = used.map(() => new Float64Array(proposals.length));
  const boxes = used.map((z) => {
    const d = detections[z];
    if (d.mask) {
      sameSize(d.mask, size, `detection ${d.sourceId}`);
      return null;
    }
    // a box covering no pixel centre: the empty range, overlap 0 with every SAM mask
    return boxPixels(d.bbox, size) ?? { x0: 0, y0: 0, x1: 0, y1: 0 };
  });
  // the set pixels of each detection mask, counted once per SAM mask
  const maskPixels = used.map((z) => {
    const m = detections[z].mask;
    if (!m) return null;
    let n = 0;
    for (let i = 0; i < m.data.length; i++) if (m.data[i]) n++;
    const at = new Int32Array(n);
    n = 0;
    for (let i = 0; i < m.data.length; i++) if (m.data[i]) at[n++] = i;
    return at;
  });
  const table = boxes.some((b) => b) ? new Int32Array((size.width + 1) * (size.height + 1)) : null;
  proposals.forEach((p, j) => {
    sameSize(p.mask, size, `SAM mask ${j}`);
    const data = p.mask.data;
    if (table) summedArea(p.mask, table);
    used.forEach((_, u) => {
      const at = maskPixels[u];
      if (at) {
        let n = 0;
        for (let i = 0; i < at.length; i++) if (data[at[i]]) n++;
        overlaps[u][j] = n;
      } else {
        const r = boxes[u]!;
        const W = size.width + 1;
        overlaps[u][j] =
          table![r.y1 * W + r.x1] -
          table![r.y0 * W + r.x1] -
          table![r.y1 * W + r.x0] +
          table![r.y0 * W + r.x0];
      }
    });
  });
  const matches: BoxMatch[] = [];
  const selected: T[] = [];
  used.forEach((z, u) => {
    // torch.argmax: the first maximal index (all zeros → 0)
    let best = 0;
    for (let j = 1; j < proposals.length; j++) if (overlaps[u][j] > overlaps[u][best]) best = j;
    const d = detections[z];
    const measure = d.mask ? 'mask' : 'box';
    const overlap = overlaps[u][best];
    matches.push({ detection: z, sourceId: d.sourceId, proposal: best, overlap, measure });
    selected.push(proposals[best]);
    const ties = overlaps[u].filter((v) => v === overlap).length;
    decisions[z] = {
      sourceId: d.sourceId,
      used: true,
      proposal: best,
      reason:
        overlap === 0
          ? `overlaps no SAM mask: takes SAM mask 0, as the released code's argmax does`
          : `selects SAM mask ${best} (${overlap} px shared with its ${measure})${ties > 1 ? `, the first of ${ties} tied` : ''}`,
    };
  });
  return { selected, matches, decisions };
}

/** Fills `table` ((H+1)×(W+1), row-major) with the summed-area table of `mask`: table[y][x] = Σ mask[<y][<x]. */
function summedArea(mask: BinaryMask, table: Int32Array): void {
  const { width, height, data } = mask;
  const W = width + 1;
  table.fill(0, 0, W);
  for (let y = 0; y < height; y++) {
    let row = 0;
    table[(y + 1) * W] = 0;
    for (let x = 0; x < width; x++) {
      row += data[y * width + x] ? 1 : 0;
      table[(y + 1) * W + x + 1] = table[y * W + x + 1] + row;
    }
  }
}

function sameSize(mask: BinaryMask, size: Size, what: string): void {
  if (mask.width !== size.width || mask.height !== size.height)
    throw new RangeError(
      `${what} is ${mask.width}×${mask.height} but the SAM masks are ${size.width}×${size.height}`,
    );
}
