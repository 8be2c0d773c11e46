/**
 * The open project's outputs: the page's τ columns and kept counts re-filtered from stored scores, the report
 * (scored against the ground truth of demo scenes where the project has it) and the exports. Every one applies the
 * review through the shared keep rule.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiError,
  type DosScores,
  type ExportResult,
  type ExportSplitCount,
  type KeptCounts,
  type ParsedParams,
  type ReportView,
  type RequestContext,
} from '../../shared/api.ts';
import { hasRefs, type ExportFormat } from '../../shared/formats.ts';
import {
  buildReport,
  evaluateResults,
  exportProject,
  oracleCache,
  readGroundTruth,
  type OracleCache,
} from '../dataset/index.ts';
import type { GroundTruth } from '../demo/index.ts';
import { imageKeptAt, projectKeptAt } from '../../shared/kept-counter.ts';
import { keepPolicy } from '../filter/index.ts';
import type { ResultCatalog } from '../pipeline/index.ts';
import { ProjectCounts } from './kept-counts.ts';
import type { ReviewStore } from './review-store.ts';
import { DEMO_SCENES, type SessionState } from './session-state.ts';
import { parseId, reviewedByImage } from './views.ts';

/** τ re-filtering, report and export of the open project. */
export class ReportExport {
  /**
   * The demo project's ground truth as last read (re-read when the file changes) and the oracle's τ-independent work
   * over it, so that a report per τ move redoes only the τ-dependent counting.
   */
  #truth: { path: string; stamp: string; truth: GroundTruth; cache: OracleCache } | null = null;
  /** The last report and what it was computed for. */
  #report: { catalog: ResultCatalog; key: string; view: ReportView } | null = null;
  /** Kept counts at any τ from the catalog's columns. */
  readonly counts: ProjectCounts;

  constructor(
    private readonly session: SessionState,
    private readonly review: ReviewStore,
  ) {
    this.counts = new ProjectCounts(session, review);
  }

  /** The τ slider's view: the finished images' candidate count and DoS histogram (never the candidates). */
  dosScores(): DosScores {
    const project = this.session.require();
    const base = this.counts.counter().base;
    return {
      tau: project.file.settings.filter.tau,
      candidates: base.total,
      images: base.columns.imageIds.length,
      histogram: this.counts.histogram(),
    };
  }

  /**
   * Kept counts at τ from the columns (kept-counts.ts), equal to deciding every image: the project's, and per image
   * for `imageIds` (every finished image when left out — small projects and tests; the page names its tiles).
   */
  keptCounts({ tau, imageIds }: ParsedParams<'filter:counts'>): KeptCounts {
    const counter = this.counts.counter();
    const { columns, position } = counter.base;
    let masks = 0;
    for (let p = 0; p < columns.imageIds.length; p++) masks += columns.maskCount[p];
    const counts: KeptCounts = {
      tau,
      candidates: counter.base.total,
      kept: projectKeptAt(counter, tau),
      masks,
      perImage: {},
    };
    const positions = imageIds
      ? imageIds.flatMap((id) => {
          const p = position.get(parseId(id, 'image').image);
          return p === undefined ? [] : [p];
        })
      : Array.from(columns.imageIds, (_, p) => p);
    const reviewed = reviewedByImage(this.review.state);
    for (const p of positions)
      counts.perImage[String(columns.imageIds[p])] = {
        candidates: columns.end[p] - columns.start[p],
        kept: imageKeptAt(counter, p, tau),
        reviewed: reviewed.get(columns.imageIds[p]) ?? 0,
      };
    return counts;
  }

