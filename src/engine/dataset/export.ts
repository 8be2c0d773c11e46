/**
 * Dataset exports of a project (DESIGN.md §7, research/formats.md): RefCOCO (refer.py), CRIS/ETRIS, the
 * reference CSV, JSONL of every candidate, and the reference's per-image mask PNGs — one exporter per format in
 * `export/`, all called with one {@link ExportContext}. Every export writes a reproducibility record
 * (`export-record.json`) beside its files with every resolved value; every file is written atomically.
 *
 * Which expressions are exported is decided from the stored scores at the export's τ and the project's review by the
 * shared rule (`shared/decide.ts`: accepted kept whatever τ says, rejected and deleted masks' candidates dropped), so
 * exporting at another τ recomputes nothing. Edited candidates are exported with the edited text (their scores stay
 * those of the generated text). Plain-sampling comparison candidates are never exported.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hasRefs } from '../../shared/formats.ts';
import { referenceRecord, type FilterSettings, type Settings } from '../../shared/settings.ts';
import { keepPolicy } from '../filter/index.ts';
import { Project } from '../pipeline/index.ts';
import {
  EXPORT_FORMATS,
  SINGLE_MASK_POLICIES,
  Writer,
  type ExportContext,
  type ExportFormat,
  type Exporter,
  type ExportOptions,
  type ExportSummary,
} from './export/context.ts';
import { exportCris } from './export/cris.ts';
import { exportCsv } from './export/csv.ts';
import { exportJsonl } from './export/jsonl.ts';
import { exportMasks } from './export/masks.ts';
import { exportParquet } from './export/parquet.ts';
import { exportRefcoco } from './export/refcoco.ts';
import { stageTarget } from './export/target.ts';
import { readProjectReview } from './review.ts';

export {
  EXPORT_FORMATS,
  SINGLE_MASK_POLICIES,
  keptByMask,
  tokenize,
  type ExportFormat,
  type ExportOptions,
  type ExportSummary,
  type SingleMaskOption,
} from './export/context.ts';
export { REFER_DATASETS, SPLIT_BY, SPLIT_NAMES, crisFolder, parseSplits } from './export/naming.ts';

/** The exporters, one per format. */
export const EXPORTERS: Record<ExportFormat, Exporter> = {
  refcoco: exportRefcoco,
  cris: exportCris,
  csv: exportCsv,
  jsonl: exportJsonl,
  masks: exportMasks,
  parquet: exportParquet,
};

/** Formats with refs: they split by image, name datasets and can be appended to (shared/formats.ts). */
export { hasRefs, SPLITTABLE_FORMATS } from '../../shared/formats.ts';

/** Exports a project in one format into `options.out`. */
export async function exportProject(projectDir: string, options: ExportOptions): Promise<ExportSummary> {
  // exporters decode each record and decide it there: the per-candidate columns are not loaded (a 100k-image project
  // holds 12 bytes per exportable candidate in them)
  const project = Project.open(projectDir, { candidates: false });
  const tau = options.tau ?? project.file.settings.filter.tau;
  if (!Number.isFinite(tau)) throw new Error(`--tau must be a number, got ${options.tau}`);
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new Error(
      `unknown export format "${options.format}": expected one of ${EXPORT_FORMATS.join(', ')}`,
    );
  }
  // splits, dataset names, appending and COCO names belong to refcoco/cris; the app sends its split with every
  // format, so other formats ignore them (the CLI refuses them there)
  if (!hasRefs(options.format) && options.appendTo)
    throw new Error(`appending applies to the refcoco and cris formats only, not ${options.format}`);
  const single = options.singleMask ?? 'project';
  if (!(SINGLE_MASK_POLICIES as readonly string[]).includes(single))
    throw new Error(`--single-mask must be one of ${SINGLE_MASK_POLICIES.join(', ')}, got "${single}"`);
  const base = project.file.settings.filter;
  const filter: FilterSettings = {
    ...base,
    tau,
    ...(single === 'keep-all' || single === 'drop' ? { singleMask: single } : {}),
    ...(single === 'cos-top-half' ? { singleMask: 'keep-by-cos-rank' as const, singleMaskShare: 0.5 } : {}),
    ...(options.captionText ? { captionText: options.captionText } : {}),
  };
  const out = resolve(options.appendTo ?? options.out);
  if (options.appendTo) {
    // an append writes in place, its index files last, so a refused or failed one leaves the export as it was
    if (!existsSync(join(out, 'export-record.json')))
      throw new Error(
        existsSync(out)
          ? `cannot append to ${out}: it has no export-record.json (not a Pseudo-RIS Studio export)`
          : `cannot append to ${out}: it does not exist`,
      );
    // the folder is opened and checked once; everything below works in that handle
    const writer = new Writer(out, [], options.within, options.readable);
    try {
      // temp files of an export killed earlier would otherwise stay beside the finished files
      writer.removeStaleTemps();
      return await exportInto(project, options, { dest: out, tau, filter, writer });
    } finally {
      writer.close();
    }
  }
  // a new export is written into a staging folder beside `out`, renamed into place when complete (export/target.ts)
  const target = stageTarget(out, { overwrite: options.overwrite, within: options.within });
  let writer: Writer | null = null;
  try {
    writer = new Writer(target.dir, [], options.within, options.readable);
    const summary = await exportInto(project, options, { dest: out, tau, filter, writer });
    writer.close();
    writer = null;
    target.commit();
    return summary;
  } catch (error) {
    writer?.close();
    target.abandon();
    throw error;
  }
}

