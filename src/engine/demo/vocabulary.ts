/**
 * The demo captioner's and scorer's vocabulary: a miniature of CLIP's byte-level BPE vocabulary (DESIGN.md §6).
 *
 * Layout, as in OpenAI CLIP's `bpe_simple_vocab_16e6` (research/contracts.md §5.1): the 256 byte-unicode symbols,
 * the same 256 with the end-of-word suffix `</w>`, then one entry per merge, then `<|startoftext|>` (sot = size − 2)
 * and `<|endoftext|>` (eot = size − 1). Id 0 is "!" and doubles as the pad id, as in CLIP/CoCa. The merges are just
 * those that make each demo word a single token, so captions of the shapes world encode to one id per word while
 * any other text still tokenizes (into byte-level characters).
 */
import { COLOURS, PATTERNS, SHAPES } from './world.ts';

/** The end-of-word suffix of CLIP's BPE. */
export const END_OF_WORD = '</w>';
/** CLIP's special token strings (open_clip spells them `<start_of_text>`/`<end_of_text>`; same ids). */
export const SOT_TEXT = '<|startoftext|>';
export const EOT_TEXT = '<|endoftext|>';

/** Words that open a caption the way CoCa's do ("a photo of …", "an image of …"). */
export const FRAME_WORDS = ['a', 'an', 'photo', 'picture', 'image', 'of'] as const;
/** Nouns that name no attribute: the "generic" words that make plain decoding ambiguous. */
export const GENERIC_NOUNS = ['shape', 'object'] as const;
/** The optional tail "on a grey background" that CoCa-style captions append. */
export const TAIL_WORDS = ['on', 'grey', 'background'] as const;
/** The optional pattern phrase after the noun: "a red circle with stripes" / "with dots". */
export const PATTERN_PHRASE_WORDS = ['with', 'stripes', 'dots'] as const;
/** Nouns of the pattern phrase and the pattern each names (the oracle reads them the same way). */
export const PATTERN_NOUNS: Record<string, 'striped' | 'dotted'> = { stripes: 'striped', dots: 'dotted' };

/**
 * Every word the demo models know, in a fixed order (the order fixes the merge list and therefore the ids).
 *
 * Attribute words are exactly the world's attribute names (world.ts), so the oracle and the scorer read them as is.
 */
export const DEMO_WORDS: readonly string[] = dedupe([
  ...FRAME_WORDS,
  ...PATTERNS,
  ...COLOURS,
  ...SHAPES,
  ...GENERIC_NOUNS,
  ...TAIL_WORDS,
  ...PATTERN_PHRASE_WORDS,
]);

/** The demo vocabulary: tokens by id, merges in rank order, and the special ids. */
export interface DemoVocabulary {
  /** Token string of each id (byte-unicode spelling, `</w>` on word-final symbols). */
  tokens: string[];
  /** BPE merges in rank order, each a pair of existing tokens. */
  merges: [string, string][];
  /** Id of each demo word (its single `word</w>` token). */
  wordIds: Map<string, number>;
  sot: number;
  eot: number;
  /** 0, as in CLIP/CoCa (the token "!"). */
  pad: number;
  size: number;
}

let cached: DemoVocabulary | undefined;

/**
 * Builds (once) the demo vocabulary.
 *
 * Merges are added word by word: each word is run through BPE with the merges so far and, while it is still more
 * than one token, the merge of its first adjacent pair is appended. A merge appended later has a higher rank, so it
 * never changes how an earlier word (which already reduced to one token without it) is split.
 */
export function demoVocabulary(): DemoVocabulary {
  if (cached) return cached;
  const byteSymbols = bytesToUnicode();
  const tokens = [...byteSymbols, ...byteSymbols.map((s) => s + END_OF_WORD)];
  const known = new Set(tokens);
  const merges: [string, string][] = [];
  const ranks = new Map<string, number>();
  for (const word of DEMO_WORDS) {
    for (;;) {
      const pieces = bpe(symbolsOf(word, byteSymbols), ranks);
      if (pieces.length === 1) break;
      const merge: [string, string] = [pieces[0], pieces[1]];
      const merged = merge[0] + merge[1];
      ranks.set(pairKey(merge[0], merge[1]), merges.length);
      merges.push(merge);
      if (!known.has(merged)) {
        known.add(merged);
        tokens.push(merged);
      }
    }
  }
  const sot = tokens.length;
  tokens.push(SOT_TEXT);
  const eot = tokens.length;
  tokens.push(EOT_TEXT);
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const wordIds = new Map(DEMO_WORDS.map((w) => [w, ids.get(w + END_OF_WORD) as number]));
  cached = { tokens, merges, wordIds, sot, eot, pad: 0, size: tokens.length };
  return cached;
}

/** The id of a demo word; throws for a word outside the vocabulary. */
export function wordId(word: string): number {
  const id = demoVocabulary().wordIds.get(word);
  if (id === undefined) throw new Error(`"${word}" is not a demo word (known: ${DEMO_WORDS.join(', ')})`);
  return id;
}

/**
 * GPT-2/CLIP `bytes_to_unicode`: byte b → a printable character, in CLIP's vocabulary order.
 *
 * Printable Latin-1 bytes map to themselves; the others to U+0100 onwards. The list is ordered as CLIP lists its
 * first 256 tokens (printable ranges first), which is why id 0 is "!".
 */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const symbols = printable.map((b) => String.fromCharCode(b));
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (!printable.includes(b)) {
      symbols.push(String.fromCharCode(256 + next));
      next += 1;
    }
  }
  return symbols;
}

/** Byte-unicode symbols of a word, the last with `</w>` (the BPE model's starting point). */
function symbolsOf(word: string, byteSymbols: string[]): string[] {
  const order = byteOrder();
  const symbols = Array.from(new TextEncoder().encode(word), (b) => byteSymbols[order[b]]);
  symbols[symbols.length - 1] += END_OF_WORD;
  return symbols;
}

/** Index in `bytesToUnicode()` of each byte value. */
function byteOrder(): number[] {
  const order = new Array<number>(256);
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  printable.forEach((b, i) => (order[b] = i));
  let next = printable.length;
  for (let b = 0; b < 256; b++) if (!printable.includes(b)) order[b] = next++;
  return order;
}

/** Standard BPE: repeatedly merge the adjacent pair of lowest rank. */
function bpe(symbols: string[], ranks: Map<string, number>): string[] {
  const pieces = [...symbols];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < pieces.length; i++) {
      const rank = ranks.get(pairKey(pieces[i], pieces[i + 1]));
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return pieces;
    pieces.splice(best, 2, pieces[best] + pieces[best + 1]);
  }
}

function pairKey(a: string, b: string): string {
  return `${a}\u0000${b}`;
}

function dedupe(words: string[]): string[] {
  return [...new Set(words)];
}
