/**
 * The shapes world and the demo model pack (DESIGN.md §6): scene generator, ground truth, oracle and pack builder.
 */
export {
  renderScene,
  generateScenes,
  groundTruthOf,
  encodePng,
  sceneFileName,
  shareTwoAttributes,
  sharedAttributes,
  type Scene,
  type SceneObject,
  type SceneTruth,
  type GroundTruth,
  type GroundTruthImage,
  type GroundTruthObject,
  type GenerateScenesOptions,
} from './scenes.ts';
export { Random, mixSeed } from './random.ts';
export * from './world.ts';
export {
  identifies,
  explainIdentification,
  resolveTarget,
  attributeWords,
  TARGET_IOU,
  type OracleImage,
  type OracleObject,
  type Identification,
  type AttributeWord,
  type AttributeKind,
} from './oracle.ts';
export {
  buildDemoSegmenter,
  DEMO_EMBEDDING_CHANNELS,
  SEGMENTER_VERSION,
  type DemoSegmenter,
} from './segmenter.ts';
export {
  buildDemoPack,
  buildDemoPackFiles,
  ensureDemoPack,
  defaultDemoPackDir,
  DEMO_PACK_NAME,
  DEMO_PACK_DESCRIPTION,
  BUILD_ID_FILE,
  type DemoPackFiles,
  type EnsureDemoPackOptions,
} from './pack.ts';
