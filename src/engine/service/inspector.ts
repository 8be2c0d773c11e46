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
import type { Settings } from '../../shared/settings.ts';
import { compareTraces } from '../caption/index.ts';
import type { RgbImage } from '../image/index.ts';
import {
  attributeOcclusion,
  decodeBeamWithTrace,
  decodeWithTrace,
  type DecodeTweaks,
  type PackStages,
} from '../pipeline/index.ts';
import type { SessionState } from './session-state.ts';
import { maskId } from './views.ts';

/** What replaying a stored candidate needs besides the candidate (see {@link Inspector}'s `#replayContext`). */
interface ReplayContext {
  settings: Settings;
  stages: PackStages;
  image: RgbImage;
}

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
    const context = await this.#replayContext(result);
    const traced = await this.#decodeOne(context, result, candidate, candidate.setting, {});
    return { candidateId, maskIds: maskIds(result), trace: traced };
  }

  async beam({ candidateId }: ParsedParams<'inspector:beam'>): Promise<InspectorBeamTrace> {
    const { result, candidate } = this.session.candidate(candidateId);
    if (candidate.setting.kind !== 'beam')
      throw new ApiError(
        'unsupported',
        `candidate ${candidateId} is sampled (${candidate.settingKey}), not beam search: ask for its sampling trace (inspector:trace)`,
      );
    const trace = await decodeBeamWithTrace({
      ...(await this.#replayContext(result)),
      result,
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
    return { candidateId, maskIds: maskIds(result), trace, storedScore: candidate.beamScore ?? null };
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
    const context = await this.#replayContext(result);
    const decode = (distinctive: boolean) =>
      this.#decodeOne(context, result, candidate, { ...setting, distinctive }, tweaks);
    const dcs = await decode(true);
    const naive = await decode(false);
    return { candidateId, maskIds: maskIds(result), naive, dcs, comparison: compareTraces(naive, dcs) };
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
    const context = await this.#replayContext(result, (stages) => {
      const vocabulary = stages.captionTokenizer.vocabularySize();
      if (token !== undefined && token >= vocabulary)
        throw new ApiError('invalid-params', `token must be an id in 0..${vocabulary - 1}, got ${token}`);
    });
    const attribution = await attributeOcclusion({
      ...context,
      result,
      mask: candidate.mask,
      crop: candidate.crop,
      tokens: candidate.tokens,
      step,
      ...(token !== undefined ? { token } : {}),
      grid,
    });
    return { candidateId, ...attribution };
  }

  /**
   * What replaying a candidate of stored `result` needs, resolved one way for every view (trace, beam trace, re-run,
   * attribution): the project's settings, the pack's stages (`checkStages` refuses a parameter they bound before
   * any file is read) and the image, loaded again from the confined folders. Each view checks its candidate first,
   * before any model work.
   */
  async #replayContext(
    result: ImageResult,
    checkStages: (stages: PackStages) => void = () => {},
  ): Promise<ReplayContext> {
    const settings = this.session.require().file.settings;
    const stages = await this.session.stages();
    checkStages(stages);
    const path = await this.session.scope.check(result.image.path, 'image');
    return { settings, stages, image: await stages.load(path, settings.maxPixels) };
  }

  /** Decodes a stored candidate's crop with one setting, traced (`decodeWithTrace`). */
  async #decodeOne(
    context: ReplayContext,
    result: ImageResult,
    { mask, crop }: ImageResult['candidates'][number],
    setting: SamplingSetting,
    tweaks: DecodeTweaks,
  ): Promise<CaptionTrace> {
    const trace = await decodeWithTrace({ ...context, result, mask, crop, setting, tweaks });
    if (!trace)
      throw new ApiError('engine', `no trace was recorded for mask ${mask} (${settingKey(setting)})`);
    return trace;
  }
}

/** The ids of a result's masks, as the views name them. */
function maskIds(result: ImageResult): string[] {
  return result.masks.map((m) => maskId(result.image.id, m.index));
}
