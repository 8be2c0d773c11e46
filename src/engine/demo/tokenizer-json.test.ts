import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { demoTokenizerConfig, demoTokenizerJson } from './tokenizer-json.ts';
import { bytesToUnicode, DEMO_WORDS, demoVocabulary, wordId } from './vocabulary.ts';

function load(): Tokenizer {
  return new Tokenizer(JSON.parse(demoTokenizerJson()), demoTokenizerConfig());
}

describe('demo vocabulary', () => {
  it('lays out bytes, bytes with </w>, merges, then sot and eot as CLIP does', () => {
    const vocabulary = demoVocabulary();
    expect(vocabulary.tokens[0]).toBe('!');
    expect(vocabulary.tokens[256]).toBe('!</w>');
    expect(vocabulary.pad).toBe(0);
    expect(vocabulary.sot).toBe(vocabulary.size - 2);
    expect(vocabulary.eot).toBe(vocabulary.size - 1);
    expect(new Set(vocabulary.tokens).size).toBe(vocabulary.size);
    expect(bytesToUnicode()).toHaveLength(256);
  });

  it('rejects a word outside the vocabulary by name', () => {
    expect(() => wordId('zebra')).toThrow('"zebra" is not a demo word');
  });
});

describe('demo tokenizer.json loaded by @huggingface/tokenizers', () => {
  it('encodes every demo word to exactly one id, its wordId', () => {
    const tokenizer = load();
    const { sot, eot } = demoVocabulary();
    for (const word of DEMO_WORDS) {
      expect(tokenizer.encode(word).ids, word).toEqual([sot, wordId(word), eot]);
    }
  });

  it('round-trips a caption, normalizing case and whitespace', () => {
    const tokenizer = load();
    const { ids } = tokenizer.encode('A photo of  a STRIPED red\tcircle');
    expect(ids).toHaveLength(9);
    expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe('a photo of a striped red circle');
  });

  it('still tokenizes arbitrary text, into byte-level pieces', () => {
    const tokenizer = load();
    const text = 'zebra, 42 café!';
    const { ids } = tokenizer.encode(text);
    expect(ids.length).toBeGreaterThan(8);
    expect(ids.every((id: number) => id >= 0 && id < demoVocabulary().size)).toBe(true);
    expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe('zebra , 4 2 café !');
  });

  it('is byte-identical on every build', () => {
    expect(demoTokenizerJson()).toBe(demoTokenizerJson());
  });
});
