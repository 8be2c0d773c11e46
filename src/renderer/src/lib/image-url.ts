/** Object URLs for image bytes received from the engine (PNG/JPEG/WebP, upright). */
import type { ImageBytes } from '../../../shared/api.ts';

/** An object URL for encoded image bytes; the owner revokes it when it is replaced. */
export function imageObjectUrl(image: ImageBytes): string {
  const bytes =
    image.bytes instanceof Uint8Array ? image.bytes : new Uint8Array(image.bytes as ArrayLike<number>);
  return URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: image.mime }));
}
