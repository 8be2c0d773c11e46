import { describe, expect, it } from 'vitest';
import { assignSplits, cocoName, crisFolder, parseSplits, resolveDataset } from './naming.ts';

const images = Array.from({ length: 10 }, (_, k) => ({ key: k + 1, sha256: `hash-${k}` }));

describe('split specs', () => {
  it('parse a single name or name=share lists that sum to 1', () => {
    expect(parseSplits('val')).toEqual([{ name: 'val', share: 1 }]);
    expect(parseSplits('train=0.8, testA=0.1, testB=0.1')).toEqual([
      { name: 'train', share: 0.8 },
      { name: 'testA', share: 0.1 },
      { name: 'testB', share: 0.1 },
    ]);
  });

  it('refuse names refer.py does not know, repeated names, bad shares and sums other than 1', () => {
    expect(() => parseSplits('train=0.8,dev=0.2')).toThrow('split "dev" is not one refer.py accepts');
    expect(() => parseSplits('train=0.5,train=0.5')).toThrow('split train is named twice');
    expect(() => parseSplits('train=x')).toThrow('split "train=x" must be name=share');
    expect(() => parseSplits('train=0.8,val=0.1')).toThrow('split shares must sum to 1, got 0.9');
    expect(() => parseSplits('train=1.2,val=-0.2')).toThrow("split train's share must lie in (0, 1]");
  });
});

describe('split assignment', () => {
  const splits = parseSplits('train=0.8,val=0.1,test=0.1');

  it('gives each split its share of images, deterministic from content and seed, not from input order', () => {
    const a = assignSplits(images, splits, 0);
    const b = assignSplits([...images].reverse(), splits, 0);
    expect([...a.entries()].sort()).toEqual([...b.entries()].sort());
    const counts = (m: Map<number, string>) =>
      ['train', 'val', 'test'].map((s) => [...m.values()].filter((v) => v === s).length);
    expect(counts(a)).toEqual([8, 1, 1]);
    expect([...assignSplits(images, splits, 1).entries()].sort()).not.toEqual([...a.entries()].sort());
  });

  it('keeps every split non-empty when the image count allows, and says so when it does not', () => {
    const three = images.slice(0, 3);
    expect(new Set(assignSplits(three, splits, 0).values())).toEqual(new Set(['train', 'val', 'test']));
    expect(() => assignSplits(images.slice(0, 2), splits, 0)).toThrow(
      '2 image(s) with kept expressions cannot fill 3 splits (train, val, test): every split needs at least one image',
    );
  });
});

describe('dataset names', () => {
  it('resolve splitBy per dataset and refuse combinations that do not exist', () => {
    expect(resolveDataset(undefined, undefined)).toEqual({ dataset: 'refcocog', splitBy: 'umd' });
    expect(resolveDataset('refcoco+', undefined)).toEqual({ dataset: 'refcoco+', splitBy: 'unc' });
    expect(() => resolveDataset('refcoco+', 'google')).toThrow(
      'splitBy "google" does not exist for refcoco+: use unc',
    );
    expect(() => resolveDataset('refcocog_u', undefined)).toThrow(
      'dataset "refcocog_u" is not one refer.py accepts',
    );
  });

  it("derive CRIS's folder names", () => {
    expect(crisFolder('refcocog', 'umd')).toBe('refcocog_u');
    expect(crisFolder('refcocog', 'google')).toBe('refcocog_g');
    expect(crisFolder('refcoco+', 'unc')).toBe('refcoco+');
    expect(() => crisFolder('refclef', 'unc')).toThrow('CRIS has no refclef setup');
  });

  it('write COCO file names', () => {
    expect(cocoName(581857)).toBe('COCO_train2014_000000581857.jpg');
  });
});
