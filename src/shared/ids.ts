// The ids every layer names results by, stated once: an image is `7` (its position in the run), a mask `7:2` (mask
// 2 of image 7) or `7:u0` (the user's first drawn mask), a candidate `7:2:13` (caption 13 of mask 2 of image 7).
// The engine, the review file, the CLI and the renderer build and read them only here.

import { ApiError } from './api.ts';

/** The parts of an id; fields absent where the kind has none. */
export interface IdParts {
  image: number;
  mask?: number;
  user?: number;
  candidate?: number;
}

/** The kinds of id. */
export type IdKind = 'image' | 'mask' | 'candidate';

const PATTERNS: Readonly<Record<IdKind, RegExp>> = {
  image: /^(\d+)$/,
  mask: /^(\d+):(?:(\d+)|u(\d+))$/,
  candidate: /^(\d+):(\d+):(\d+)$/,
};

/** The id of mask `index` of image `image` (`7:2`). */
export const maskId = (image: number | string, index: number): string => `${image}:${index}`;

/** The id of the user's drawn mask `user` of image `image` (`7:u0`). */
export const userMaskId = (image: number | string, user: number): string => `${image}:u${user}`;

/** The id of candidate `index` of mask `mask` of image `image` (`7:2:13`). */
export const candidateId = (image: number | string, mask: number, index: number): string =>
  `${image}:${mask}:${index}`;

/** The key of a candidate within its image (`mask:index`), as exporters and reports group them. */
export const candidateKey = (mask: number, index: number): string => `${mask}:${index}`;

/** Parses an id of `kind` into its parts, or null when `id` is not one. */
export function tryParseId(id: string, kind: IdKind): IdParts | null {
  const match = PATTERNS[kind].exec(id);
  if (!match) return null;
  const image = Number(match[1]);
  if (kind === 'image') return { image };
  if (kind === 'mask')
    return match[2] !== undefined ? { image, mask: Number(match[2]) } : { image, user: Number(match[3]) };
  return { image, mask: Number(match[2]), candidate: Number(match[3]) };
}

/** Parses `7`, `7:2`, `7:2:13`, `7:u0` into their parts; throws `not-found` naming the id on anything else. */
export function parseId(id: string, kind: IdKind): IdParts {
  const parts = tryParseId(id, kind);
  if (!parts) throw new ApiError('not-found', `no ${kind} with id "${id}"`);
  return parts;
}
