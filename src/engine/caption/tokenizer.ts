/**
 * The captioner's and scorer's CLIP-style tokenizer (research/contracts.md §5).
 *
 * Loads a pack's `tokenizer.json` (Hugging Face CLIPConverter layout) with `@huggingface/tokenizers` and adds what
 * the reference does around it:
 * - captioner prompts: `[sot, …bpe]` (generation starts from sot alone; no eot);
 * - scorer texts: `[sot, …bpe, eot]`, zero-padded to the context length (77), or truncated with eot as the last id
 *   (open_clip's `tokenize`), as int64 or int32 per the graph's declared input dtype;
 * - decoding generated ids: drop sot, cut at the first eot, drop trailing pad ids (beam search pads finished groups),
 *   `</w>` → space, spacing cleaned;
 * - {@link precleanText}: what OpenAI's `ftfy.fix_text` + `html.unescape` (twice) do to user-typed text that a
 *   `tokenizer.json` does not (HTML entities, curly quotes, ligatures, full-width forms, NFC).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

/** The special ids of a pack (manifest `specialTokens`). */
export interface SpecialTokens {
  sot: number;
  eot: number;
  pad: number;
}

/** Scorer text tensor data. */
export interface ScorerTokens {
  /** int64 or int32 [count, contextLength], zero-padded. */
  data: BigInt64Array | Int32Array;
  dims: [number, number];
}

/** A loaded CLIP-style tokenizer. */
export class CaptionTokenizer {
  readonly sot: number;
  readonly eot: number;
  readonly pad: number;
  private readonly tokenizer: Tokenizer;
  private readonly pieces = new Map<number, string>();

  /** Wraps an already-parsed `tokenizer.json` object; `special` comes from the pack manifest. */
  constructor(tokenizerJson: object, special: SpecialTokens, config: object = {}) {
    this.tokenizer = new Tokenizer(tokenizerJson, { clean_up_tokenization_spaces: false, ...config });
    this.sot = special.sot;
    this.eot = special.eot;
    this.pad = special.pad;
    for (const [name, id] of Object.entries(special)) {
      if (this.tokenizer.id_to_token(id) === undefined) {
        throw new Error(`tokenizer has no token with id ${id} (the manifest's ${name} id)`);
      }
    }
  }

  /** The BPE ids of a text, without special tokens (the text is pre-cleaned first unless `preclean` is false). */
  encodeText(text: string, options: { preclean?: boolean } = {}): number[] {
    const clean = options.preclean === false ? text : precleanText(text);
    return this.tokenizer.encode(clean, { add_special_tokens: false }).ids;
  }

  /** A captioner prompt: `[sot, …bpe]`. An empty text gives `[sot]`, the start of generation. */
  encodeForCaptioner(text = ''): number[] {
    return [this.sot, ...this.encodeText(text)];
  }

  /**
   * Scorer input for a batch of texts: each `[sot, …bpe, eot]`, zero-padded to `contextLength`, or truncated to it
   * with eot as the last id (open_clip's behaviour; OpenAI's `clip.tokenize` would raise instead).
   */
  encodeForScorer(
    texts: readonly string[],
    options: { contextLength?: number; dtype?: 'int64' | 'int32' } = {},
  ): ScorerTokens {
    const contextLength = options.contextLength ?? 77;
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new RangeError(`context length must be an integer ≥ 2, got ${contextLength}`);
    }
    const dtype = options.dtype ?? 'int64';
    const rows = texts.map((text) => {
      const ids = [this.sot, ...this.encodeText(text), this.eot].slice(0, contextLength);
      ids[ids.length - 1] = this.eot;
      return ids;
    });
    const size = texts.length * contextLength;
    const data = dtype === 'int64' ? new BigInt64Array(size) : new Int32Array(size);
    rows.forEach((ids, row) => {
      ids.forEach((id, column) => {
        if (data instanceof BigInt64Array) data[row * contextLength + column] = BigInt(id);
        else data[row * contextLength + column] = id;
      });
    });
    return { data, dims: [texts.length, contextLength] };
  }

  /**
   * Text of generated ids: drops sot, cuts at the first eot, drops trailing pad ids, joins the BPE pieces
   * (`</w>` → space) and cleans spacing. A pad id (0 = "!") before the end is a real token and stays.
   */
  decode(ids: ArrayLike<number>): string {
    const kept: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === this.eot) break;
      if (i === 0 && id === this.sot) continue;
      kept.push(id);
    }
    while (kept.length > 0 && kept[kept.length - 1] === this.pad) kept.pop();
    const text = kept.map((id) => this.tokenText(id)).join('');
    return cleanSpacing(text);
  }

  /**
   * The caption text the released Pseudo-RIS code writes for a generated row: open_clip's
   * `decode(row).split("<end_of_text>")[0].replace("<start_of_text>", "")` — the row's vocabulary strings joined,
   * their bytes decoded as UTF-8 at once (replacement characters for invalid sequences, as Python's
   * `errors="replace"`), `</w>` → space, cut before the first eot, sot dropped; nothing trimmed, pads kept (id 0
   * decodes as "!"). So a caption ended by eot keeps its last word's trailing space.
   */
  releasedText(ids: ArrayLike<number>): string {
    let joined = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === this.eot) break;
      if (id === this.sot) continue;
      const token = this.tokenizer.id_to_token(id);
      if (token === undefined) throw new RangeError(`token id ${id} is not in the vocabulary`);
      joined += token;
    }
    return byteLevelToText(joined).replaceAll('</w>', ' ');
  }

  /**
   * The text of one token as a trace shows it: its bytes decoded as UTF-8 (replacement character for partial
   * sequences) and `</w>` as a trailing space; special tokens by name.
   */
  tokenText(id: number): string {
    const cached = this.pieces.get(id);
    if (cached !== undefined) return cached;
    const token = this.tokenizer.id_to_token(id);
    if (token === undefined) throw new RangeError(`token id ${id} is not in the vocabulary`);
    let text: string;
    if (id === this.sot || id === this.eot) text = token;
    else {
      const wordEnd = token.endsWith('</w>');
      const body = wordEnd ? token.slice(0, -4) : token;
      text = byteLevelToText(body) + (wordEnd ? ' ' : '');
    }
    this.pieces.set(id, text);
    return text;
  }

  /** Number of entries in the vocabulary (added tokens included). */
  vocabularySize(): number {
    return this.tokenizer.get_vocab(true).size;
  }
}

