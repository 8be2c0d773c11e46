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
import { decisionColumns, keepPolicy } from '../filter/index.ts';
import type { ReviewStore } from './review-store.ts';
import { DEMO_SCENES, type SessionState } from './session-state.ts';
import { keptFlags } from './views.ts';

/** τ re-filtering, report and export of the open project. */
export class ReportExport {
  /**
   * The demo project's ground truth as last read (re-read when the file changes) and the oracle's τ-independent work
   * over it, so that a report per τ move redoes only the τ-dependent counting.
   */
  #truth: { path: string; stamp: string; truth: GroundTruth; cache: OracleCache } | null = null;

  constructor(
    private readonly session: SessionState,
    private readonly review: ReviewStore,
  ) {}

  /** The page's τ columns (scores, masks, review marks) of every finished image: see shared/decide.ts `buildKeptIndex`. */
  dosScores(): DosScores {
    const project = this.session.require();
    const done = this.session.doneResults();
    const columns = decisionColumns(done, this.review.state);
    return {
      tau: project.file.settings.filter.tau,
      dos: columns.dos,
      imageIndex: columns.image,
      imageIds: columns.imageIds.map(String),
      mask: columns.mask,
      cos: columns.cos,
      review: columns.review,
      maskCounts: columns.maskCounts,
    };
  }

  keptCounts({ tau }: ParsedParams<'filter:counts'>): KeptCounts {
    const policy = keepPolicy(this.session.require().file.settings, tau);
    const counts: KeptCounts = { tau, candidates: 0, kept: 0, masks: 0, masksWithKept: 0, perImage: {} };
    for (const result of this.session.doneResults()) {
      const kept = keptFlags(result, policy, this.review.state);
      const exportable = result.candidates.filter((c) => !c.comparison).length;
      const keptCount = kept.filter(Boolean).length;
      counts.candidates += exportable;
      counts.kept += keptCount;
      counts.masks += result.masks.length;
      counts.masksWithKept += new Set(result.candidates.filter((_, k) => kept[k]).map((c) => c.mask)).size;
      counts.perImage[String(result.image.id)] = { candidates: exportable, kept: keptCount };
    }
    return counts;
  }

  report({ tau }: ParsedParams<'report:get'>): ReportView {
    const project = this.session.require();
    const policy = keepPolicy(project.file.settings, tau);
    const results = [...this.session.results.values()];
    const truth = this.#groundTruth(join(project.dir, DEMO_SCENES, 'ground-truth.json'));
    const report = truth
      ? evaluateResults(results, truth.truth, policy, this.review.state, truth.cache)
      : buildReport(results, policy, this.review.state);
    const kept = report.oracle?.kept;
    return {
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
  }

  /** The ground truth at `path` (null when there is none), read again only when the file changed. */
  #groundTruth(path: string): { truth: GroundTruth; cache: OracleCache } | null {
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
