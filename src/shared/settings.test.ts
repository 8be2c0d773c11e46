import { describe, expect, it } from 'vitest';
import { candidatesPerCrop, generationKey, parseSettings, settingsPreset } from './settings.ts';

describe('settings', () => {
  it('fills the paper defaults from an empty object', () => {
    const s = parseSettings({});
    expect(s.crops.margins).toEqual([1.0, 1.1, 1.2]);
    expect(s.captions.topK).toEqual([5, 7, 9, 11, 13]);
    expect(s.captions.topP).toEqual([0.4, 0.5, 0.6, 0.7, 0.8]);
    expect(s.captions.maxLength).toBe(30);
    expect(s.captions.minLength).toBe(5);
    expect(s.filter.tau).toBeCloseTo(1.3);
    expect(s.masks.maxMasks).toBe(5);
  });

  it('gives 11 candidates per crop in the reference preset and 21 with the plain-sampling comparison', () => {
    expect(candidatesPerCrop(settingsPreset('reference').captions)).toBe(11);
    expect(candidatesPerCrop(settingsPreset('default').captions)).toBe(21);
  });

  it('names every invalid field in one message', () => {
    expect(() =>
      parseSettings({ filter: { singleMask: 'nope' }, captions: { minLength: 40, maxLength: 30 } }),
    ).toThrow(/settings\.filter\.singleMask/);
    expect(() => parseSettings({ captions: { minLength: 30, maxLength: 30 } })).toThrow(
      'minLength (30) must be below maxLength (30)',
    );
    expect(() => parseSettings({ masks: { source: 'imported' } })).toThrow('needs masks.importPath');
  });

  it('keys generation on everything but the filter', () => {
    const a = parseSettings({ filter: { tau: 1.3 } });
    const b = parseSettings({ filter: { tau: 2 } });
    const c = parseSettings({ seed: 3 });
    expect(generationKey(a)).toBe(generationKey(b));
    expect(generationKey(a)).not.toBe(generationKey(c));
  });
});
