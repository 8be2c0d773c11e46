import { describe, expect, it } from 'vitest';
import { headNoun, nounPrompt, stripFrames } from './head-noun.ts';

// CoCa-style captions (COCO caption register) with the root noun a dependency parse gives for the main noun phrase.
const CASES: [string, string][] = [
  ['a photo of a red circle', 'circle'],
  ['a close up of a striped blue square on a table', 'square'],
  ['an image of two dogs playing', 'dogs'],
  ['a man riding a horse', 'man'],
  ['the cat sitting on the couch', 'cat'],
  ['a striped red circle', 'circle'],
  ['a picture of a woman with an umbrella', 'woman'],
  ['people walking down the street', 'people'],
  ['a dotted green triangle next to a blue square', 'triangle'],
  ['close up of a plate of food', 'plate'],
  ['an orange dotted circle', 'circle'],
  ['a fire hydrant on the side of a road', 'hydrant'],
  ['a black and white photo of a clock tower', 'tower'],
  ['two giraffes standing next to each other', 'giraffes'],
  ['a large white airplane flying through a blue sky', 'airplane'],
  ['a close up photo of a pizza', 'pizza'],
  ['there is a dog on the bed', 'dog'],
  ['a man in a red shirt holding a frisbee', 'man'],
  ['an elephant walking in the grass', 'elephant'],
  ['purple dotted square', 'square'],
];

describe('headNoun', () => {
  it.each(CASES)('finds the root noun of "%s"', (caption, noun) => {
    expect(headNoun(caption).noun).toBe(noun);
  });

  it('keeps the determiner and modifiers in the phrase', () => {
    expect(headNoun('a photo of a striped red circle').phrase).toBe('a striped red circle');
    expect(headNoun('two dogs playing').phrase).toBe('two dogs');
  });

  it('skips stacked frames such as "a close up photo of"', () => {
    expect(stripFrames('a close up photo of a pizza')).toBe('a pizza');
    expect(stripFrames('An image of two dogs')).toBe('two dogs');
    expect(stripFrames('a photograph showing a cat')).toBe('a cat');
  });

  it('falls back to the last word when there is no noun, and is empty for an empty caption', () => {
    expect(headNoun('').noun).toBe('');
    expect(headNoun('  ').noun).toBe('');
    expect(headNoun('a green striped').noun.length).toBeGreaterThan(0);
  });

  it('rejects a non-string caption', () => {
    expect(() => headNoun(3 as unknown as string)).toThrow('caption must be a string');
  });
});

describe("headNoun 'root-chunk' (the released rule, approximated)", () => {
  it('keeps framing phrases: "a photo of a blue triangle" gives "photo", as spaCy’s root noun chunk does', () => {
    expect(headNoun('a photo of a blue triangle', 'root-chunk').noun).toBe('photo');
    expect(headNoun('a photo of a blue triangle').noun).toBe('triangle');
    expect(headNoun('a close up of a red circle', 'root-chunk').noun).not.toBe('circle');
  });

  it('agrees with the project’s rule where there is no frame', () => {
    for (const caption of [
      'a fire hydrant on the street',
      'two dogs playing in the grass',
      'a striped red circle',
    ])
      expect(headNoun(caption, 'root-chunk')).toEqual(headNoun(caption));
  });

  it('takes the whole caption when no noun chunk is found', () => {
    expect(headNoun('very bright and shiny', 'root-chunk').noun).toBe('very bright and shiny');
    expect(headNoun('very bright and shiny').noun).toBe('shiny');
  });
});

describe('nounPrompt', () => {
  it('writes "a photo of a <noun>"', () => {
    expect(nounPrompt('circle')).toBe('a photo of a circle');
  });
  it('does not add a second article to a phrase that starts with a/an/the', () => {
    expect(nounPrompt('the sky')).toBe('a photo of the sky');
    expect(nounPrompt('an apple')).toBe('a photo of an apple');
    expect(nounPrompt('animal')).toBe('a photo of a animal');
  });
  it('rejects an empty noun', () => {
    expect(() => nounPrompt(' ')).toThrow('empty noun');
  });
});
