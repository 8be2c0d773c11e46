/**
 * The quality report of a project (DESIGN.md §7): counts, kept share, mean UoS/CoS/DoS per decoding method (beam,
 * plain sampling, DCS), DoS histograms, kept share vs τ and vocabulary size — all from stored scores — and, on the
 * shapes world, the oracle's identification rate (`evaluateProject`).
 */
import type { DecodingMethod } from '../../shared/results.ts';
import {
  decisionInputs,
  reviewedText,
  reviewMark,
  type KeepPolicy,
  type ReviewInput,
} from '../filter/index.ts';
import { decide, type DecisionInput } from '../../shared/decide.ts';
import { keptAtEach, type CounterColumns } from '../../shared/kept-counter.ts';
import {
  STATUS,
  type Project,
  type ResultCatalog,
  type ResultSummary,
  type SummaryCandidate,
} from '../pipeline/index.ts';
import { tokenize } from './export.ts';

/** A histogram: `counts[i]` values fall in [edges[i], edges[i+1]); the first and last bins also take values beyond. */
export interface Histogram {
  edges: number[];
  counts: number[];
}

/** Mean scores of one group of candidates (null ratios left out of the means). */
export interface ScoreMeans {
  count: number;
  uos: number | null;
  cos: number | null;
  dos: number | null;
  /** Candidates of this group kept at τ (comparison candidates: would be kept, had they been exportable). */
  keptShare: number | null;
}

/** Oracle identification rates (shapes world). */
export interface OracleRate {
  identified: number;
  total: number;
  rate: number | null;
}

/** The report. */
export interface QualityReport {
  tau: number;
  images: number;
  imagesFailed: number;
  masks: number;
  /** Exportable candidates (beam + DCS, or plain sampling when DCS is off). */
  candidates: number;
  /** Plain-sampling comparison candidates (scored, never exported). */
  comparisonCandidates: number;
  kept: number;
  keptShare: number | null;
  means: Record<DecodingMethod, ScoreMeans>;
  dosHistogram: Record<DecodingMethod, Histogram>;
  keptShareVsTau: { tau: number[]; share: (number | null)[] };
  /** Distinct words in kept expressions, and in all candidates. */
  vocabularySize: number;
  vocabularyAll: number;
  /** Per-image failures with their reason. */
  failures: { image: string; stage: string; code: string; message: string }[];
  oracle: null | {
    all: OracleRate;
    kept: OracleRate;
    byMethod: Record<DecodingMethod, OracleRate>;
    keptByMethod: Record<DecodingMethod, OracleRate>;
  };
}

const METHODS: DecodingMethod[] = ['beam', 'sampling', 'dcs'];
/** DoS histogram bins: 0 … 3 in steps of 0.1 (τ = 1.3 falls on an edge). */
const DOS_EDGES = Array.from({ length: 31 }, (_, i) => round(i * 0.1));
/** τ grid of the kept-share curve. */
const TAU_GRID = Array.from({ length: 17 }, (_, i) => round(0.8 + i * 0.1));

/**
 * Decides every candidate as if it were exportable: comparison candidates get the decision a normal candidate with
 * their scores would get, so the report can say how often plain sampling would pass the filter.
 */
export function decideForReport(
  result: ResultSummary,
  policy: KeepPolicy,
  review?: ReviewInput | null,
): boolean[] {
  // the review applies to exportable candidates (comparison ones are never shown for review); only the fields the
  // rule reads are copied (a paper-size report decides millions of candidates)
  const asExportable = result.candidates.map((c): DecisionInput => ({
    mask: c.mask,
    index: c.index,
    comparison: false,
    cos: c.scores.cos,
    dos: c.scores.dos,
    review: c.comparison ? null : reviewMark(review, result.image.id, c.mask, c.index),
  }));
  // comparison and exportable candidates of one mask must not compete in keep-best: decide each group apart
  const exportable = decide(
    asExportable.filter((c, k) => !result.candidates[k].comparison),
    result.masks.length,
    policy,
    result.image.id,
  );
  const comparison = decide(
    asExportable.filter((c, k) => result.candidates[k].comparison),
    result.masks.length,
    policy,
    result.image.id,
  );
  let e = 0;
  let p = 0;
  return result.candidates.map((c) => (c.comparison ? comparison[p++].kept : exportable[e++].kept));
}

