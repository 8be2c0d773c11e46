import { describe, expect, it } from 'vitest';
import { ApiError } from './api.ts';
import { candidateId, candidateKey, maskId, parseId, tryParseId, userMaskId } from './ids.ts';

describe('ids', () => {
  it('builds image:mask, image:uN and image:mask:candidate ids', () => {
    expect(maskId(7, 2)).toBe('7:2');
    expect(userMaskId('7', 0)).toBe('7:u0');
    expect(candidateId(7, 2, 13)).toBe('7:2:13');
    expect(candidateKey(2, 13)).toBe('2:13');
  });

  it('parses what it builds back into the same parts', () => {
    expect(parseId(candidateId(7, 2, 13), 'candidate')).toEqual({ image: 7, mask: 2, candidate: 13 });
    expect(parseId(maskId(7, 2), 'mask')).toEqual({ image: 7, mask: 2 });
    expect(parseId(userMaskId(7, 3), 'mask')).toEqual({ image: 7, user: 3 });
    expect(parseId('7', 'image')).toEqual({ image: 7 });
  });

  it('returns null from tryParseId for an id of another kind', () => {
    expect(tryParseId('7:2', 'candidate')).toBeNull();
    expect(tryParseId('7:2:1', 'mask')).toBeNull();
    expect(tryParseId('a', 'image')).toBeNull();
  });

  it('throws a not-found ApiError naming a malformed id', () => {
    expect(() => parseId('7:x', 'mask')).toThrow('no mask with id "7:x"');
    try {
      parseId('1:2', 'candidate');
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe('not-found');
    }
  });
});
