/**
 * Test helper: the demo captioner's sessions and tokenizer — from the built demo pack when it exists
 * (`resources/models/demo`, made by the test global setup), otherwise from the demo builder's graph bytes in memory.
 * Either way the real ONNX graphs run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildDemoCaptioner } from '../demo/captioner.ts';
import { openPack } from '../pipeline/engine.ts';
import type { ModelPack } from '../runtime/index.ts';
import type { OpenCaptionerSessions } from '../caption/captioner.ts';
import { CaptionTokenizer, loadTokenizer } from '../caption/tokenizer.ts';

/**
 * The demo captioner for tests; call `dispose()` when done. Its sessions include the cached contract's `cross` and
 * `decoderWithPast`, so a `Captioner` over them runs the cached path unless given `cache: 'off'`.
 */
export interface DemoCaptionerForTests {
  sessions: OpenCaptionerSessions;
  tokenizer: CaptionTokenizer;
  special: { sot: number; eot: number; pad: number };
  source: 'pack' | 'memory';
  dispose(): Promise<void>;
}

/** Opens the demo captioner (see the module comment). */
export async function openDemoCaptioner(): Promise<DemoCaptionerForTests> {
  const dir = join(process.cwd(), 'resources/models/demo');
  if (existsSync(join(dir, 'manifest.json'))) {
    const pack: ModelPack = await openPack(dir, { providers: ['cpu'] });
    const special = pack.manifest.captioner.specialTokens;
    return {
      sessions: {
        visual: await pack.session('captioner.visual'),
        text: await pack.session('captioner.text'),
        decoder: await pack.session('captioner.decoder'),
        cross: await pack.session('captioner.cross'),
        decoderWithPast: await pack.session('captioner.decoderWithPast'),
      },
      tokenizer: await loadTokenizer(pack.path(pack.manifest.captioner.tokenizer), special),
      special,
      source: 'pack',
      dispose: () => pack.dispose(),
    };
  }
  const demo = buildDemoCaptioner();
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1 };
  const visual = await ort.InferenceSession.create(demo.visual, options);
  const text = await ort.InferenceSession.create(demo.text, options);
  const decoder = await ort.InferenceSession.create(demo.decoder, options);
  const cross = await ort.InferenceSession.create(demo.cross, options);
  const decoderWithPast = await ort.InferenceSession.create(demo.decoderWithPast, options);
  return {
    sessions: { visual, text, decoder, cross, decoderWithPast },
    tokenizer: new CaptionTokenizer(JSON.parse(demo.tokenizerJson) as object, demo.specialTokens),
    special: demo.specialTokens,
    source: 'memory',
    dispose: async () => {
      await visual.release();
      await text.release();
      await decoder.release();
      await cross.release();
      await decoderWithPast.release();
    },
  };
}
