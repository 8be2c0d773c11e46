/**
 * The export dialog: formats, τ, destination, split and the other options of `pseudo-ris export` (dataset, splitBy,
 * split seed, COCO names, single-mask policy, append to an earlier export); progress events and the files written.
 */
import { defineStore } from 'pinia';
import {
  EXPORT_FORMATS,
  REFER_DATASETS,
  SPLIT_BY,
  hasRefs,
  type ExportFormat,
  type ExportProgress,
  type ExportResult,
  type Params,
  type ReferDataset,
  type SingleMaskOption,
} from '../../../shared/api.ts';
import { api, errorMessage } from './api.ts';
import { useFilterStore } from './filter.ts';

let subscribed = false;

/** What the dialog holds that becomes an `export:run` request. */
export interface ExportChoices {
  formats: ExportFormat[];
  dest: string;
  split: string;
  dataset: ReferDataset;
  splitBy: string;
  /** null or '' (an emptied number field): the project's seed. */
  splitSeed: number | null | '';
  cocoNames: boolean;
  singleMask: SingleMaskOption;
  appendTo: string;
  /** Replace a non-empty export folder (else the destination's format folder must be new or empty). */
  overwrite: boolean;
}

/** True when a chosen format takes the refcoco/cris options (dataset, splitBy, seed, COCO names, append). */
export function takesRefs(formats: readonly ExportFormat[]): boolean {
  return formats.some(hasRefs);
}

/**
 * The `export:run` request of the dialog's choices: the refcoco/cris options only when one of those formats is
 * chosen (the contract refuses them otherwise), empty fields left out so the engine applies the CLI's defaults.
 */
export function exportRequest(choices: ExportChoices, tau: number): Params<'export:run'> {
  const seed = choices.splitSeed;
  return {
    formats: choices.formats,
    dest: choices.dest.trim() || undefined,
    tau,
    split: choices.split,
    singleMask: choices.singleMask,
    ...(choices.overwrite ? { overwrite: true } : {}),
    ...(takesRefs(choices.formats)
      ? {
          dataset: choices.dataset,
          splitBy: choices.splitBy,
          splitSeed: seed === null || seed === '' ? undefined : seed,
          cocoNames: choices.cocoNames,
          appendTo: choices.appendTo.trim() || undefined,
        }
      : {}),
  };
}

export const useExportStore = defineStore('export', {
  state: () => ({
    open: false,
    formats: ['refcoco'] as ExportFormat[],
    dest: '',
    split: 'train',
    /** The CLI's defaults: refcocog, its first splitBy, the project's seed, the images' own names. */
    dataset: 'refcocog' as ReferDataset,
    splitBy: SPLIT_BY.refcocog[0],
    splitSeed: null as number | null | '',
    cocoNames: false,
    singleMask: 'project' as SingleMaskOption,
    appendTo: '',
    overwrite: false,
    /** null = use the τ of the filter store. */
    tau: null as number | null,
    running: false,
    progress: null as ExportProgress | null,
    result: null as ExportResult | null,
    error: null as string | null,
  }),
  getters: {
    allFormats: () => EXPORT_FORMATS,
    datasets: () => REFER_DATASETS,
    /** The splitBy values of the chosen dataset (first = its default). */
    splitBys: (state) => SPLIT_BY[state.dataset],
    /** A refcoco or cris format is ticked: the dialog shows their options. */
    takesRefs: (state) => takesRefs(state.formats),
  },
  actions: {
    show(): void {
      if (!subscribed) {
        subscribed = true;
        api().onExportProgress((progress) => (this.progress = progress));
      }
      this.open = true;
      this.error = null;
    },
    /** Forgets the last export's result, progress and error (another project was opened). */
    forgetResult(): void {
      this.result = null;
      this.progress = null;
      this.error = null;
    },
    /** Chooses the dataset; a splitBy it was not released with becomes its default. */
    chooseDataset(dataset: ReferDataset): void {
      this.dataset = dataset;
      if (!SPLIT_BY[dataset].includes(this.splitBy)) this.splitBy = SPLIT_BY[dataset][0];
    },
    async run(): Promise<void> {
      this.running = true;
      this.error = null;
      this.result = null;
      try {
        this.result = await api().exportDataset(exportRequest(this.$state, this.tau ?? useFilterStore().tau));
      } catch (error) {
        this.error = errorMessage(error);
      } finally {
        this.running = false;
        this.progress = null;
      }
    },
  },
});
