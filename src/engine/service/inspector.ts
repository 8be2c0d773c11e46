/**
 * The caption inspector: replays one stored candidate's decoding with a per-step trace (`inspector:trace`), replays
 * a beam candidate's search with its beams, hypotheses and winner (`inspector:beam`), and re-runs a crop with other
 * sampling settings side by side, plain and with distinctive caption sampling (`inspector:rerun`), and explains one
 * step with occlusion attribution (`inspector:attribute`). The image is loaded again from the confined folders;
 * nothing is stored. Every method is interactive model work: the service runs it in the interactive lane.
 */
import {
  ApiError,
  type InspectorAttribution,
  type InspectorBeamTrace,
  type InspectorRerun,
  type InspectorTrace,
  type ParsedParams,
} from '../../shared/api.ts';
import { settingKey, type CaptionTrace, type SamplingSetting } from '../../shared/caption.ts';
import type { ImageResult } from '../../shared/results.ts';
import { compareTraces } from '../caption/index.ts';
import {
  attributeOcclusion,
  decodeBeamWithTrace,
  decodeWithTrace,
  type DecodeTweaks,
} from '../pipeline/index.ts';
import type { SessionState } from './session-state.ts';
import { maskId } from './views.ts';

/** Trace and re-run of stored candidates. */
export class Inspector {
  constructor(private readonly session: SessionState) {}

  async trace({ candidateId }: ParsedParams<'inspector:trace'>): Promise<InspectorTrace> {
    const { result, candidate } = this.session.candidate(candidateId);
    if (candidate.setting.kind === 'beam')
      throw new ApiError(
        'unsupported',
        'beam-search candidates have no sampling trace: ask for their beam trace (inspector:beam)',
      );
    const traced = await this.#decodeOne(result, candidate.mask, candidate.crop, candidate.setting, {});
    return { candidateId, maskIds: result.masks.map((m) => maskId(result.image.id, m.index)), trace: traced };
  }

  async beam({ candidateId }: ParsedParams<'inspector:beam'>): Promise<InspectorBeamTrace> {
    const { result, candidate } = this.session.candidate(candidateId);
    if (candidate.setting.kind !== 'beam')
      throw new ApiError(
        'unsupported',
        `candidate ${candidateId} is sampled (${candidate.settingKey}), not beam search: ask for its sampling trace (inspector:trace)`,
      );
    const settings = this.session.require().file.settings;
    const stages = await this.session.stages();
    const path = await this.session.scope.check(result.image.path, 'image');
    const image = await stages.load(path, settings.maxPixels);
    const trace = await decodeBeamWithTrace({
      image,
      result,
      settings,
      stages,
      mask: candidate.mask,
      crop: candidate.crop,
      setting: candidate.setting,
    });
    // Beam search is deterministic: the replayed winner must be the stored candidate, token for token.
    const stored = candidate.tokens.join(',');
    if (trace.tokenIds.join(',') !== stored || trace.text !== candidate.text)
      throw new ApiError(
        'engine',
        `the replayed beam search chose "${trace.text}" [${trace.tokenIds.join(',')}], not the stored "${candidate.text}" [${stored}]: the model pack or the decoding settings changed since the run`,
      );
    return {
      candidateId,
      maskIds: result.masks.map((m) => maskId(result.image.id, m.index)),
      trace,
      storedScore: candidate.beamScore ?? null,
    };
  }

  async rerun({ candidateId, overrides }: ParsedParams<'inspector:rerun'>): Promise<InspectorRerun> {
    const { result, candidate } = this.session.candidate(candidateId);
    const base: SamplingSetting =
      candidate.setting.kind === 'beam' ? { kind: 'top-k', k: 5, distinctive: true } : candidate.setting;
    let setting: SamplingSetting = base;
    if (overrides.topK !== undefined) setting = { kind: 'top-k', k: overrides.topK, distinctive: true };
    else if (overrides.topP !== undefined) setting = { kind: 'top-p', p: overrides.topP, distinctive: true };
    const tweaks = {
      temperature: overrides.temperature,
      seed: overrides.seed,
      aggregation: overrides.aggregation,
    };
    const dcs = await this.#decodeOne(
      result,
      candidate.mask,
      candidate.crop,
      { ...setting, distinctive: true },
      tweaks,
    );
    const naive = await this.#decodeOne(
      result,
      candidate.mask,
      candidate.crop,
      { ...setting, distinctive: false },
      tweaks,
    );
    return {
      candidateId,
      maskIds: result.masks.map((m) => maskId(result.image.id, m.index)),
      naive,
      dcs,
      comparison: compareTraces(naive, dcs),
    };
  }

  async attribute({
    candidateId,
    step,
    token,
    grid,
  }: ParsedParams<'inspector:attribute'>): Promise<InspectorAttribution> {
    const { result, candidate } = this.session.candidate(candidateId);
    const last = candidate.tokens.length - 2;
    if (step > last)
      throw new ApiError(
        'invalid-params',
        `step must be in 0..${last}: candidate ${candidateId} has ${candidate.tokens.length} tokens (sot first), got ${step}`,
      );
    const settings = this.session.require().file.settings;
    const stages = await this.session.stages();
    const vocabulary = stages.captionTokenizer.vocabularySize();
    if (token !== undefined && token >= vocabulary)
      throw new ApiError('invalid-params', `token must be an id in 0..${vocabulary - 1}, got ${token}`);
    const path = await this.session.scope.check(result.image.path, 'image');
    const image = await stages.load(path, settings.maxPixels);
    const attribution = await attributeOcclusion({
      image,
      result,
      settings,
      stages,
      mask: candidate.mask,
      crop: candidate.crop,
      tokens: candidate.tokens,
      step,
      ...(token !== undefined ? { token } : {}),
      grid,
    });
    return { candidateId, ...attribution };
  }

  /** Loads a stored image from the confined folders and decodes one setting with a trace (`decodeWithTrace`). */
  async #decodeOne(
    result: ImageResult,
    mask: number,
    crop: ImageResult['candidates'][number]['crop'],
    setting: SamplingSetting,
    tweaks: DecodeTweaks,
  ): Promise<CaptionTrace> {
    const settings = this.session.require().file.settings;
    const stages = await this.session.stages();
    const path = await this.session.scope.check(result.image.path, 'image');
    const image = await stages.load(path, settings.maxPixels);
    const trace = await decodeWithTrace({ image, result, settings, stages, mask, crop, setting, tweaks });
    if (!trace)
      throw new ApiError('engine', `no trace was recorded for mask ${mask} (${settingKey(setting)})`);
    return trace;
  }
}
