/**
 * τ slider re-filtering (issues 7, 6): the page builds the shared kept-count index once per policy (or review change)
 * by running the shared `decide` at each image's distinct DoS values, then answers "how many are kept at τ" with a
 * binary search, so moving the slider never calls the engine. Prints, for 10,000 and 100,000 candidates (220 per
 * image = 5 masks × 44, 20 % single-mask images, a few review marks), the index build time per policy and the cost of
 * one slider move, next to re-running `decide` over every image per move (what the page would do without the index).
 */
import {
  buildKeptIndex,
  decide,
  keptCountAt,
  REVIEW_CODES,
  type DecisionColumns,
  type DecisionInput,
} from '../src/shared/decide.ts';

function project(n: number): {
  columns: DecisionColumns;
  images: { inputs: DecisionInput[]; maskCount: number }[];
} {
  const perImage = 220;
  const imageCount = Math.ceil(n / perImage);
  const image = new Int32Array(n);
  const mask = new Int32Array(n);
  const cos = new Float64Array(n);
  const dos = new Float64Array(n);
  const review = new Int8Array(n);
  const maskCounts = new Int32Array(imageCount);
  const images: { inputs: DecisionInput[]; maskCount: number }[] = [];
  for (let i = 0; i < n; i++) {
    const im = Math.floor(i / perImage);
    const single = im % 5 === 0;
    maskCounts[im] = single ? 1 : 5;
    image[i] = im;
    mask[i] = single ? 0 : Math.floor((i % perImage) / 44);
    cos[i] = 15 + ((i * 31) % 20);
    // deterministic DoS spread over [0, 3) with ties (two decimals, as clustered scores tie)
    dos[i] = single ? Number.NaN : Math.round((((i * 7919) % n) / (n / 3)) * 100) / 100;
    review[i] = i % 97 === 0 ? REVIEW_CODES.accepted : i % 89 === 0 ? REVIEW_CODES.rejected : 0;
  }
  const marks = [null, 'accepted', 'rejected', 'mask-deleted'] as const;
  for (let im = 0; im < imageCount; im++) {
    const inputs: DecisionInput[] = [];
    for (let i = im * perImage; i < Math.min(n, (im + 1) * perImage); i++) {
      inputs.push({
        mask: mask[i],
        index: i,
        comparison: false,
        cos: cos[i],
        dos: Number.isNaN(dos[i]) ? null : dos[i],
        review: marks[review[i]],
      });
    }
    images.push({ inputs, maskCount: maskCounts[im] });
  }
  return { columns: { image, mask, cos, dos, review, maskCounts }, images };
}

/** Prints the figures. */
export async function run(): Promise<void> {
  for (const n of [10_000, 100_000]) {
    const { columns, images } = project(n);
    for (const policy of [
      { singleMask: 'keep-all', singleMaskShare: 0.5, emptyMask: 'drop', seed: 0 },
      { singleMask: 'keep-by-cos-rank', singleMaskShare: 0.5, emptyMask: 'keep-best', seed: 0 },
    ] as const) {
      let start = performance.now();
      const index = buildKeptIndex(columns, policy);
      const buildMs = performance.now() - start;

      const moves = 100_000;
      let checksum = 0;
      start = performance.now();
      for (let i = 0; i < moves; i++) checksum += keptCountAt(index, (i % 300) / 100);
      const perMoveUs = ((performance.now() - start) / moves) * 1000;

      const scans = n > 10_000 ? 5 : 20;
      start = performance.now();
      for (let i = 0; i < scans; i++) {
        const tau = (i % 300) / 100;
        for (const { inputs, maskCount } of images)
          checksum += decide(inputs, maskCount, { ...policy, tau }).filter((d) => d.kept).length;
      }
      const perScanMs = (performance.now() - start) / scans;
      // The checksum is printed so the timed loops have an observable result.
      console.log(
        `${n} candidates, single-mask ${policy.singleMask}, empty-mask ${policy.emptyMask}: index built in ${buildMs.toFixed(1)} ms (${index.steps.length} steps); one τ move ${perMoveUs.toFixed(2)} µs (binary search) vs ${perScanMs.toFixed(1)} ms (decide over every image); checksum ${checksum}`,
      );
    }
  }
}
