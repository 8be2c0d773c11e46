/**
 * Re-creates a stored candidate's decoding trace. Candidates store their seed, random-stream name, crop and setting,
 * so decoding that one setting of that crop type again (with the image's other masks, as DCS needs them) replays
 * the same random draws and gives the same caption with its step-by-step trace — no trace has to be stored.
 */
import {
  settingKey,
  type BeamSetting,
  type BeamTrace,
  type CaptionTrace,
  type CropType,
  type SamplingSetting,
} from '../../shared/caption.ts';
import type { CandidateResult, ImageResult } from '../../shared/results.ts';
import type { Settings } from '../../shared/settings.ts';
import { generateCaptions, traceBeam, type GenerateInput } from '../caption/index.ts';
import { buildCrops, decodeRle, type RgbImage } from '../image/index.ts';
import { decodingOptions, type PackStages } from './engine.ts';
import { Project } from './store/index.ts';

/** A candidate and its regenerated trace: a sampling trace, or for a beam-search candidate its beam trace. */
export interface CandidateTrace {
  candidate: CandidateResult;
  /** The sampling trace (null for beam-search candidates). */
  trace: CaptionTrace | null;
  /** The beam trace (beam-search candidates only). */
  beam?: BeamTrace;
  /** True when the regenerated caption equals the stored one (for beam: token for token). */
  reproduced: boolean;
}

/** A stored candidate of a project, found by image id, mask index and candidate index within the mask. */
export interface CandidateWhere {
  image: number;
  mask: number;
  candidate: number;
}

/** The committed result and the candidate at `where` (throws a message naming the valid ranges). */
export function storedCandidate(
  projectDir: string,
  where: CandidateWhere,
): { project: Project; result: ImageResult; candidate: CandidateResult } {
  const project = Project.open(projectDir);
  const result = project.catalog.get(where.image);
  if (!result) throw new Error(`image ${where.image} has no committed result in ${project.dir}`);
  if (result.status !== 'done')
    throw new Error(
      `image ${where.image} failed (${result.error?.message ?? 'no reason'}); it has no candidates`,
    );
  if (where.mask < 0 || where.mask >= result.masks.length)
    throw new Error(`image ${where.image} ${range('masks', result.masks.length)}, not ${where.mask}`);
  const candidates = result.candidates.filter((c) => c.mask === where.mask);
  const candidate = candidates.find((c) => c.index === where.candidate);
  if (!candidate)
    throw new Error(
      `mask ${where.mask} of image ${where.image} ${range('candidates', candidates.length)}, not ${where.candidate}`,
    );
  return { project, result, candidate };
}

/** Regenerates the trace of candidate `candidate` of mask `mask` of image `imageId`. */
export async function traceCandidate(
  projectDir: string,
  where: CandidateWhere,
  stages: PackStages,
): Promise<CandidateTrace> {
  const { project, result, candidate } = storedCandidate(projectDir, where);
  const settings = project.file.settings;
  const image = await stages.load(result.image.path, settings.maxPixels);
  const input = { image, result, settings, stages, mask: where.mask, crop: candidate.crop };
  if (candidate.setting.kind === 'beam') {
    const beam = await decodeBeamWithTrace({ ...input, setting: candidate.setting });
    const reproduced = beam.tokenIds.join(',') === candidate.tokens.join(',') && beam.text === candidate.text;
    return { candidate, trace: null, beam, reproduced };
  }
  const trace = await decodeWithTrace({ ...input, setting: candidate.setting as SamplingSetting });
  return { candidate, trace, reproduced: trace !== null && trace.text === candidate.text };
}

/** Changes to a re-decode (the inspector's re-run form); absent fields keep the project's settings. */
export interface DecodeTweaks {
  temperature?: number;
  seed?: number;
  aggregation?: 'mean' | 'weighted-sum';
}

