/**
 * The commit log's line formats: how one image's `ImageResult` is written to and read from `results.jsonl`.
 *
 * - Format 1 (projects written before the scale store): the `ImageResult` itself as one JSON line. Read as it is.
 * - Format 2 (compact, written now): a small JSON header the index reads without inflating, and the body deflated:
 *     {"record":2,"revision":r,"image":{…},"status":"done","z":"<base64 of deflateRaw(JSON body)>"}
 *   The body stores each repeated thing once: decoding descriptors (crop, setting, method, seed) as a table of
 *   "kinds", distinct expressions (text, token ids as integers, the CLIP scores) as a table of "texts", and per
 *   candidate only small integers pointing into them; decisions as one character each. A 5-mask image with its
 *   plain-sampling comparisons (420 candidates) takes ~10–25 KB instead of ~176–266 KB.
 *
 * Exactness: {@link encodeLine} decodes what it encoded and compares it with the input, serialised; anything the
 * compact form cannot hold exactly (a shape it does not know) is written in format 1 instead, so a round trip through
 * the store never changes a byte of what readers and exporters see.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { CandidateResult, Decision, DecisionReason, ImageResult } from '../../../shared/results.ts';
import { RESULTS_VERSION } from '../../../shared/results.ts';

/** The newest line format this build writes and reads; a newer one is refused naming both. */
export const RECORD_FORMAT = 2;

/** What the index reads of a line without inflating its body. */
export interface LineHeader {
  id: number;
  revision: number;
  status: 'done' | 'failed';
  name: string;
  sha256: string;
}

/** A line that cannot be read: the reason, without quoting the line. */
export class RecordError extends Error {
  override readonly name = 'RecordError';
  constructor(
    message: string,
    /** `newer`: written by a newer version (never skipped); `corrupt`: damaged or not a record. */
    readonly kind: 'newer' | 'corrupt',
  ) {
    super(message);
  }
}

const REASONS: readonly DecisionReason[] = [
  'dos-above-tau',
  'dos-at-or-below-tau',
  'single-mask',
  'single-mask-rank',
  'single-mask-dropped',
  'best-of-empty-mask',
  'random-of-empty-mask',
  'comparison',
  'accepted',
  'rejected',
  'mask-deleted',
];
const REASON_CODE = new Map(REASONS.map((r, i) => [r, i]));

/** The deflated part of a format-2 line. */
interface Body {
  /** Key order of the result object, so the decoded object serialises exactly as the original. */
  keys: string[];
  masks: ImageResult['masks'];
  error?: ImageResult['error'];
  counters?: ImageResult['counters'];
  /** Candidate key orders (one per shape: with or without streamId, beamScore, …). */
  shapes: string[][];
  /** Score key order. */
  scoreKeys: string[];
  /** Distinct decoding descriptors: [crop, cropKey, setting, settingKey, method, comparison, seed]. */
  kinds: unknown[][];
  /** Distinct expressions: [text, tokens, ...score values in scoreKeys order]. */
  texts: unknown[][];
  /** Per candidate: mask, index, shape, kind, text, stream (0 none, 1 the usual name, else the name), beam score. */
  mask: number[];
  index: number[];
  shape: number[];
  kind: number[];
  text: number[];
  stream: (number | string)[];
  beam: (number | null)[];
  /**
   * Per candidate, its `releasedText`: what it adds to `text` (usually " ", or " !!!" after a sampled pad), or `[full
   * text]` when it does not start with `text`, or null when absent. Absent in bodies without any (written before it).
   */
  released?: (string | [string] | null)[];
  /** One character per candidate's decision (aligned with the candidates), or the decisions as they are. */
  decisions: string | Decision[];
}

/**
 * The log line of a result (with its "\n"): format 2 when it round-trips exactly, else format 1.
 */
