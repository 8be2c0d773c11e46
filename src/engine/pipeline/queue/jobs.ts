/**
 * What travels through the queue: one job per image, its id, its data, and the run's description that workers read
 * before they take any job.
 */
import { createHash } from 'node:crypto';
import type { ImageResult } from '../../../shared/results.ts';
import { stableStringify, type Settings } from '../../../shared/settings.ts';
import type { ImageEntry } from '../store/index.ts';

/** The queue name when none is given: one run at a time per Redis database (give others a name of their own). */
export const DEFAULT_QUEUE_NAME = 'pseudo-ris';

/** Largest image `--ship-images` carries in a job (bytes), unless told otherwise: Redis holds it until commit. */
export const DEFAULT_MAX_SHIPPED_BYTES = 32 * 1024 * 1024;

/** Attempts per job when a worker throws (a fatal error, not a per-image failure, which is a result). */
export const DEFAULT_ATTEMPTS = 3;

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
