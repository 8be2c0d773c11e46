/**
 * Head noun of a caption and the CoS noun prompt (DESIGN.md §5 Scores).
 *
 * The reference takes the root noun of the caption's main noun phrase from a dependency parse. compromise (a
 * maintained English NLP library, pure JS) tags the words; we then (1) drop framing phrases such as "a photo of" or
 * "a close up of", (2) take the first noun-phrase chunk — determiners, numbers, adjectives, participles and nouns up
 * to the first preposition, verb or conjunction — and (3) return its last noun, which is the chunk's root for
 * English noun phrases ("a fire hydrant" → "hydrant", "two dogs playing" → "dogs").
 *
 * `root-chunk` is the released rule as closely as compromise allows: the released code takes spaCy
 * `en_core_web_lg`'s root noun chunk of the caption as written, framing phrases included ("a photo of a blue
 * triangle" → "photo"), and the whole caption when no chunk is found. Here: steps (2)–(3) on the caption without
 * step (1), and the whole caption when the chunk has no noun; spaCy's dependency parse itself is not reproduced.
 */
import nlp from 'compromise';

/** Framing nouns that describe the picture, not its content: "a photo of …", "a close up of …". */
const FRAMES = [
  'close up',
  'close-up',
  'closeup',
  'photo',
  'photograph',
  'picture',
  'image',
  'view',
  'shot',
  'snapshot',
  'pic',
  'drawing',
  'painting',
  'illustration',
  'rendering',
  'render',
  'screenshot',
  'scene',
  'portrait',
  'selfie',
];
const FRAME_PATTERN = new RegExp(
  `^(?:(?:a|an|the|this|there is|there's|here is)\\s+)?(?:(?:black and white|blurry|close up|close-up|closeup|old|color|colour|cropped|small|large|low resolution|high resolution)\\s+)*(?:${FRAMES.map((f) => f.replace(/[-\s]/g, '[-\\s]?')).join('|')})\\s+(?:of|showing|with)\\s+`,
  'i',
);

/** Tags that end the main noun-phrase chunk. */
const BOUNDARY_TAGS = [
  'Preposition',
  'Conjunction',
  'Pronoun',
  'Copula',
  'Gerund',
  'PresentTense',
  'Infinitive',
  'Modal',
  'QuestionWord',
];

/** How the head noun is found: `strip-frames` (this project's rule) or `root-chunk` (the released rule's approximation). */
export type HeadNounRule = 'strip-frames' | 'root-chunk';

/** The head noun of a caption and the noun phrase it roots. */
export interface HeadNoun {
  /** Root noun, lower case ("circle"). Empty only for an empty caption. */
  noun: string;
  /** The main noun phrase with its determiner, lower case ("a striped red circle"). */
  phrase: string;
}

/** Removes leading framing phrases, repeatedly ("a close up photo of a …" → "a …"). */
export function stripFrames(caption: string): string {
  let text = caption
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/^(?:there is|there are|there's|this is|here is|it is)\s+/i, '');
  for (let guard = 0; guard < 4; guard++) {
    const next = text.replace(FRAME_PATTERN, '');
    if (next === text) break;
    text = next;
  }
  return text;
}

/**
 * The head noun of a caption: the root noun of its main noun phrase, framing phrases skipped.
 *
 * Falls back to the first noun anywhere, then to the last word, so every non-empty caption has a head.
 */
export function headNoun(caption: string, rule: HeadNounRule = 'strip-frames'): HeadNoun {
  if (typeof caption !== 'string')
    throw new Error(`headNoun: caption must be a string, got ${typeof caption}`);
  const lower = caption.toLowerCase();
  const text = rule === 'root-chunk' ? lower.trim().replace(/\s+/g, ' ') : stripFrames(lower);
  if (text === '') return { noun: '', phrase: '' };
  const terms = nlp(text)
    .json()
    .flatMap((sentence: { terms: { text: string; tags: string[] }[] }) => sentence.terms)
    .filter((t: { text: string }) => t.text !== '');
  const chunk: { text: string; tags: string[] }[] = [];
  for (const term of terms) {
    const tags = new Set(term.tags);
    const isNoun = tags.has('Noun') && !tags.has('Pronoun');
    // "-ing" words after a noun start a clause ("dogs playing", "man riding"), whatever the tagger guessed
    const gerundAfterNoun =
      chunk.some((t) => t.tags.includes('Noun')) && /ing$/.test(term.text) && !tags.has('Plural');
    const boundary = BOUNDARY_TAGS.some((b) => tags.has(b)) || gerundAfterNoun;
    if (chunk.length > 0 && boundary && !(isNoun && !gerundAfterNoun && !tags.has('Preposition'))) break;
    if (chunk.length === 0 && boundary && !isNoun) continue;
    chunk.push(term);
  }
  let head = [...chunk].reverse().find((t) => t.tags.includes('Noun') && !t.tags.includes('Pronoun'));
  // the released fallback: no root chunk → the whole caption stands for the noun
  if (!head && rule === 'root-chunk') return { noun: text, phrase: text };
  if (!head)
    head = terms.find((t: { tags: string[] }) => t.tags.includes('Noun') && !t.tags.includes('Pronoun'));
  const words = text.split(' ');
  const noun = clean(head ? head.text : words[words.length - 1]);
  const phrase =
    chunk.length > 0
      ? chunk
          .slice(0, chunk.indexOf(head!) + 1 || chunk.length)
          .map((t) => clean(t.text))
          .join(' ')
      : noun;
  return { noun, phrase };
}

/**
 * The CoS prompt for a head noun: "a photo of a <noun>", or "a photo of <noun>" when it already starts with
 * a/an/the (a phrase fallback such as "the sky").
 */
export function nounPrompt(noun: string): string {
  const n = noun.trim();
  if (n === '') throw new Error('nounPrompt: empty noun');
  return /^(a|an|the)\s/i.test(n) ? `a photo of ${n}` : `a photo of a ${n}`;
}

function clean(word: string): string {
  return word.replace(/[^\p{L}\p{N}'-]+/gu, '').toLowerCase();
}
