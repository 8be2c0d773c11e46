/**
 * The open project's kept counts at any τ, from the catalog's columns (shared/kept-counter.ts): built once per
 * catalog state and policy, its review part once per review change; each τ then costs two binary searches plus the
 * marked images. The gallery's pages, `filter:counts` and the τ slider's histogram read it; nothing here decodes a
 * result.
 */
import { keepPolicy } from '../../shared/decide.ts';
import { buildKeptBase, keptCounter, type KeptBase, type KeptCounter } from '../../shared/kept-counter.ts';
import { catalogColumns } from '../dataset/index.ts';
import type { ResultCatalog } from '../pipeline/index.ts';
import type { ReviewStore } from './review-store.ts';
import type { SessionState } from './session-state.ts';

/** The τ slider's histogram: bins of this width from 0 (values beyond fall in the last bin). */
export const HISTOGRAM = { width: 3 / 40, bins: 40 };

/** The open project's counter, rebuilt when the results, the policy or the review change. */
export class ProjectCounts {
  #base: { catalog: ResultCatalog; records: number; key: string; base: KeptBase } | null = null;
  #counter: { base: KeptBase; version: number; counter: KeptCounter } | null = null;
  /** Milliseconds the last base build took (the bench and the report print it). */
  lastBuildMs = 0;

  constructor(
    private readonly session: SessionState,
    private readonly review: ReviewStore,
  ) {}

  counter(): KeptCounter {
    const project = this.session.require();
    const catalog = project.catalog;
    const { tau: _tau, ...policy } = keepPolicy(project.file.settings);
    const key = JSON.stringify(policy);
    const cached = this.#base;
    if (
      !cached ||
      cached.catalog !== catalog ||
      cached.records !== catalog.columns.records ||
      cached.key !== key
    ) {
      const started = performance.now();
      this.#base = {
        catalog,
        records: catalog.columns.records,
        key,
        base: buildKeptBase(catalogColumns(catalog), policy),
      };
      this.lastBuildMs = performance.now() - started;
    }
    const base = this.#base!.base;
    if (this.#counter?.base !== base || this.#counter.version !== this.review.version)
      this.#counter = { base, version: this.review.version, counter: keptCounter(base, this.review.state) };
    return this.#counter.counter;
  }

  /** The DoS histogram of the finished images' exportable candidates (single-mask images have none). */
  histogram(): { width: number; counts: number[] } {
    const counts = new Array<number>(HISTOGRAM.bins).fill(0);
    for (const dos of this.counter().base.dos) {
      if (!Number.isFinite(dos)) continue;
      counts[Math.min(HISTOGRAM.bins - 1, Math.max(0, Math.floor(dos / HISTOGRAM.width)))]++;
    }
    return { width: HISTOGRAM.width, counts };
  }
}
