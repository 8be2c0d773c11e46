import { describe, expect, it } from 'vitest';
import {
  candidatesPerCrop,
  generationKey,
  jsonSyntaxReason,
  parseSettings,
  parseTau,
  REFERENCE_DIFFERENCES,
  referenceDifferences,
  referenceRecord,
  settingsDifferingFromReference,
  settingsPreset,
  TAU_MAX,
} from './settings.ts';

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

  it('selects masks by imported boxes only with a boxes file and generated masks, keying generation on it', () => {
    expect(parseSettings({}).masks).toMatchObject({ selection: 'top-k', boxesMinScore: 0.5 });
    expect(() => parseSettings({ masks: { selection: 'boxes' } })).toThrow(
      'invalid settings: settings.masks.boxesPath: masks.selection "boxes" needs masks.boxesPath (a COCO JSON of detections)',
    );
    expect(() =>
      parseSettings({
        masks: { selection: 'boxes', boxesPath: '/d.json', source: 'imported', importPath: '/m.json' },
      }),
    ).toThrow(
      'settings.masks.selection: masks.selection "boxes" selects among generated SAM masks; it cannot be used with masks.source "imported"',
    );
    expect(() =>
      parseSettings({ masks: { selection: 'boxes', boxesPath: '/d.json', boxesMinScore: 1.5 } }),
    ).toThrow(/settings\.masks\.boxesMinScore/);
    expect(() => parseSettings({ masks: { boxesSha256: 'abc' } })).toThrow(
      'settings.masks.boxesSha256: boxesSha256 must be 64 lowercase hex digits',
    );
    const topK = parseSettings({});
    const boxes = parseSettings({ masks: { selection: 'boxes', boxesPath: '/d.json' } });
    const other = parseSettings({
      masks: { selection: 'boxes', boxesPath: '/d.json', boxesSha256: 'a'.repeat(64) },
    });
    expect(new Set([generationKey(topK), generationKey(boxes), generationKey(other)]).size).toBe(3);
    // the reference preset keeps the top-K heuristic unless boxes are given, and says which applies
    expect(settingsPreset('reference').masks.selection).toBe('top-k');
    expect(referenceDifferences(settingsPreset('reference'))).toBe(REFERENCE_DIFFERENCES);
    expect(REFERENCE_DIFFERENCES[0]).toContain('without imported detections the top-K heuristic');
    const withBoxes = referenceDifferences({ masks: { ...boxes.masks, boxesMinScore: 0.3 } });
    expect(withBoxes[0]).toMatch(/^mask selection: the released code’s rule over the imported detections/);
    expect(withBoxes[0]).toContain('scoring above 0.3');
    expect(withBoxes.slice(1)).toEqual(REFERENCE_DIFFERENCES.slice(1));
  });

  it('lists the settings that differ from the reference preset, none for the preset itself', () => {
    const reference = settingsPreset('reference');
    expect(settingsDifferingFromReference(reference)).toEqual([]);
    expect(referenceRecord(reference)).toEqual({
      referencePreset: true,
      settingsDifferingFromReference: [],
      releasedCodeDifferences: REFERENCE_DIFFERENCES,
    });
    const lines = settingsDifferingFromReference(settingsPreset('default'));
    expect(lines).toContain('captions.plainSampling: true (reference: false)');
    expect(lines).toContain('filter.singleMask: "keep-all" (reference: "keep-by-cos-rank")');
    // the preset exports the released code's caption text; the default the trimmed one
    expect(lines).toContain('filter.captionText: "trimmed" (reference: "released")');
    expect(REFERENCE_DIFFERENCES.find((line) => line.startsWith('caption text:'))).toContain(
      'filter.captionText "released"',
    );
    // the run's own files are not differences
    const imported = parseSettings({ ...reference, masks: { ...reference.masks, boxesPath: '/d.json' } });
    expect(settingsDifferingFromReference(imported)).toEqual([]);
    expect(referenceRecord(settingsPreset('default')).referencePreset).toBe(false);
  });

  it('keys generation on everything but the filter', () => {
    const a = parseSettings({ filter: { tau: 1.3 } });
    const b = parseSettings({ filter: { tau: 2, captionText: 'released' } });
    const c = parseSettings({ seed: 3 });
    expect(generationKey(a)).toBe(generationKey(b));
    expect(generationKey(a)).not.toBe(generationKey(c));
  });

  it('validates τ the same way in settings and flags: a finite number from 0 to 10', () => {
    expect(() => parseSettings({ filter: { tau: -0.5 } })).toThrow('settings.filter.tau: tau must be ≥ 0');
    expect(() => parseSettings({ filter: { tau: 11 } })).toThrow('settings.filter.tau: tau must be ≤ 10');
    expect(parseSettings({ filter: { tau: 0 } }).filter.tau).toBe(0);
    expect(parseTau('--tau', '2.5')).toBe(2.5);
    expect(() => parseTau('--tau', '-1')).toThrow('--tau must be between 0 and 10, got -1');
    expect(() => parseTau('--tau', 'abc')).toThrow('--tau must be a number, got "abc"');
    expect(() => parseTau('--tau', '')).toThrow('--tau must be a number, got ""');
    expect(TAU_MAX).toBe(10);
  });

  it('describes a JSON syntax error by position, never quoting the text', () => {
    const failure = (text: string) => {
      try {
        JSON.parse(text);
      } catch (error) {
        return jsonSyntaxReason(error);
      }
      throw new Error('parsed');
    };
    const leak = failure('root:x:0:0:root:/root:/bin/bash');
    expect(leak).toBe('not valid JSON');
    expect(leak).not.toContain('root');
    expect(failure('')).toBe('not valid JSON (it ends early)');
    expect(failure('{"a": 1')).toBe('not valid JSON (syntax error at byte 7)');
    expect(failure('{"secret": tru}')).toBe('not valid JSON');
    expect(failure('{"secret": tru}')).not.toContain('secret');
  });
});