export function encodeLine(result: ImageResult): Buffer {
  const plain = JSON.stringify(result);
  try {
    const compact = compactLine(result);
    if (JSON.stringify(decodeLine(compact)) === plain) return Buffer.from(`${compact}\n`, 'utf8');
  } catch {
    /* a shape the compact form does not know: format 1 below */
  }
  return Buffer.from(`${plain}\n`, 'utf8');
}

/** Reads one log line (without its "\n") in either format. Throws {@link RecordError}. */
export function decodeLine(line: string): ImageResult {
  const record = parseJson(line);
  checkHeader(record);
  if (record.record === undefined) return checkPlain(record);
  return expand(record, inflateBody(record));
}

function inflateBody(record: Record<string, unknown>): Body {
  try {
    return JSON.parse(inflateRawSync(Buffer.from(String(record.z), 'base64')).toString('utf8')) as Body;
  } catch {
    throw new RecordError('its compressed body is damaged', 'corrupt');
  }
}

/** What a report reads of a candidate: no tokens, crop, setting or stream id. */
export type SummaryCandidate = Pick<CandidateResult, 'mask' | 'index' | 'method' | 'comparison' | 'text'> & {
  scores: Pick<CandidateResult['scores'], 'uos' | 'cos' | 'dos'>;
};

/** What a report reads of a result; an `ImageResult` is one. */
export type ResultSummary = Pick<ImageResult, 'image' | 'status' | 'error' | 'masks'> & {
  candidates: readonly SummaryCandidate[];
};

/**
 * Reads one log line as a {@link ResultSummary}: a format-2 line's candidates are built straight from its tables (the
 * scores object and the text shared by every candidate with that text), skipping what `decodeLine` rebuilds for
 * exports (tokens, crops, settings, stream ids, decisions). Throws {@link RecordError}.
 */
export function decodeSummary(line: string): ResultSummary {
  const record = parseJson(line);
  checkHeader(record);
  if (record.record === undefined) return checkPlain(record);
  const body = inflateBody(record);
  // texts rows are [text, tokens, ...scores in scoreKeys order]
  const [uos, cos, dos] = ['uos', 'cos', 'dos'].map((key) => {
    const i = body.scoreKeys.indexOf(key);
    return i < 0 ? -1 : 2 + i; // row[-1] is undefined: a score the line does not have reads as null
  });
  const scores = body.texts.map((row) => ({
    uos: (row[uos] ?? null) as number | null,
    cos: (row[cos] ?? null) as number,
    dos: (row[dos] ?? null) as number | null,
  }));
  const candidates = body.mask.map((mask, k): SummaryCandidate => {
    const kind = body.kinds[body.kind[k]]; // [crop, cropKey, setting, settingKey, method, comparison, seed]
    const t = body.text[k];
    return {
      mask,
      index: body.index[k],
      method: kind[4] as CandidateResult['method'],
      comparison: kind[5] as boolean,
      text: body.texts[t][0] as string,
      scores: scores[t],
    };
  });
  return {
    image: record.image as ImageResult['image'],
    status: record.status as ImageResult['status'],
    error: body.error,
    masks: body.masks,
    candidates,
  };
}

/** The header of one log line (id, revision, status, name, hash), without inflating a format-2 body. */
export function decodeHeader(line: string): LineHeader {
  const record = parseJson(line);
  const { image, revision } = checkHeader(record);
  return {
    id: image.id as number,
    revision: revision as number,
    status: record.status as LineHeader['status'],
    name: String(image.name ?? ''),
    sha256: String(image.sha256 ?? ''),
  };
}

