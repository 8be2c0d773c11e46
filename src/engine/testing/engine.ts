/**
 * An engine facade for the service tests: in process, on the demo pack, with one allowed folder `<base>/allowed` and
 * settings reduced so a demo image runs in seconds (8×8 SAM grid, 3 masks, one top-k and one top-p setting).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineClient } from '../service/client.ts';
import { createEngineService } from '../service/index.ts';
import { startInProcessEngine } from '../service/worker.ts';

/** A running test engine and its temporary folder. */
export interface TestEngine {
  base: string;
  engine: EngineClient;
  /** Closes the engine and removes the folder. */
  close(): Promise<void>;
}

/** Starts a test engine in a fresh temporary folder named with `prefix`. */
export async function startTestEngine(prefix: string): Promise<TestEngine> {
  const base = await mkdtemp(join(tmpdir(), prefix));
  await mkdir(join(base, 'allowed'));
  const engine = startInProcessEngine(
    createEngineService({
      mode: 'served',
      version: 't',
      packDirs: [],
      allowedRoots: [join(base, 'allowed')],
      defaultProjectDir: join(base, 'allowed'),
      defaultSettings: { masks: { pointsPerSide: 8, maxMasks: 3 }, captions: { topK: [5], topP: [0.5] } },
    }),
  );
  return {
    base,
    engine,
    async close() {
      await engine.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}
