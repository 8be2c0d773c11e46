/**
 * Dataset names, splitBy values, CRIS folder names and split assignment, as the RIS loaders spell and expect them
 * (research/formats.md §1): refer.py exits on other dataset names and other split names; CRIS's
 * `tools/data_process.py` writes `refcocog` as `refcocog_u` (splitBy umd) or `refcocog_g` (google), and its configs,
 * `folder2lmdb.py` and the LMDB names use those folders.
 */
import { createHash } from 'node:crypto';
import {
  CRIS_HAS_NO_REFCLEF,
  crisFolderName,
  DEFAULT_REFER_DATASET,
  REFER_DATASETS,
  SPLIT_BY,
  SPLIT_NAMES,
  splitByMismatch,
  type ReferDataset,
} from '../../../shared/formats.ts';

export { REFER_DATASETS, SPLIT_BY, SPLIT_NAMES, type ReferDataset } from '../../../shared/formats.ts';

/** Checks a dataset name and resolves its splitBy (default: the dataset's first). */
export function resolveDataset(
  dataset: string | undefined,
  splitBy: string | undefined,
): { dataset: ReferDataset; splitBy: string } {
  const name = dataset ?? DEFAULT_REFER_DATASET;
  if (!(REFER_DATASETS as readonly string[]).includes(name)) {
    throw new Error(
      `dataset "${name}" is not one refer.py accepts (${REFER_DATASETS.join(', ')}); the RIS code exits on other names`,
    );
  }
  const by = splitBy ?? SPLIT_BY[name as ReferDataset][0]!;
  const mismatch = splitByMismatch(name as ReferDataset, by);
  if (mismatch) throw new Error(`splitBy "${by}" ${mismatch}`);
  return { dataset: name as ReferDataset, splitBy: by };
}

/** CRIS's folder name for a dataset and splitBy (`anns/<folder>`, `masks/<folder>`, `lmdb/<folder>`). */
export function crisFolder(dataset: ReferDataset, splitBy: string): string {
  if (dataset === 'refclef') throw new Error(CRIS_HAS_NO_REFCLEF);
  return crisFolderName(dataset, splitBy);
}

/** One split of a `--split-by-image` spec. */
export interface SplitShare {
  name: string;
  share: number;
}

/**
 * Parses a split spec: a single name (`train`: every image in it) or `name=share,…` with shares summing to 1, e.g.
 * `train=0.8,val=0.1,test=0.1` or `train=0.8,testA=0.1,testB=0.1`.
 */
export function parseSplits(spec: string): SplitShare[] {
  const text = spec.trim();
  const parts = text.includes('=') ? text.split(',').map((p) => p.trim()) : [`${text}=1`];
  const splits = parts.map((part) => {
    const [name, value, extra] = part.split('=');
    const share = Number(value);
    if (extra !== undefined || value === undefined || value.trim() === '' || !Number.isFinite(share))
      throw new Error(`split "${part}" must be name=share, e.g. train=0.8`);
    if (!(SPLIT_NAMES as readonly string[]).includes(name))
      throw new Error(`split "${name}" is not one refer.py accepts (${SPLIT_NAMES.join(', ')})`);
    if (share <= 0 || share > 1) throw new Error(`split ${name}'s share must lie in (0, 1], got ${value}`);
    return { name, share };
  });
  const names = splits.map((s) => s.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`split ${twice} is named twice`);
  const total = splits.reduce((sum, s) => sum + s.share, 0);
  if (Math.abs(total - 1) > 1e-6)
    throw new Error(`split shares must sum to 1, got ${Number(total.toFixed(6))}`);
  return splits;
}

/**
 * Assigns images to splits, an image with all its refs in one split. The order is that of sha256(seed:content hash),
 * so it depends only on the images' bytes and the seed; split k takes the next round(share·n) images (largest
 * remainder), and every split gets at least one image — or an error says how many images are missing.
 *
 * @returns split name per image key (the caller's key: image id)
 */
export function assignSplits<K>(
  images: ReadonlyArray<{ key: K; sha256: string }>,
  splits: readonly SplitShare[],
  seed: number,
): Map<K, string> {
  const n = images.length;
  if (splits.length > 1 && n < splits.length) {
    throw new Error(
      `${n} image(s) with kept expressions cannot fill ${splits.length} splits (${splits.map((s) => s.name).join(', ')}): ` +
        'every split needs at least one image; export more images or name fewer splits',
    );
  }
  const exact = splits.map((s) => s.share * n);
  const counts = exact.map(Math.floor);
  const order = exact
    .map((e, k) => ({ k, frac: e - Math.floor(e) }))
    .sort((a, b) => b.frac - a.frac || a.k - b.k);
  for (let r = 0, left = n - counts.reduce((a, b) => a + b, 0); r < left; r++) counts[order[r].k]++;
  // every split non-empty: take from the largest
  for (let k = 0; k < counts.length; k++) {
    while (counts[k] === 0 && n > 0) {
      const largest = counts.indexOf(Math.max(...counts));
      counts[largest]--;
      counts[k]++;
    }
  }
  const ranked = images
    .map((image) => ({
      key: image.key,
      rank: createHash('sha256').update(`${seed}:${image.sha256}`).digest('hex'),
      sha256: image.sha256,
    }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
  const out = new Map<K, string>();
  let next = 0;
  splits.forEach((split, k) => {
    for (let i = 0; i < counts[k]; i++) out.set(ranked[next++].key, split.name);
  });
  return out;
}

/** `COCO_train2014_%012d.jpg`. */
export function cocoName(id: number): string {
  return `COCO_train2014_${String(id).padStart(12, '0')}.jpg`;
}