  report({ tau }: ParsedParams<'report:get'>): ReportView {
    const project = this.session.require();
    const policy = keepPolicy(project.file.settings, tau);
    const catalog = project.catalog;
    const truth = this.#groundTruth(join(project.dir, DEMO_SCENES, 'ground-truth.json'));
    // one pass over the log per (τ, policy, results, review, ground truth): a τ asked again is answered from here
    const key = JSON.stringify([policy, catalog.columns.records, this.review.version, truth?.stamp ?? null]);
    if (this.#report?.catalog === catalog && this.#report.key === key) return this.#report.view;
    // the kept-share curve from the columnar counter: the same rule and review, without deciding each image 17 times
    const counter = this.counts.counter();
    const options = { keptAt: (t: number) => projectKeptAt(counter, t) };
    const report = truth
      ? evaluateResults(catalog.latest(), truth.truth, policy, this.review.state, truth.cache, options)
      : buildReport(catalog.summaries(), policy, this.review.state, options);
    const kept = report.oracle?.kept;
    const view: ReportView = {
      tau: report.tau,
      images: report.images,
      imagesFailed: report.imagesFailed,
      masks: report.masks,
      candidates: report.candidates,
      kept: report.kept,
      keptShare: report.keptShare ?? 0,
      means: report.means,
      dosHistogram: report.dosHistogram,
      keptShareVsTau: {
        tau: report.keptShareVsTau.tau,
        share: report.keptShareVsTau.share.map((s) => s ?? 0),
      },
      vocabularySize: report.vocabularySize,
      oracle: kept ? { identified: kept.identified, total: kept.total, rate: kept.rate ?? 0 } : null,
      demo: project.file.pack?.demo ?? false,
    };
    this.#report = { catalog, key, view };
    return view;
  }

  /** The ground truth at `path` (null when there is none), read again only when the file changed. */
  #groundTruth(path: string): { truth: GroundTruth; cache: OracleCache; stamp: string } | null {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return (this.#truth = null);
    const stamp = `${stat.mtimeMs}:${stat.size}`;
    if (this.#truth?.path !== path || this.#truth.stamp !== stamp)
      this.#truth = { path, stamp, truth: readGroundTruth(path), cache: oracleCache() };
    return this.#truth;
  }

  /**
   * Writes each chosen format into `<dest>/<format>` (default `<project>/exports`), with the options of
   * `pseudo-ris export`: the refcoco/cris ones go to those formats only, and `appendTo` takes the place of the folder
   * of the one refcoco or cris format. Every user path passes the path policy, and each export writes only inside its
   * folder (`within`). The appended format goes first, so an export folder that refuses the append (another format,
   * dataset or splitBy) stops the request before any other format is written.
   */
  async export(params: ParsedParams<'export:run'>, context: RequestContext): Promise<ExportResult> {
    const { formats, dest, tau, split, singleMask, appendTo } = params;
    const refsOptions = {
      dataset: params.dataset,
      splitBy: params.splitBy,
      splitSeed: params.splitSeed,
      cocoNames: params.cocoNames,
      allowRepeat: params.allowRepeat,
      keepDuplicates: params.keepDuplicates,
    };
    const project = this.session.require();
    const out = dest
      ? await this.session.options.checkUserPath(dest, 'export destination')
      : join(project.dir, 'exports');
    const appendFolder = appendTo
      ? await this.session.options.checkUserPath(appendTo, 'export append-to folder')
      : undefined;
    // an export that does not exist is not created by a refused append
    if (appendFolder && !existsSync(appendFolder))
      throw new ApiError('not-found', `export append-to folder does not exist: ${appendTo}`);
    const appended = (format: ExportFormat) => appendFolder !== undefined && hasRefs(format);
    // every export writes the reproducibility record beside its files: `repro` has no folder of its own
    const order = formats
      .filter((format) => format !== 'repro')
      .sort((a, b) => Number(appended(b)) - Number(appended(a)));
    const files: string[] = [];
    const splits: ExportSplitCount[] = [];
    let expressions = 0;
    for (const format of order) {
      context.signal.throwIfAborted();
      const append = appended(format);
      // the format sub-folder gets the path policy too (it may be a symlink out), and every write re-checks it
      const folder = append
        ? appendFolder!
        : dest
          ? await this.session.options.checkUserPath(join(out, format), 'export folder')
          : join(out, format);
      // the review (accept keeps whatever τ says, reject and deleted masks drop, edits' texts) is applied by the
      // exporters through the shared keep rule, as the page counts and the report apply it
      const summary = await exportProject(project.dir, {
        format,
        out: folder,
        tau,
        split,
        singleMask,
        captionText: params.captionText,
        ...(hasRefs(format) ? refsOptions : {}),
        appendTo: append ? appendFolder : undefined,
        // the project's own exports folder is the app's to replace; a chosen destination only when asked
        overwrite: params.overwrite ?? dest === undefined,
        review: this.review.state,
        within: append ? appendFolder : dest ? out : project.dir,
        // image paths come from the project's files (untrusted): only the session's folders are read
        readable: (real) => this.session.scope.contains(real),
        onProgress: (done, total) => context.emit('export:progress', { format, done, total }),
      });
      files.push(...summary.files.map((file) => join(folder, file)));
      expressions = Math.max(expressions, summary.expressions);
      for (const count of summary.splits ?? []) splits.push({ format, folder: summary.dest, ...count });
    }
    // the destination is the append folder only when every written format went there
    const onlyAppended = appendFolder !== undefined && order.length > 0 && order.every(appended);
    return { dest: onlyAppended ? appendFolder : out, files, expressions, splits };
  }
}