/** Runs the format's exporter with files going to the writer's folder (`dest`, or its staging folder). */
async function exportInto(
  project: Project,
  options: ExportOptions,
  { dest, tau, filter, writer }: { dest: string; tau: number; filter: FilterSettings; writer: Writer },
): Promise<ExportSummary> {
  const summary: ExportSummary = {
    format: options.format,
    dest,
    files: writer.files,
    images: 0,
    refs: 0,
    expressions: 0,
    tau,
  };
  const context: ExportContext = {
    project,
    results: project.catalog.latest({ order: 'id', status: 'done' }),
    resultCount: project.catalog.counts().done,
    filter,
    policy: keepPolicy({ filter, seed: project.file.settings.seed }),
    review: options.review === undefined ? readProjectReview(project.dir) : options.review,
    options,
    writer,
    summary,
    resolved: {},
    withoutReleasedText: new Set(),
  };
  await EXPORTERS[options.format](context);
  if (context.withoutReleasedText.size > 0)
    (summary.warnings ??= []).push(
      `${context.withoutReleasedText.size} image(s) were generated before captions kept the released code's text: ` +
        'their captions are exported trimmed, not as captionText "released" asks (regenerate them to get it)',
    );
  // what opening the project skipped or repaired (a damaged line: that image is not in the export) is said with it
  for (const note of project.catalog.problems)
    if (note !== project.catalog.readOnlyReason) (summary.warnings ??= []).push(`project: ${note}`);
  writeRecord(context);
  return summary;
}

function writeRecord(context: ExportContext): void {
  const { project, options, filter, review, summary, writer } = context;
  const settings: Settings = { ...project.file.settings, filter };
  const { thisPart, ...resolved } = context.resolved as { thisPart?: Record<string, unknown> };
  const part = {
    project: project.dir,
    created: new Date().toISOString(),
    format: options.format,
    tau: filter.tau,
    singleMask: options.singleMask ?? 'project',
    review: review ? 'applied' : 'none',
    // refcoco/cris: this part's own split spec, seed, counts per split, id ranges and the images it wrote
    ...thisPart,
    counts: { images: summary.images, refs: summary.refs, expressions: summary.expressions },
    images: project.file.images.map((i) => ({ id: i.id, name: i.name, sha256: i.sha256 })),
  };
  // read before this export's record replaces the earlier one
  const earlier = context.resolved.appendedTo ? readEarlierParts(writer) : [];
  const record = {
    format: 'pseudo-ris-export',
    version: 2,
    export: {
      format: options.format,
      ...resolved,
      tau: filter.tau,
      singleMask: {
        option: options.singleMask ?? 'project',
        policy: filter.singleMask,
        share: filter.singleMaskShare,
        ties: filter.singleMaskTies,
      },
      emptyMask: filter.emptyMask,
      captionText: filter.captionText,
      review: review ? 'applied' : 'none',
      warnings: summary.warnings ?? [],
    },
    created: part.created,
    project: project.dir,
    images: part.images,
    settings,
    seed: settings.seed,
    // always: whether these are the reference preset's settings, which differ if not, and what the reference preset
    // still does differently from the released code (shared/settings.ts)
    referenceDifferences: referenceRecord(settings),
    pack: project.file.pack ?? null,
    versions: { ...project.file.versions, node: process.versions.node },
    counts: part.counts,
    // the review applied (accepted kept whatever τ says, rejected and deleted masks dropped, edits' texts written)
    review: review
      ? {
          accepted: Object.values(review.decisions).filter((d) => d === 'accepted').length,
          rejected: Object.values(review.decisions).filter((d) => d === 'rejected').length,
          edited: Object.keys(review.edits).length,
          deletedMasks: review.deletedMasks.length,
        }
      : { accepted: 0, rejected: 0, edited: 0, deletedMasks: 0 },
    // every project in this export folder, oldest first (one part unless appended to)
    parts: [...earlier, part],
  };
  writer.file('export-record.json', `${JSON.stringify(record, null, 2)}\n`);
}

function readEarlierParts(writer: Writer): unknown[] {
  // the record was read (and checked) by the exporter's plan; its parts, or itself as the first part
  const record = (writer.readJson('export-record.json') ?? {}) as {
    parts?: unknown[];
    project?: string;
    created?: string;
    counts?: unknown;
    export?: { tau?: number };
  };
  return (
    record.parts ?? [
      { project: record.project, created: record.created, tau: record.export?.tau, counts: record.counts },
    ]
  );
}