/** Checks what every line of either format carries: its format, image id, revision and status. */
function checkHeader(record: Record<string, unknown>) {
  if (record.record !== undefined && record.record !== RECORD_FORMAT)
    throw newer(`record format ${String(record.record)}`);
  if (record.record === undefined) checkPlain(record);
  const image = record.image as { id?: unknown; name?: unknown; sha256?: unknown } | undefined;
  const revision = record.revision ?? 0;
  if (!image || !Number.isInteger(image.id) || (image.id as number) < 1)
    throw new RecordError('it has no image id', 'corrupt');
  if (!Number.isInteger(revision) || (revision as number) < 0)
    throw new RecordError(`it has revision ${String(record.revision)}, expected an integer ≥ 0`, 'corrupt');
  if (record.status !== 'done' && record.status !== 'failed')
    throw new RecordError(`it has status ${String(record.status)}`, 'corrupt');
  return { image, revision };
}

function parseJson(line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new RecordError(
      line.length === 0 ? 'it is empty' : 'it is not complete JSON (truncated or damaged)',
      'corrupt',
    );
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new RecordError('it is not a JSON object', 'corrupt');
  return value as Record<string, unknown>;
}

function checkPlain(record: Record<string, unknown>): ImageResult {
  if (record.version !== RESULTS_VERSION) {
    if (typeof record.version === 'number' && record.version > RESULTS_VERSION)
      throw newer(`results version ${record.version}`);
    throw new RecordError(
      `it has results version ${String(record.version)}, expected ${RESULTS_VERSION}`,
      'corrupt',
    );
  }
  return record as unknown as ImageResult;
}

function newer(what: string): RecordError {
  return new RecordError(
    `it was written by a newer Pseudo-RIS Studio (${what}; this version reads results version ${RESULTS_VERSION} and record format up to ${RECORD_FORMAT}): update the app to open this project`,
    'newer',
  );
}

function compactLine(result: ImageResult): string {
  const shapes = new Table<string[]>();
  const kinds = new Table<unknown[]>();
  const texts = new Table<unknown[]>();
  const scoreKeys = Object.keys(result.candidates[0]?.scores ?? {});
  const body: Body = {
    keys: Object.keys(result),
    masks: result.masks,
    ...(result.error !== undefined ? { error: result.error } : {}),
    ...(result.counters !== undefined ? { counters: result.counters } : {}),
    shapes: shapes.values,
    scoreKeys,
    kinds: kinds.values,
    texts: texts.values,
    mask: [],
    index: [],
    shape: [],
    kind: [],
    text: [],
    stream: [],
    beam: [],
    decisions: compactDecisions(result),
  };
  for (const c of result.candidates) {
    if (Object.keys(c.scores).join() !== scoreKeys.join()) throw new Error('score keys differ');
    body.mask.push(c.mask);
    body.index.push(c.index);
    body.shape.push(shapes.id(Object.keys(c)));
    body.kind.push(kinds.id([c.crop, c.cropKey, c.setting, c.settingKey, c.method, c.comparison, c.seed]));
    body.text.push(
      texts.id([c.text, c.tokens, ...scoreKeys.map((k) => c.scores[k as keyof typeof c.scores])]),
    );
    body.stream.push(c.streamId === undefined ? 0 : c.streamId === usualStream(result, c) ? 1 : c.streamId);
    body.beam.push(c.beamScore === undefined ? null : c.beamScore);
  }
  if (result.candidates.some((c) => c.releasedText !== undefined))
    body.released = result.candidates.map(({ text, releasedText }) =>
      releasedText === undefined
        ? null
        : releasedText.startsWith(text)
          ? releasedText.slice(text.length)
          : [releasedText],
    );
  const header = {
    record: RECORD_FORMAT,
    revision: result.revision ?? 0,
    image: result.image,
    status: result.status,
    z: deflateRawSync(Buffer.from(JSON.stringify(body), 'utf8')).toString('base64'),
  };
  return JSON.stringify(header);
}

function compactDecisions(result: ImageResult): string | Decision[] {
  const { candidates, decisions } = result;
  const aligned =
    decisions.length === candidates.length &&
    decisions.every(
      (d, k) =>
        Object.keys(d).join() === 'mask,candidate,kept,reason' &&
        d.mask === candidates[k].mask &&
        d.candidate === candidates[k].index &&
        REASON_CODE.has(d.reason),
    );
  if (!aligned) return decisions;
  // 'a' + 2·reason + kept: one character per decision
  return String.fromCharCode(...decisions.map((d) => 97 + 2 * REASON_CODE.get(d.reason)! + (d.kept ? 1 : 0)));
}

