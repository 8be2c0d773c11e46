/**
 * What travels through the queue: one job per image, its id, its data, and the run's description that workers read
 * before they take any job.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import type { ImageResult } from '../../../shared/results.ts';
import { stableStringify, type Settings } from '../../../shared/settings.ts';
import { decodeLine, encodeLine, type ImageEntry } from '../store/index.ts';

/** The queue name when none is given: one run at a time per Redis database (give others a name of their own). */
export const DEFAULT_QUEUE_NAME = 'pseudo-ris';

/** Largest image `--ship-images` carries in a job (bytes), unless told otherwise: Redis holds it until commit. */
export const DEFAULT_MAX_SHIPPED_BYTES = 32 * 1024 * 1024;

/** Attempts per job when a worker throws (a fatal error, not a per-image failure, which is a result). */
export const DEFAULT_ATTEMPTS = 3;

/**
 * Entries BullMQ keeps in a queue's events stream (its default is 10 000, each `completed` event holding a copy of the
 * result): the coordinator reads events as they come and sweeps the jobs for any it missed, so a short stream loses
 * nothing.
 */
export const DEFAULT_EVENTS_MAX_LEN = 200;

/** Times a job may outlive its worker (or its lock) before BullMQ gives it up, unless told otherwise. */
export const DEFAULT_MAX_STALLS = 5;

/** The data of one image's job. */
export interface ImageJobData {
  /** The coordinator's image entry (id, path on shared storage, name, content hash). */
  entry: ImageEntry;
  settings: Settings;
  /** {@link packDigest} of the project's pack: a worker with another pack refuses the job. */
  packDigest: string;
  /** The image's bytes, base64, when the coordinator ships images. */
  image?: string;
}

/** What a worker returns: the image's result, as a local run would commit it. */
export type ImageJobResult = ImageResult;

/**
 * A result as it travels through Redis (the job's return value): `v: 2` the store's own compact commit-log line
 * (store/record.ts: the same bytes the coordinator then commits, ~10–25 KB for a 5-mask image), `v: 1` the whole
 * result deflated (workers of the previous version; still read).
 */
export type EncodedJobResult = { v: 2; line: string } | { v: 1; deflated: string };

/** The one place a worker's result is put in the form that travels through Redis (see {@link decodeJobResult}). */
export function encodeJobResult(result: ImageJobResult): EncodedJobResult {
  return { v: 2, line: encodeLine(result).toString('utf8').slice(0, -1) };
}

/** The result a worker sent, from its Redis form; throws naming the form when it is not one this version reads. */
export function decodeJobResult(value: unknown): ImageJobResult {
  const encoded = value as { v?: unknown; line?: unknown; deflated?: unknown } | null;
  if (encoded?.v === 2 && typeof encoded.line === 'string') return decodeLine(encoded.line);
  if (encoded?.v === 1 && typeof encoded.deflated === 'string')
    return JSON.parse(
      inflateRawSync(Buffer.from(encoded.deflated, 'base64')).toString('utf8'),
    ) as ImageJobResult;
  throw new Error(
    `a job result in an unknown form (${JSON.stringify(value)?.slice(0, 40) ?? 'none'}…): a worker of another version?`,
  );
}

/** The run a queue serves, written by the coordinator, read by workers before they take any job. */
export interface QueueRun {
  project: string;
  packName: string;
  checksums: Record<string, string>;
  packDigest: string;
  /** When the coordinator (re)started, ISO time. */
  started: string;
}

/** A stable digest of a pack's file checksums (order-free). */
export function packDigest(checksums: Record<string, string>): string {
  return createHash('sha256').update(stableStringify(checksums)).digest('hex').slice(0, 16);
}

/**
 * The job id of an image: its content hash + a hash of the settings and pack, so enqueuing the same image for the
 * same run twice is a no-op (BullMQ keeps one job per id), and another run's settings never reuse its result. All
 * settings are hashed, the filter too: the result carries the decisions.
 */
export function imageJobId(sha256: string, settings: Settings, digest: string): string {
  const run = createHash('sha256')
    .update(`${stableStringify(settings)}\n${digest}`)
    .digest('hex')
    .slice(0, 16);
  // BullMQ refuses ':' in custom ids and integer-looking ones; hex-dash-hex is neither
  return `${sha256}-${run}`;
}

/**
 * The job id of an image entry: images with the same bytes share one job (computed once, committed for each), unless
 * the settings read something by file name (imported masks, box detections), where the name is part of the key:
 * two copies under two names may then have different inputs.
 */
export function entryJobId(
  entry: Pick<ImageEntry, 'id' | 'path' | 'sha256'>,
  settings: Settings,
  digest: string,
): string {
  // an image that could not be hashed (unreadable) uses its project id: two such stay two jobs
  const content = entry.sha256 || `unhashed${entry.id}`;
  const byName = settings.masks.source === 'imported' || settings.masks.selection === 'boxes';
  const key = byName
    ? `${content}-${createHash('sha256').update(basename(entry.path)).digest('hex').slice(0, 12)}`
    : content;
  return imageJobId(key, settings, digest);
}

/** The Redis key holding the {@link QueueRun} of a queue. */
export function runKey(queueName: string): string {
  return `pseudo-ris:${queueName}:run`;
}

/**
 * The differences between two packs' checksums, one line each (`role.file: abc… ≠ def…`), empty when equal.
 */
export function checksumDifferences(
  mine: Record<string, string>,
  theirs: Record<string, string>,
  labels: [string, string] = ['this pack', 'the project'],
): string[] {
  const keys = [...new Set([...Object.keys(mine), ...Object.keys(theirs)])].sort();
  return keys
    .filter((k) => mine[k] !== theirs[k])
    .map(
      (k) =>
        `${k}: ${labels[0]} ${mine[k]?.slice(0, 12) ?? 'has none'}${mine[k] ? '…' : ''}, ${labels[1]} ${theirs[k]?.slice(0, 12) ?? 'has none'}${theirs[k] ? '…' : ''}`,
    );
}
