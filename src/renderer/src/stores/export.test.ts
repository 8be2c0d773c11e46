import { createPinia, setActivePinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import { parseParams } from '../../../shared/api.ts';
import { exportRequest, useExportStore, type ExportChoices } from './export.ts';

const choices = (overrides: Partial<ExportChoices> = {}): ExportChoices => ({
  formats: ['refcoco'],
  dest: '',
  split: 'train',
  dataset: 'refcocog',
  splitBy: 'umd',
  splitSeed: null,
  cocoNames: false,
  singleMask: 'project',
  appendTo: '',
  overwrite: false,
  ...overrides,
});

describe('the export dialog’s request', () => {
  it('sends the refcoco/cris options only with one of those formats, and the contract takes what it sends', () => {
    const csv = exportRequest(choices({ formats: ['csv', 'masks'], appendTo: '/x', cocoNames: true }), 1.3);
    expect(csv).toEqual({
      formats: ['csv', 'masks'],
      dest: undefined,
      tau: 1.3,
      split: 'train',
      singleMask: 'project',
    });
    expect(() => parseParams('export:run', csv)).not.toThrow();
    const refcoco = exportRequest(
      choices({ dataset: 'refcoco+', splitBy: 'unc', splitSeed: 4, cocoNames: true, appendTo: ' /data/e ' }),
      2,
    );
    expect(parseParams('export:run', refcoco)).toMatchObject({
      dataset: 'refcoco+',
      splitBy: 'unc',
      splitSeed: 4,
      cocoNames: true,
      appendTo: '/data/e',
    });
    // an emptied seed field is the project's seed; a fractional one reaches the contract, which names it
    expect(exportRequest(choices({ splitSeed: '' }), 1).splitSeed).toBeUndefined();
    expect(() => parseParams('export:run', exportRequest(choices({ splitSeed: 1.5 }), 1))).toThrow(
      'export:run: invalid parameters: splitSeed: must be an integer',
    );
    // replacing a non-empty destination is asked for, never assumed
    expect(exportRequest(choices({ overwrite: true }), 1)).toMatchObject({ overwrite: true });
    expect(parseParams('export:run', exportRequest(choices({ overwrite: true }), 1)).overwrite).toBe(true);
  });

  it('moves splitBy to the dataset’s default when the dataset has no such splitBy', () => {
    setActivePinia(createPinia());
    const store = useExportStore();
    expect([store.dataset, store.splitBy]).toEqual(['refcocog', 'umd']);
    store.chooseDataset('refcoco');
    expect([store.splitBy, store.splitBys]).toEqual(['unc', ['unc', 'google']]);
    store.splitBy = 'google';
    store.chooseDataset('refcocog');
    expect(store.splitBy).toBe('google');
    store.chooseDataset('refcoco+');
    expect(store.splitBy).toBe('unc');
  });
});