function expand(record: Record<string, unknown>, body: Body): ImageResult {
  const image = record.image as ImageResult['image'];
  const candidates: CandidateResult[] = body.mask.map((mask, k) => {
    const [crop, cropKey, setting, settingKey, method, comparison, seed] = body.kinds[body.kind[k]];
    const row = body.texts[body.text[k]]; // [text, tokens, ...scores in scoreKeys order]
    // the candidate's keys in their committed order (its shape), each value taken straight from the body
    const out: Record<string, unknown> = {};
    for (const key of body.shapes[body.shape[k]]) {
      switch (key) {
        case 'index':
          out.index = body.index[k];
          break;
        case 'mask':
          out.mask = mask;
          break;
        case 'crop':
          out.crop = crop;
          break;
        case 'cropKey':
          out.cropKey = cropKey;
          break;
        case 'setting':
          out.setting = setting;
          break;
        case 'settingKey':
          out.settingKey = settingKey;
          break;
        case 'method':
          out.method = method;
          break;
        case 'text':
          out.text = row[0];
          break;
        case 'tokens':
          out.tokens = row[1];
          break;
        case 'seed':
          out.seed = seed;
          break;
        case 'comparison':
          out.comparison = comparison;
          break;
        case 'scores': {
          const scores: Record<string, unknown> = {};
          for (let i = 0; i < body.scoreKeys.length; i++) scores[body.scoreKeys[i]] = row[2 + i];
          out.scores = scores;
          break;
        }
        case 'streamId': {
          const stream = body.stream[k];
          out.streamId =
            stream === 0
              ? undefined
              : stream === 1
                ? `${image.sha256}|mask${mask}|${String(cropKey)}|${String(settingKey).replace(/^dcs-/, '')}`
                : stream;
          break;
        }
        case 'beamScore':
          out.beamScore = body.beam[k] !== null ? body.beam[k] : undefined;
          break;
        case 'releasedText': {
          // stored as a suffix of the trimmed text, or whole (in a one-element list) when it is not one
          const released = body.released?.[k];
          out.releasedText =
            released === undefined || released === null
              ? undefined
              : typeof released === 'string'
                ? `${String(row[0])}${released}`
                : released[0];
          break;
        }
        default:
          out[key] = undefined;
      }
    }
    return out as unknown as CandidateResult;
  });
  const decisions =
    typeof body.decisions === 'string'
      ? Array.from(body.decisions, (ch, k): Decision => {
          const code = ch.charCodeAt(0) - 97;
          return {
            mask: candidates[k].mask,
            candidate: candidates[k].index,
            kept: code % 2 === 1,
            reason: REASONS[code >> 1],
          };
        })
      : body.decisions;
  const fields: Record<string, unknown> = {
    version: RESULTS_VERSION,
    revision: record.revision,
    image,
    status: record.status,
    error: body.error,
    masks: body.masks,
    candidates,
    decisions,
    counters: body.counters,
  };
  return ordered(body.keys, fields) as unknown as ImageResult;
}

function usualStream(result: ImageResult, c: CandidateResult): string {
  return `${result.image.sha256}|mask${c.mask}|${c.cropKey}|${c.settingKey.replace(/^dcs-/, '')}`;
}

/** An object with `keys` in that order, taking each value from `fields`. */
function ordered(keys: readonly string[], fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = fields[key];
  return out;
}

/** Distinct values by their JSON, each given the position it was first seen at. */
class Table<T> {
  readonly values: T[] = [];
  readonly #ids = new Map<string, number>();
  id(value: T): number {
    const key = JSON.stringify(value);
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.#ids.set(key, id);
    }
    return id;
  }
}
