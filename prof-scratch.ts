import { DEFAULT_DECODING } from './src/shared/caption.ts';
import { captionImage, openPackCaptioner } from './src/engine/caption/index.ts';
import { renderScene } from './src/engine/demo/index.ts';
import { loadModelPack } from './src/engine/runtime/index.ts';
const pack = await loadModelPack('resources/models/demo');
const models = { cached: await openPackCaptioner(pack, 'engine'), full: await openPackCaptioner(pack, 'engine', { cache: 'off' }) };
for (let r = 0; r < 3; r++) for (const [name, model] of Object.entries(models)) {
  let wall = 0, sess = 0;
  for (const i of [0, 1, 2, 3]) {
    const scene = renderScene(2024, i);
    const before = model.captioner.counters.sessionMilliseconds;
    const out = await captionImage({ model, image: scene.image, masks: scene.truth.objects.map((o) => o.mask), imageId: `s${i}`, options: DEFAULT_DECODING });
    wall += out.wallMilliseconds - out.cropMilliseconds; sess += model.captioner.counters.sessionMilliseconds - before;
  }
  console.log(name, wall.toFixed(0), sess.toFixed(0));
}
await pack.dispose();
