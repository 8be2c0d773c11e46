/**
 * The demo pack's `tokenizer.json`: Hugging Face's CLIPConverter structure over the demo vocabulary.
 *
 * Same components as `openai/clip-vit-*`'s tokenizer.json (research/contracts.md §5.2), so the engine loads the demo
 * tokenizer through exactly the code path of a real CLIP/CoCa tokenizer: normalizer NFC → `\s+` → " " → lowercase;
 * pre-tokenizer CLIP's split regex (pieces kept, the rest removed) then ByteLevel without prefix space; BPE with the
 * `</w>` end-of-word suffix; ByteLevel decoder; RobertaProcessing that wraps every encoding in sot … eot.
 */
import { demoVocabulary, EOT_TEXT, SOT_TEXT } from './vocabulary.ts';

/** CLIP's split regex without the two special-token alternatives (the added tokens take care of those). */
export const CLIP_SPLIT_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/** The parts of a CLIP BPE tokenizer that differ between vocabularies. */
export interface ClipBpeParts {
  vocab: Record<string, number>;
  /** Merge rules in rank order, each "left right". */
  merges: string[];
  sot: number;
  eot: number;
}

/**
 * A `tokenizer.json` object with the CLIPConverter structure over the given vocabulary and merges (special-token
 * strings are OpenAI's `<|startoftext|>` / `<|endoftext|>`).
 */
export function clipTokenizerObject(parts: ClipBpeParts): Record<string, unknown> {
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(parts.sot, SOT_TEXT), special(parts.eot, EOT_TEXT)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT_PATTERN }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [EOT_TEXT, parts.eot],
      cls: [SOT_TEXT, parts.sot],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: EOT_TEXT,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      // The special tokens are in the vocabulary too (CLIP's 49406/49407); for the demo they already are.
      vocab: { ...parts.vocab, [SOT_TEXT]: parts.sot, [EOT_TEXT]: parts.eot },
      merges: parts.merges,
    },
  };
}

/** The demo `tokenizer.json` object (serialize with {@link demoTokenizerJson}). */
export function demoTokenizerObject(): Record<string, unknown> {
  const vocabulary = demoVocabulary();
  const vocab: Record<string, number> = {};
  vocabulary.tokens.forEach((token, id) => (vocab[token] = id));
  return clipTokenizerObject({
    vocab,
    merges: vocabulary.merges.map(([a, b]) => `${a} ${b}`),
    sot: vocabulary.sot,
    eot: vocabulary.eot,
  });
}

/** `tokenizer_config.json` as `openai/clip-*` ships it (pad is "!" = id 0 here, as OpenAI CLIP/CoCa pad). */
export function demoTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: 'CLIPTokenizer',
    bos_token: SOT_TEXT,
    eos_token: EOT_TEXT,
    unk_token: EOT_TEXT,
    pad_token: '!',
    model_max_length: 77,
    do_lower_case: true,
    clean_up_tokenization_spaces: false,
  };
}

/** The demo `tokenizer.json` text; deterministic (same bytes on every build). */
export function demoTokenizerJson(): string {
  return `${JSON.stringify(demoTokenizerObject(), null, 2)}\n`;
}
