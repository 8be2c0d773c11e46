/**
 * τ slider re-filtering (issues 7, 6, 20): the engine builds the columnar kept counter (shared/kept-counter.ts) once
 * per policy (its review part once per review change), then answers "how many are kept at τ" with two binary
 * searches plus `decide` over the reviewed images, so a slider move never decides every image. Prints, for 10,000 and
 * 100,000 candidates (220 per image = 5 masks × 44, 20 % single-mask images, one image in 25 reviewed), the
 * counter's build time per policy and the cost of one slider move, next to re-running `decide` over every image.
 */
import { decide, reviewMark, type DecisionInput, type ReviewInput } from '../src/shared/decide.ts';
import {
  buildKeptBase,
  keptCounter,
  projectKeptAt,
  type CounterColumns,
} from '../src/shared/kept-counter.ts';

function project(n: number): {
  columns: CounterColumns;
  review: ReviewInput;
  images: { inputs: DecisionInput[]; maskCount: number; id: number }[];
} {
  const perImage = 220;
  const imageCount = Math.ceil(n / perImage);
  const mask = new Uint16Array(n);
  const index = new Uint16Array(n);
  const cos = new Float64Array(n);
  const dos = new Float64Array(n);
  const imageIds = Int32Array.from({ length: imageCount }, (_, im) => im + 1);
  const maskCount = new Int32Array(imageCount);
  const start = new Int32Array(imageCount);
  const end = new Int32Array(imageCount);
  const review: ReviewInput = { decisions: {}, edits: {}, deletedMasks: [] };
  for (let i = 0; i < n; i++) {
    const im = Math.floor(i / perImage);
    const single = im % 5 === 0;
    maskCount[im] = single ? 1 : 5;
    start[im] = im * perImage;
    end[im] = Math.min(n, (im + 1) * perImage);
    mask[i] = single ? 0 : Math.floor((i % perImage) / 44);
    index[i] = i % perImage;
    cos[i] = 15 + ((i * 31) % 20);
    // deterministic DoS spread over [0, 3) with ties (two decimals, as clustered scores tie)
    dos[i] = single ? Number.NaN : Math.round((((i * 7919) % n) / (n / 3)) * 100) / 100;
    // a few reviewed images (one in 25), each with a few marks: the counter decides those at every move
    const mark = im % 25 !== 3 ? null : i % 97 === 0 ? 'accepted' : i % 89 === 0 ? 'rejected' : null;
    if (mark) review.decisions[`${imageIds[im]}:${mask[i]}:${index[i]}`] = mark;
  }
  // the store's one column: DoS, or CoS in a single-mask image (pipeline/store/columns.ts ruleScore)
  const score = Float64Array.from(cos, (c, i) => (maskCount[Math.floor(i / perImage)] === 1 ? c : dos[i]));
  const columns: CounterColumns = { imageIds, maskCount, start, end, mask, index, score };
  const images = Array.from(imageIds, (id, im) => {
    const inputs: DecisionInput[] = [];
    for (let i = start[im]; i < end[im]; i++)
      inputs.push({
        mask: mask[i],
        index: index[i],
        comparison: false,
        cos: cos[i],
        dos: Number.isNaN(dos[i]) ? null : dos[i],
        review: reviewMark(review, id, mask[i], index[i]),
      });
    return { inputs, maskCount: maskCount[im], id };
  });
  return { columns, review, images };
}

/** Prints the figures. */
export async function run(): Promise<void> {
  for (const n of [10_000, 100_000]) {
    const { columns, review, images } = project(n);
    for (const policy of [
      { singleMask: 'keep-all', singleMaskShare: 0.5, emptyMask: 'drop', seed: 0 },
      { singleMask: 'keep-by-cos-rank', singleMaskShare: 0.5, emptyMask: 'keep-best', seed: 0 },
    ] as const) {
      let start = performance.now();
      const counter = keptCounter(buildKeptBase(columns, policy), review);
      const buildMs = performance.now() - start;

      const moves = 100_000;
      let checksum = 0;
      start = performance.now();
      for (let i = 0; i < moves; i++) checksum += projectKeptAt(counter, (i % 300) / 100);
      const perMoveUs = ((performance.now() - start) / moves) * 1000;

      const scans = n > 10_000 ? 5 : 20;
      start = performance.now();
      for (let i = 0; i < scans; i++) {
        const tau = (i % 300) / 100;
        for (const { inputs, maskCount, id } of images)
          checksum += decide(inputs, maskCount, { ...policy, tau }, id).filter((d) => d.kept).length;
      }
      const perScanMs = (performance.now() - start) / scans;
      // The checksum is printed so the timed loops have an observable result.
      console.log(
        `${n} candidates, single-mask ${policy.singleMask}, empty-mask ${policy.emptyMask}: counter built in ${buildMs.toFixed(1)} ms (${counter.marked.size} reviewed images); one τ move ${perMoveUs.toFixed(2)} µs (binary searches) vs ${perScanMs.toFixed(1)} ms (decide over every image); checksum ${checksum}`,
      );
    }
  }
}