/** How {@link buildReport} may be sped up by a caller that already counts kept candidates at any τ. */
export interface ReportOptions {
  /**
   * Exportable candidates kept at `tau` over the whole project, by the same rule and review (the app's columnar
   * counter, shared/kept-counter.ts): the kept-share curve is read from it instead of deciding every image at each τ
   * of the grid (17 more `decide` runs per image).
   */
  keptAt?: (tau: number) => number;
}

/**
 * Builds the report from committed results at τ = `policy.tau`, with the project's review applied as exports apply it
 * (accepted kept, rejected and deleted masks' candidates dropped; the kept vocabulary reads edited texts).
 */
export function buildReport(
  results: Iterable<ResultSummary>,
  policy: KeepPolicy,
  review?: ReviewInput | null,
  options: ReportOptions = {},
): QualityReport {
  // one pass over the results (a project's are streamed from the store, never held): running sums in the order the
  // old array code added them, so every figure is the same to the bit
  const groups = new Map<DecodingMethod, MethodSums>(METHODS.map((m) => [m, methodSums()]));
  const vocabKept = new Set<string>();
  const vocabAll = new Set<string>();
  const shareTotal = TAU_GRID.map(() => 0);
  const shareKept = TAU_GRID.map(() => 0);
  const failures: QualityReport['failures'] = [];
  // captions repeat across images: a text whose words are already in a vocabulary is not tokenized again
  const seenAll = new BoundedSet(TEXTS_REMEMBERED);
  const seenKept = new BoundedSet(TEXTS_REMEMBERED);
  let images = 0;
  let masks = 0;
  let candidates = 0;
  let comparison = 0;
  let kept = 0;
  for (const result of results) {
    if (result.status !== 'done') {
      failures.push({
        image: result.image.name,
        stage: result.error?.stage ?? '',
        code: result.error?.code ?? '',
        message: result.error?.message ?? '',
      });
      continue;
    }
    images++;
    masks += result.masks.length;
    const decisions = decideForReport(result, policy, review);
    // an image repeats its captions across crops and settings: each distinct text is tokenized once
    const textsAll = new Set<string>();
    const textsKept = new Set<string>();
    result.candidates.forEach((c, k) => {
      addTo(groups.get(c.method)!, c, decisions[k]);
      textsAll.add(c.text);
      if (c.comparison) {
        comparison++;
        return;
      }
      candidates++;
      if (decisions[k]) {
        kept++;
        textsKept.add(reviewedText(result.image.id, c, review).text);
      }
    });
    for (const text of textsAll) if (seenAll.add(text)) for (const w of tokenize(text)) vocabAll.add(w);
    for (const text of textsKept) if (seenKept.add(text)) for (const w of tokenize(text)) vocabKept.add(w);
    if (options.keptAt) continue;
    // the rule's inputs built once per image, decided at each τ of the grid (decideResult's semantics: comparisons
    // are never kept and do not count)
    const inputs = decisionInputs(result, review);
    const exportable = inputs.reduce((n, c) => n + (c.comparison ? 0 : 1), 0);
    TAU_GRID.forEach((tau, t) => {
      shareTotal[t] += exportable;
      for (const d of decide(inputs, result.masks.length, { ...policy, tau }, result.image.id))
        if (d.kept) shareKept[t]++;
    });
  }
  if (options.keptAt)
    TAU_GRID.forEach((tau, t) => {
      shareTotal[t] = candidates;
      shareKept[t] = options.keptAt!(tau);
    });
  const means = {} as Record<DecodingMethod, ScoreMeans>;
  const dosHistogram = {} as Record<DecodingMethod, Histogram>;
  for (const method of METHODS) {
    const g = groups.get(method)!;
    means[method] = {
      count: g.count,
      uos: g.uos.n > 0 ? g.uos.sum / g.uos.n : null,
      cos: g.cos.n > 0 ? g.cos.sum / g.cos.n : null,
      dos: g.dos.n > 0 ? g.dos.sum / g.dos.n : null,
      keptShare: g.count > 0 ? g.kept / g.count : null,
    };
    dosHistogram[method] = { edges: [...DOS_EDGES], counts: g.histogram };
  }
  return {
    tau: policy.tau,
    images,
    imagesFailed: failures.length,
    masks,
    candidates,
    comparisonCandidates: comparison,
    kept,
    keptShare: candidates > 0 ? kept / candidates : null,
    means,
    dosHistogram,
    keptShareVsTau: { tau: TAU_GRID, share: shareTotal.map((n, t) => (n > 0 ? shareKept[t] / n : null)) },
    vocabularySize: vocabKept.size,
    vocabularyAll: vocabAll.size,
    failures,
    oracle: null,
  };
}