/**
 * Loads `tokenizer.json` from a file (and `tokenizer_config.json` beside it when present).
 */
export async function loadTokenizer(path: string, special: SpecialTokens): Promise<CaptionTokenizer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read tokenizer ${path}: ${(error as Error).message}`, { cause: error });
  }
  let json: object;
  try {
    json = JSON.parse(text) as object;
  } catch (error) {
    throw new Error(`tokenizer ${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  let config: object = {};
  try {
    config = JSON.parse(await readFile(join(dirname(path), 'tokenizer_config.json'), 'utf8')) as object;
  } catch {
    // No config beside it: the defaults of the constructor apply.
  }
  return new CaptionTokenizer(json, special, config);
}

const QUOTES: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201a': "'",
  '\u201b': "'",
  '\u2032': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u201e': '"',
  '\u201f': '"',
  '\u2033': '"',
};
const LIGATURES: Record<string, string> = {
  '\ufb00': 'ff',
  '\ufb01': 'fi',
  '\ufb02': 'fl',
  '\ufb03': 'ffi',
  '\ufb04': 'ffl',
  '\ufb05': 'st',
  '\ufb06': 'st',
  '\u0132': 'IJ',
  '\u0133': 'ij',
};
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/**
 * Cleans arbitrary text the way OpenAI CLIP's `basic_clean` does before BPE: HTML entities unescaped twice
 * (`html.unescape(html.unescape(text))`), and ftfy's default fixes that apply to typed text — curly quotes →
 * straight, Latin ligatures → letters, full-width ASCII → ASCII, C0/C1 control characters removed, NFC — then
 * whitespace runs collapsed and trimmed. (ftfy's mojibake repair is not reproduced.)
 */
export function precleanText(text: string): string {
  let out = unescapeHtml(unescapeHtml(text));
  out = out.replace(/[\u2018\u2019\u201a\u201b\u2032\u201c\u201d\u201e\u201f\u2033]/g, (c) => QUOTES[c]!);
  out = out.replace(/[\ufb00-\ufb06\u0132\u0133]/g, (c) => LIGATURES[c]!);
  out = out.replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
  out = out.replace(/\u3000/g, ' ');
  // eslint-disable-next-line no-control-regex -- removing control characters is the point.
  out = out.replace(/[\u0000-\u0008\u000b\u000e-\u001f\u007f-\u009f]/g, '');
  out = out.normalize('NFC');
  return out.replace(/\s+/g, ' ').trim();
}

function unescapeHtml(text: string): string {
  return text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);/g, (match, body: string) => {
    if (body.startsWith('#')) {
      const code =
        body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
    }
    return ENTITIES[body] ?? match;
  });
}

function cleanSpacing(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

let unicodeToByte: Map<string, number> | undefined;

/** GPT-2/CLIP byte-level alphabet: the printable bytes map to themselves, the others to U+0100 onwards. */
function byteLevelToText(piece: string): string {
  if (!unicodeToByte) {
    unicodeToByte = new Map();
    const printable: number[] = [];
    for (let b = 33; b <= 126; b++) printable.push(b);
    for (let b = 161; b <= 172; b++) printable.push(b);
    for (let b = 174; b <= 255; b++) printable.push(b);
    let extra = 0;
    for (let b = 0; b < 256; b++) {
      if (printable.includes(b)) unicodeToByte.set(String.fromCharCode(b), b);
      else unicodeToByte.set(String.fromCharCode(256 + extra++), b);
    }
  }
  const bytes: number[] = [];
  for (const char of piece) {
    const byte = unicodeToByte.get(char);
    if (byte === undefined) return piece;
    bytes.push(byte);
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(bytes));
}
