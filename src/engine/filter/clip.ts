/**
 * The CLIP scorer over a model pack (DESIGN.md §5 Scores): image embeddings of crop batches and text embeddings of
 * captions, from the pack's `scorer.image` and `scorer.text` graphs. The scores themselves are in scores.ts.
 */
import { loadTokenizer, type CaptionTokenizer } from '../caption/index.ts';
import type { CropBatch } from '../image/index.ts';
import {
  floatData,
  floatTensor,
  int64Tensor,
  type ModelPack,
  type ModelSession,
  type Tensor,
} from '../runtime/index.ts';

/** A pack's CLIP scorer, ready to embed. */
export interface ClipScorer {
  /** CLIP image embeddings of a crop batch, float32[n,3,S,S] → n vectors. */
  embedImages(batch: CropBatch): Promise<Float32Array[]>;
  /** CLIP text embeddings, one per text. */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  /** θ = logitScale · cos (manifest `scorer.logitScale`). */
  logitScale: number;
  /** Crop side of the scorer (manifest `scorer.preprocess.size`). */
  cropSize: number;
}

/**
 * The scorer of a pack. `captionTokenizer` is reused when the scorer names the captioner's tokenizer file (one load per
 * pack). Each session opens on its first use (the pack caches it), so a command that never scores never opens CLIP.
 */
export async function openClipScorer(
  pack: ModelPack,
  captionTokenizer?: CaptionTokenizer,
): Promise<ClipScorer> {
  const { scorer, captioner } = pack.manifest;
  const tokenizer =
    captionTokenizer && scorer.tokenizer === captioner.tokenizer
      ? captionTokenizer
      : await loadTokenizer(pack.path(scorer.tokenizer), scorer.specialTokens);
  return {
    embedImages: async (batch) => embedImages(await pack.session('scorer.image'), batch),
    embedTexts: async (texts) =>
      embedTexts(await pack.session('scorer.text'), tokenizer, texts, scorer.contextLength),
    logitScale: scorer.logitScale,
    cropSize: scorer.preprocess.size,
  };
}

/** CLIP image embeddings of a crop batch. in: image float32[n,3,S,S] → out: embedding float32[n,E]. */
async function embedImages(session: ModelSession, batch: CropBatch): Promise<Float32Array[]> {
  const [n, , h, w] = batch.dims;
  const out = await session.run({ image: floatTensor(batch.data, [n, 3, h, w]) });
  return rows(out.embedding, n, 'scorer.image');
}

/** CLIP text embeddings. in: text int64[B,77] (zero-padded) → out: embedding float32[B,E]. */
async function embedTexts(
  session: ModelSession,
  tokenizer: CaptionTokenizer,
  texts: string[],
  contextLength: number,
): Promise<Float32Array[]> {
  const result: Float32Array[] = [];
  const batchSize = 64;
  for (let start = 0; start < texts.length; start += batchSize) {
    const slice = texts.slice(start, start + batchSize);
    // int32 ids widened to the graph's int64 by the runtime's helper (onnxruntime stays inside runtime/)
    const tokens = tokenizer.encodeForScorer(slice, { contextLength, dtype: 'int32' });
    const out = await session.run({ text: int64Tensor(tokens.data as Int32Array, tokens.dims) });
    result.push(...rows(out.embedding, slice.length, 'scorer.text'));
  }
  return result;
}

/** Splits an embedding tensor [n,E] into n rows, checking its shape. */
function rows(tensor: Tensor | undefined, n: number, role: string): Float32Array[] {
  if (!tensor || tensor.dims.length !== 2 || tensor.dims[0] !== n) {
    throw new Error(`${role} returned embedding [${tensor?.dims.join(',') ?? 'none'}], expected [${n},E]`);
  }
  const { data, dims } = floatData(tensor, `${role} embedding`);
  const e = dims[1];
  return Array.from({ length: n }, (_, i) => data.slice(i * e, (i + 1) * e));
}
