/**
 * The decoding inspector: one candidate's stored trace, the naive-vs-DCS re-run of its crop on the same random
 * stream (with optional k / p / temperature / seed / aggregation overrides), which of the two the charts show, and
 * the selected step; for a beam-search candidate, its beam trace (the crop's search replayed with tracing).
 */
import { defineStore } from 'pinia';
import type {
  CandidateView,
  InspectorBeamTrace,
  InspectorRerun,
  InspectorTrace,
} from '../../../shared/api.ts';
import type { CaptionTrace, TraceStep } from '../../../shared/caption.ts';
import { api, errorMessage } from './api.ts';
import { useAppStore } from './app.ts';

/** The re-run form; null fields keep the candidate's own setting. */
export interface RerunForm {
  topK: number | null;
  topP: number | null;
  temperature: number | null;
  seed: number | null;
  aggregation: 'mean' | 'weighted-sum' | null;
}

export const useInspectorStore = defineStore('inspector', {
  state: () => ({
    candidate: null as CandidateView | null,
    stored: null as InspectorTrace | null,
    rerunResult: null as InspectorRerun | null,
    /** The beam trace of a beam-search candidate. */
    beam: null as InspectorBeamTrace | null,
    /** Which decoding the charts show once a naive-vs-DCS pair exists. */
    side: 'dcs' as 'naive' | 'dcs',
    step: 0,
    form: { topK: null, topP: null, temperature: null, seed: null, aggregation: null } as RerunForm,
    loading: false,
    rerunning: false,
    error: null as string | null,
  }),
  getters: {
    /** The trace shown in the charts: the chosen side of the re-run when there is one, else the stored trace. */
    shown(state): CaptionTrace | null {
      if (state.rerunResult) return state.side === 'naive' ? state.rerunResult.naive : state.rerunResult.dcs;
      return state.stored?.trace ?? null;
    },
    /** Mask ids indexed by the trace's `maskIndex` fields. */
    maskIds(state): string[] {
      return state.rerunResult?.maskIds ?? state.stored?.maskIds ?? [];
    },
    currentStep(): TraceStep | null {
      return this.shown?.steps[this.step] ?? null;
    },
  },
  actions: {
    async open(candidate: CandidateView): Promise<void> {
      this.candidate = candidate;
      this.stored = null;
      this.rerunResult = null;
      this.beam = null;
      this.step = 0;
      this.error = null;
      const setting = candidate.setting;
      this.side = setting.kind !== 'beam' && !setting.distinctive ? 'naive' : 'dcs';
      this.form = {
        topK: setting.kind === 'top-k' ? setting.k : null,
        topP: setting.kind === 'top-p' ? setting.p : null,
        temperature: null,
        seed: null,
        aggregation: null,
      };
      this.loading = true;
      // Another candidate may be opened before these answers arrive; drop answers for one no longer shown.
      const current = () => this.candidate?.id === candidate.id;
      if (setting.kind === 'beam') {
        try {
          const beam = await api().getBeamTrace({ candidateId: candidate.id });
          if (current()) this.beam = beam;
        } catch (error) {
          if (current()) this.error = errorMessage(error);
        } finally {
          if (current()) this.loading = false;
        }
        return;
      }
      try {
        const stored = await api().getTrace({ candidateId: candidate.id });
        if (!current()) return;
        this.stored = stored;
        // The naive-vs-DCS pair of the same crop and random stream, with the candidate's own settings.
        const pair = await api().rerunCrop({ candidateId: candidate.id, overrides: {} });
        if (current()) this.rerunResult = pair;
      } catch (error) {
        if (current()) this.error = errorMessage(error);
      } finally {
        if (current()) this.loading = false;
      }
    },
    async rerun(): Promise<void> {
      const candidate = this.candidate;
      if (!candidate || candidate.setting.kind === 'beam') return;
      const overrides: {
        topK?: number;
        topP?: number;
        temperature?: number;
        seed?: number;
        aggregation?: 'mean' | 'weighted-sum';
      } = {};
      // k and p are exclusive: the candidate's own filter decides which one the form edits.
      if (candidate.setting.kind === 'top-k' && isNumber(this.form.topK)) overrides.topK = this.form.topK;
      if (candidate.setting.kind === 'top-p' && isNumber(this.form.topP)) overrides.topP = this.form.topP;
      if (isNumber(this.form.temperature)) overrides.temperature = this.form.temperature;
      if (isNumber(this.form.seed)) overrides.seed = this.form.seed;
      if (this.form.aggregation) overrides.aggregation = this.form.aggregation;
      this.rerunning = true;
      try {
        this.rerunResult = await api().rerunCrop({ candidateId: candidate.id, overrides });
        this.error = null;
        this.setStep(this.step);
      } catch (error) {
        useAppStore().notify('error', `Re-run: ${errorMessage(error)}`);
      } finally {
        this.rerunning = false;
      }
    },
    setStep(step: number): void {
      const n = this.beam?.trace.steps.length ?? this.shown?.steps.length ?? 0;
      this.step = Math.min(Math.max(0, step), Math.max(0, n - 1));
    },
    setSide(side: 'naive' | 'dcs'): void {
      this.side = side;
      this.setStep(this.step);
    },
  },
});

// Number inputs bound with v-model.number give '' when cleared.
function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
