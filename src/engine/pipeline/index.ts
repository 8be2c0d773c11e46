/**
 * The batch pipeline: the project store, the pack's stages, one image's processing and the decoding trace.
 *
 * The stage's public surface: other stages import it only through this file (eslint.config.js, stage fences).
 */
export * from './batch.ts';
export * from './engine.ts';
export * from './run.ts';
export * from './store/index.ts';
export * from './trace.ts';
export * from './attribute.ts';
// the queue mode's parts the service runs: the coordinator in-process, the watch of a project coordinated elsewhere
export { runCoordinator } from './queue/coordinator.ts';
export { QUEUE_PROGRESS_FILE, watchQueuedProject, type QueuedProjectWatch } from './queue/progress-file.ts';
export { checkRedis, parseRedisUrl } from './queue/redis.ts';
