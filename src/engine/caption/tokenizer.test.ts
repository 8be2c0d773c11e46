import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIP_REFERENCE_IDS, clipSubsetTokenizer } from '../testing/clip-subset.ts';
import { CaptionTokenizer, loadTokenizer, precleanText } from './tokenizer.ts';

const special = { sot: 49406, eot: 49407, pad: 0 };
const clip = new CaptionTokenizer(clipSubsetTokenizer(), special);

describe('CLIP tokenization against the real tokenizer ids', () => {
  for (const { text, ids } of CLIP_REFERENCE_IDS) {
    it(`encodes ${JSON.stringify(text)} as CLIP does`, () => {
      expect([special.sot, ...clip.encodeText(text, { preclean: false }), special.eot]).toEqual(ids);
    });
  }

  it('gives the captioner sot first and no eot', () => {
    expect(clip.encodeForCaptioner('a photo of a dog')).toEqual([49406, 320, 1125, 539, 320, 1929]);
    expect(clip.encodeForCaptioner()).toEqual([49406]);
  });

  it('zero-pads scorer texts to 77 as int64 by default', () => {
    const { data, dims } = clip.encodeForScorer(['a photo of a dog', 'hello world']);
    expect(dims).toEqual([2, 77]);
    expect(data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(data.slice(0, 8) as ArrayLike<number | bigint>, Number)).toEqual([
      49406, 320, 1125, 539, 320, 1929, 49407, 0,
    ]);
    expect(Array.from(data.slice(77, 81) as ArrayLike<number | bigint>, Number)).toEqual([
      49406, 3306, 1002, 49407,
    ]);
    expect(
      Array.from(data.slice(81, 154) as ArrayLike<number | bigint>, Number).every((id) => id === 0),
    ).toBe(true);
  });

  it('gives int32 when the graph declares int32', () => {
    const { data } = clip.encodeForScorer(['hello'], { dtype: 'int32' });
    expect(data).toBeInstanceOf(Int32Array);
    expect(Array.from(data.slice(0, 3) as ArrayLike<number | bigint>, Number)).toEqual([49406, 3306, 49407]);
  });

  it('truncates a long text to the context length with eot last (open_clip)', () => {
    const { data } = clip.encodeForScorer(['hello world hello world'], { contextLength: 4 });
    expect(Array.from(data as ArrayLike<number | bigint>, Number)).toEqual([49406, 3306, 1002, 49407]);
  });

  it('rejects a context length below 2', () => {
    expect(() => clip.encodeForScorer(['x'], { contextLength: 1 })).toThrow(
      'context length must be an integer ≥ 2, got 1',
    );
  });
});

describe('decoding generated ids', () => {
  it('drops sot, cuts at the first eot and ignores pads after it', () => {
    expect(clip.decode([49406, 320, 1125, 539, 320, 1929, 49407, 0, 0])).toBe('a photo of a dog');
  });

  it('drops trailing pads of a beam that never produced eot', () => {
    expect(clip.decode([49406, 3306, 1002, 0, 0])).toBe('hello world');
  });

  it('gives the released text as open_clip decode(row).split("<end_of_text>")[0] does (hand-checked)', () => {
    // ended by eot: the last word's `</w>` stays as a trailing space; the pads after eot are cut
    expect(clip.releasedText([49406, 320, 1125, 539, 320, 1929, 49407, 0, 0])).toBe('a photo of a dog ');
    // ended by a sampled pad (stop-on-pad): id 0 is "!" with no `</w>`, so the row's pads follow the space
    expect(clip.releasedText([49406, 320, 1125, 539, 320, 1929, 0, 0, 0])).toBe('a photo of a dog !!!');
    expect(clip.releasedText([49406, 0, 0])).toBe('!!');
    // "é" (C3 A9) sampled as two byte pieces "Ã" (127) and "©" (102): the row's bytes decode together
    expect(clip.releasedText([49406, 569, 18356, 127, 102, 323, 49407])).toBe('unwantéd ');
    expect(clip.decode([49406, 569, 18356, 127, 102, 323, 49407])).toBe('unwant\ufffd\ufffdd');
    // forced eot in the middle of a word: no trailing space
    expect(clip.releasedText([49406, 569, 18356, 49407])).toBe('unwant');
  });

  it('decodes byte-level pieces back to UTF-8', () => {
    expect(clip.decode([49406, 569, 18356, 3459, 323])).toBe('unwantéd');
  });

  it('round-trips captions made of whole words (CLIP itself splits digits: "2016" decodes as "2 0 1 6")', () => {
    for (const text of ['a photo of a dog', 'how are you doing', 'the company was founded in the world']) {
      expect(clip.decode(clip.encodeForCaptioner(text))).toBe(text);
    }
  });

  it('shows token strings with </w> as a trailing space', () => {
    expect(clip.tokenText(1929)).toBe('dog ');
    expect(clip.tokenText(569)).toBe('un');
    expect(clip.tokenText(49407)).toBe('<|endoftext|>');
  });

  it('rejects a manifest special id the vocabulary lacks', () => {
    expect(() => new CaptionTokenizer(clipSubsetTokenizer(), { ...special, eot: 70000 })).toThrow(
      "tokenizer has no token with id 70000 (the manifest's eot id)",
    );
  });
});

describe('pre-cleaning user text as ftfy + html.unescape', () => {
  it('unescapes HTML entities twice', () => {
    expect(precleanText('tom &amp;amp; jerry &lt;3 &#39;x&#x27;')).toBe("tom & jerry <3 'x'");
  });

  it('straightens curly quotes, splits ligatures and narrows full-width letters', () => {
    expect(precleanText('\u201cthe \ufb01sh\u2019s \uff24\uff2f\uff27\u201d')).toBe('"the fish\'s DOG"');
  });

  it('composes to NFC and collapses whitespace', () => {
    expect(precleanText('  cafe\u0301 \n\t ok ')).toBe('caf\u00e9 ok');
  });

  it('makes curly apostrophes tokenize like straight ones', () => {
    expect(clip.encodeText('you should\u2019ve')).toEqual(clip.encodeText("you should've"));
    expect(clip.encodeText("you should've")).toEqual([592, 1535, 1200]);
  });
});

describe('the demo pack tokenizer', () => {
  const path = join(process.cwd(), 'resources/models/demo/tokenizer.json');
  it.skipIf(!existsSync(path))('round-trips demo captions', async () => {
    const demo = await loadTokenizer(path, await demoSpecial());
    for (const text of [
      'a photo of a striped red circle',
      'a red shape on a grey background',
      'an image of a dotted blue triangle',
    ]) {
      const ids = demo.encodeForCaptioner(text);
      expect(ids[0]).toBe(demo.sot);
      expect(demo.decode([...ids, demo.eot, demo.pad])).toBe(text);
    }
  });
});

async function demoSpecial() {
  const { readFile } = await import('node:fs/promises');
  const manifest = JSON.parse(
    await readFile(join(process.cwd(), 'resources/models/demo/manifest.json'), 'utf8'),
  ) as {
    captioner: { specialTokens: { sot: number; eot: number; pad: number } };
  };
  return manifest.captioner.specialTokens;
}
