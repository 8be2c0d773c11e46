/**
 * Runtime and image-input figures: decoding a 12 MP JPEG, the two preprocessing paths, opening each role's session
 * of the demo pack (checksum + create + contract check) and a full pack validation. Prints; never asserts.
 */
import sharp from 'sharp';
import { ensureDemoPack } from '../src/engine/demo/index.ts';
import { loadImage } from '../src/engine/image/load.ts';
import { openAiNormalizedChw, samEncoderInput } from '../src/engine/image/tensor.ts';
import { openPack } from '../src/engine/pipeline/engine.ts';
import { validateModelPack } from '../src/engine/runtime/index.ts';
import { ROLES } from '../src/shared/models.ts';

/** Median of `repeats` timed calls (after one warm-up), in milliseconds. */
async function median(repeats: number, work: () => unknown): Promise<number> {
  await work();
  const times: number[] = [];
  for (let i = 0; i < repeats; i += 1) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/** Prints the figures. */
export async function run(): Promise<void> {
  const width = 4000;
  const height = 3000;
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i += 1) raw[i] = (i * 31 + (i >> 12)) & 255;
  const jpeg = await sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  const image = await loadImage(jpeg);
  console.log(`image: ${width}×${height} JPEG (${(jpeg.length / 1e6).toFixed(1)} MB)`);
  console.log(
    `  loadImage (header check + decode + orient + sRGB)  ${(await median(3, () => loadImage(jpeg))).toFixed(0)} ms`,
  );
  console.log(
    `  samEncoderInput (Pillow-exact resize + normalize)   ${(await median(3, () => samEncoderInput(image))).toFixed(0)} ms`,
  );
  console.log(
    `  openAiNormalizedChw (full image)                    ${(await median(3, () => openAiNormalizedChw(image))).toFixed(0)} ms`,
  );

  const dir = await ensureDemoPack();
  const start = performance.now();
  const summary = await validateModelPack(dir);
  console.log(
    `demo pack: validateModelPack (full) ${(performance.now() - start).toFixed(0)} ms, valid ${summary.valid}`,
  );
  const pack = await openPack(dir, { forceCpu: true });
  try {
    for (const role of ROLES) {
      const t = performance.now();
      await pack.session(role);
      console.log(
        `  open ${role.padEnd(18)} ${(performance.now() - t).toFixed(0)} ms (sha256 + session + contract check)`,
      );
    }
  } finally {
    await pack.dispose();
  }
}