/** Running sums of one decoding method's candidates. */
interface MethodSums {
  count: number;
  kept: number;
  uos: { sum: number; n: number };
  cos: { sum: number; n: number };
  dos: { sum: number; n: number };
  histogram: number[];
}

function methodSums(): MethodSums {
  return {
    count: 0,
    kept: 0,
    uos: { sum: 0, n: 0 },
    cos: { sum: 0, n: 0 },
    dos: { sum: 0, n: 0 },
    histogram: new Array<number>(DOS_EDGES.length - 1).fill(0),
  };
}

/** Texts a report remembers as tokenized (a paper-size project's distinct captions would otherwise all be held). */
const TEXTS_REMEMBERED = 200_000;

/** A set that forgets everything once it holds `limit` values: `add` answers whether the value was new to it. */
class BoundedSet {
  #values = new Set<string>();
  constructor(private readonly limit: number) {}
  add(value: string): boolean {
    if (this.#values.has(value)) return false;
    if (this.#values.size >= this.limit) this.#values = new Set();
    this.#values.add(value);
    return true;
  }
}

function addTo(g: MethodSums, c: SummaryCandidate, kept: boolean): void {
  g.count++;
  if (kept) g.kept++;
  addFinite(g.uos, c.scores.uos);
  addFinite(g.cos, c.scores.cos);
  addFinite(g.dos, c.scores.dos);
  if (c.scores.dos !== null) g.histogram[binOf(c.scores.dos, DOS_EDGES)]++;
}

function addFinite(acc: { sum: number; n: number }, v: number | null): void {
  if (v !== null && Number.isFinite(v)) {
    acc.sum += v;
    acc.n++;
  }
}

/** The bin of `v` among `edges` (values outside go to the first/last bin). */
function binOf(v: number, edges: readonly number[]): number {
  for (let i = 0; i < edges.length - 1; i++) if (v >= edges[i] && v < edges[i + 1]) return i;
  return v < edges[0] ? 0 : edges.length - 2;
}

/** Bins values into a histogram with the given edges (values outside go to the first/last bin). */
export function histogram(values: readonly number[], edges: readonly number[]): Histogram {
  if (edges.length < 2) throw new Error('histogram: needs at least two edges');
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const v of values) counts[binOf(v, edges)]++;
  return { edges: [...edges], counts };
}

/** Mean of the non-null values, or null when there are none. */
export function mean(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return present.length > 0 ? present.reduce((s, v) => s + v, 0) / present.length : null;
}

/** Formats the report as text for the terminal. */
export function formatReport(report: QualityReport): string {
  const f = (v: number | null, digits = 3) => (v === null ? '—' : v.toFixed(digits));
  const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(1)}%`);
  const lines = [
    `images: ${report.images} done, ${report.imagesFailed} failed · masks: ${report.masks} · candidates: ${report.candidates} (+${report.comparisonCandidates} plain-sampling comparison)`,
    `kept at τ=${report.tau}: ${report.kept} (${pct(report.keptShare)}) · vocabulary: ${report.vocabularySize} words kept, ${report.vocabularyAll} in all candidates`,
    '',
    'method     count   mean UoS  mean CoS  mean DoS  kept',
    ...METHODS.map((m) => {
      const s = report.means[m];
      return `${m.padEnd(9)} ${String(s.count).padStart(6)}  ${f(s.uos).padStart(8)}  ${f(s.cos, 2).padStart(8)}  ${f(s.dos).padStart(8)}  ${pct(s.keptShare).padStart(6)}`;
    }),
    '',
    `kept share vs τ: ${report.keptShareVsTau.tau.map((t, i) => `${t.toFixed(1)}:${pct(report.keptShareVsTau.share[i])}`).join(' ')}`,
    '',
    'DoS histogram (all methods, bin width 0.1 from 0 to 3):',
    ...histogramLines(report),
  ];
  if (report.oracle) {
    const o = report.oracle;
    lines.push('', 'oracle identification rate (shapes world):');
    lines.push(
      `  all candidates  ${pct(o.all.rate)} (${o.all.identified}/${o.all.total})   kept  ${pct(o.kept.rate)} (${o.kept.identified}/${o.kept.total})`,
    );
    for (const m of METHODS) {
      lines.push(
        `  ${m.padEnd(9)} all ${pct(o.byMethod[m].rate).padStart(6)} (${o.byMethod[m].identified}/${o.byMethod[m].total})   kept ${pct(o.keptByMethod[m].rate).padStart(6)} (${o.keptByMethod[m].identified}/${o.keptByMethod[m].total})`,
      );
    }
  }
  if (report.failures.length > 0) {
    lines.push(
      '',
      `failed images (${report.failures.length}):`,
      ...report.failures.map((e) => `  ${e.image}: [${e.stage}/${e.code}] ${e.message}`),
    );
  }
  return lines.join('\n');
}

function histogramLines(report: QualityReport): string[] {
  const total = report.dosHistogram.beam.counts.map((_, i) =>
    METHODS.reduce((s, m) => s + report.dosHistogram[m].counts[i], 0),
  );
  const max = Math.max(1, ...total);
  return total.map((count, i) => {
    const edge = report.dosHistogram.beam.edges[i];
    return `  ${edge.toFixed(1).padStart(4)} ${'█'.repeat(Math.round((40 * count) / max)).padEnd(40)} ${count}`;
  });
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Columns of the catalog's latest finished results, one position per image (first-seen order). */
export function catalogColumns(catalog: ResultCatalog): CounterColumns {
  const c = catalog.columns;
  const status = c.status.view();
  const candStart = c.candStart.view();
  const maskCounts = c.maskCount.view();
  const ids: number[] = [];
  const records: number[] = [];
  for (const id of catalog.ids()) {
    const r = catalog.record(id)!;
    if (status[r] !== STATUS.done) continue;
    ids.push(id);
    records.push(r);
  }
  const n = ids.length;
  const imageIds = Uint32Array.from(ids);
  const maskCount = new Uint16Array(n);
  const start = new Uint32Array(n);
  const end = new Uint32Array(n);
  for (let p = 0; p < n; p++) {
    const r = records[p];
    maskCount[p] = maskCounts[r];
    start[p] = candStart[r];
    end[p] = candStart[r + 1];
  }
  return {
    imageIds,
    maskCount,
    start,
    end,
    mask: c.mask.view(),
    index: c.index.view(),
    score: c.score.view(),
  };
}

/**
 * The report of a project at `policy.tau`: one streamed pass over its latest results' summaries, with the kept-share
 * curve counted from the columns (shared/kept-counter.ts, equal to `decide`) instead of deciding every image at every τ.
 */
export function projectReport(
  project: Project,
  policy: KeepPolicy,
  review?: ReviewInput | null,
): QualityReport {
  return buildReport(project.catalog.summaries(), policy, review, {
    keptAt: projectKeptAtFor(project, policy, review),
  });
}

/**
 * The project's kept count at any τ under `policy` and `review` (the report's kept-share curve): the τ grid counted
 * in one pass over the columns when first asked, another τ on its own.
 */
export function projectKeptAtFor(
  project: Project,
  policy: KeepPolicy,
  review?: ReviewInput | null,
): (tau: number) => number {
  const { tau: _tau, ...rest } = policy;
  void _tau;
  const columns = catalogColumns(project.catalog);
  let grid: Map<number, number> | null = null;
  return (tau) => {
    grid ??= new Map(keptAtEach(columns, rest, review, TAU_GRID).map((kept, t) => [TAU_GRID[t], kept]));
    return grid.get(tau) ?? keptAtEach(columns, rest, review, [tau])[0];
  };
}
