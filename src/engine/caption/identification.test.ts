import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DECODING } from '../../shared/caption.ts';
import { identifies } from '../demo/oracle.ts';
import { renderScene } from '../demo/scenes.ts';
import { buildCrops } from '../image/crops.ts';
import { Captioner } from './captioner.ts';
import { generateCaptions } from './generate.ts';
import { openDemoCaptioner, type DemoCaptionerForTests } from '../testing/caption-model.ts';

let demo: DemoCaptionerForTests;
beforeAll(async () => {
  demo = await openDemoCaptioner();
});
afterAll(async () => {
  await demo?.dispose();
});

describe('distinctive caption sampling on the shapes world', () => {
  it('identifies its object (oracle) more often than plain top-k/top-p sampling of the same crops and streams', async () => {
    const tally = { dcs: { identified: 0, total: 0 }, plain: { identified: 0, total: 0 } };
    for (const seed of [1, 2]) {
      for (let index = 0; index < 6; index++) {
        const scene = renderScene(2024, index);
        const [masked] = buildCrops(
          scene.image,
          scene.truth.objects.map((object) => object.mask),
          { crops: [{ kind: 'masked' }] },
        );
        const { candidates } = await generateCaptions({
          captioner: new Captioner(demo.sessions),
          tokenizer: demo.tokenizer,
          special: demo.special,
          crops: masked!.data,
          count: scene.truth.objects.length,
          crop: masked!.crop,
          imageId: `scene-${index}`,
          options: { ...DEFAULT_DECODING, beam: null, alsoPlain: true, seed },
        });
        for (const candidate of candidates) {
          if (candidate.setting.kind === 'beam') continue;
          const bucket = candidate.setting.distinctive ? tally.dcs : tally.plain;
          bucket.total++;
          if (identifies(scene.truth, scene.truth.objects[candidate.maskIndex]!.id, candidate.text))
            bucket.identified++;
        }
      }
    }
    const share = (bucket: { identified: number; total: number }) => bucket.identified / bucket.total;
    console.log(
      `oracle identification (6 scenes × 2 seeds, masked crops): DCS ${tally.dcs.identified}/${tally.dcs.total} = ${share(tally.dcs).toFixed(3)}, ` +
        `plain ${tally.plain.identified}/${tally.plain.total} = ${share(tally.plain).toFixed(3)}`,
    );
    expect(tally.dcs.total).toBe(tally.plain.total);
    expect(tally.dcs.total).toBeGreaterThan(100);
    expect(share(tally.dcs)).toBeGreaterThan(share(tally.plain));
  });
});
