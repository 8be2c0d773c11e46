/**
 * The model runtime: model packs, their ONNX sessions per role, execution providers and validation.
 *
 * Everything else in the engine reaches onnxruntime through `loadModelPack(dir).session(role)`, feeding and reading
 * tensors by the canonical names of DESIGN.md §4.
 */
export { ModelPackError, type ModelPackErrorCode } from './errors.ts';
export { CancelledError, isCancellation, throwIfCancelled } from './cancel.ts';
export { ManifestSchema, type Manifest, type GraphFile } from './manifest.ts';
export {
  ROLE_CONTRACTS,
  checkContract,
  graphFileOf,
  type RoleContract,
  type TensorContract,
} from './contracts.ts';
export {
  loadModelPack,
  readManifest,
  type LoadModelPackOptions,
  type ModelPack,
  type ModelSession,
  type SessionStats,
  type TensorInfo,
  type TensorMap,
} from './pack.ts';
export {
  defaultProviders,
  onnxRuntimeVersion,
  requestedProviders,
  supportedBackends,
  type ProviderOptions,
  type SessionTuning,
  probeProviders,
  type ProviderProbe,
} from './providers.ts';
export {
  contractOf,
  crossContract,
  withPastContract,
  countIndexed,
  offeredOptionalRoles,
  packContracts,
} from './contracts.ts';
export { listModelPacks, modelRoots, validateModelPack, type ValidateOptions } from './validate.ts';
export { sha256File } from './files.ts';
export {
  batchCandidates,
  pickBatchSize,
  pickRunBatch,
  stopMeasuring,
  type BatchChoice,
  type RunBatchChoice,
} from './batch.ts';
export { providerAvailability, type ProviderAvailability } from './probe.ts';
export {
  batchRunBudget,
  inBatchLane,
  interactive,
  interactiveCount,
  modelTurn,
  timeSlicer,
} from './lanes.ts';
export { GraphThread, graphThread, useGraphThread, type GraphSession } from './graph-thread.ts';
export {
  declaredShape,
  floatData,
  floatOutput,
  floatTensor,
  int64Tensor,
  type DeclaredInputs,
  type Tensor,
} from './tensors.ts';
export {
  ConfinedDir,
  HANDLE_PATHS,
  OutsideFolderError,
  insideFolder,
  nearestRealPath,
  openConfined,
  readFileConfined,
  removeStaleTempsConfined,
  writeFileConfined,
  type ConfinedFile,
  type Contains,
} from './safe-fs.ts';