/** What {@link decodeWithTrace} decodes: one sampling setting of one crop type of a stored image. */
export interface DecodeWithTraceInput {
  /** The image, already loaded (callers check where it may be read from). */
  image: RgbImage;
  result: ImageResult;
  settings: Settings;
  stages: PackStages;
  /** The mask whose trace is wanted. */
  mask: number;
  crop: CropType;
  setting: SamplingSetting;
  tweaks?: DecodeTweaks;
}

/**
 * Decodes one setting of one crop type of a stored image and returns the trace of `mask` (null if none was made).
 *
 * DCS needs every mask's crop of that type, so all of them are decoded. Random streams are named per (image, mask,
 * crop, setting): with the stored seed this replays the stored candidate, and a plain and a DCS decode of the same
 * setting draw the same uniforms.
 */
export async function decodeWithTrace(input: DecodeWithTraceInput): Promise<CaptionTrace | null> {
  const { settings, mask, setting, tweaks = {} } = input;
  const options = {
    ...decodingOptions(settings),
    beam: null,
    alsoPlain: false,
    distinctive: setting.distinctive,
    topK: setting.kind === 'top-k' ? [setting.k] : [],
    topP: setting.kind === 'top-p' ? [setting.p] : [],
    ...(tweaks.temperature !== undefined ? { temperature: tweaks.temperature } : {}),
    ...(tweaks.seed !== undefined ? { seed: tweaks.seed } : {}),
    ...(tweaks.aggregation !== undefined ? { aggregation: tweaks.aggregation } : {}),
  };
  const key = settingKey(setting);
  const out = await generateCaptions({
    ...storedCropsInput(input),
    options,
    trace: { include: (m, k) => m === mask && k === key },
  });
  return out.traces.find((t) => t.target.maskIndex === mask) ?? null;
}

/** What {@link decodeBeamWithTrace} decodes: the beam search of one mask's crop of a stored image. */
export interface DecodeBeamInput {
  /** The image, already loaded (callers check where it may be read from). */
  image: RgbImage;
  result: ImageResult;
  settings: Settings;
  stages: PackStages;
  mask: number;
  crop: CropType;
  setting: BeamSetting;
}

/**
 * Re-runs the beam search of one mask's crop with tracing (the beam view's trace). Every mask's crop of that type
 * is built and encoded together, as a run encodes them; only the target's search is decoded (beam search has no
 * "others"). Beam search is deterministic, so the winner is the stored candidate; callers compare the two.
 */
export async function decodeBeamWithTrace(input: DecodeBeamInput): Promise<BeamTrace> {
  const { result, settings, mask, setting } = input;
  if (mask < 0 || mask >= result.masks.length)
    throw new RangeError(`the image ${range('masks', result.masks.length)}, not ${mask}`);
  const { trace } = await traceBeam({
    ...storedCropsInput(input),
    options: { ...decodingOptions(settings), beam: setting, topK: [], topP: [], alsoPlain: false },
    target: mask,
  });
  return trace;
}

/**
 * The decoder's input for every stored mask's crop of one type of the image, built and encoded as a run does (DCS
 * needs all of them; beam search decodes the target's only; occlusion attribution patches the target's).
 */
export function storedCropsInput({
  image,
  result,
  settings,
  stages,
  crop,
}: Pick<DecodeBeamInput, 'image' | 'result' | 'settings' | 'stages' | 'crop'>): Omit<
  GenerateInput,
  'options'
> {
  const masks = result.masks.map((m) => decodeRle(m.rle));
  const [batch] = buildCrops(image, masks, {
    size: stages.cropSize,
    crops: [crop],
    fill: settings.crops.fill,
  });
  return {
    captioner: stages.captioner,
    tokenizer: stages.captionTokenizer,
    special: stages.pack.manifest.captioner.specialTokens,
    crops: batch!.data,
    count: masks.length,
    size: stages.cropSize,
    crop,
    imageId: result.image.sha256,
    model: { pack: stages.pack.name },
  };
}

/** "has masks 0..n−1", or "has no masks" (SAM may find none; the message must not say 0..−1). */
function range(what: string, count: number): string {
  return count === 0 ? `has no ${what}` : `has ${what} 0..${count - 1}`;
}
