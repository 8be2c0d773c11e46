import { resolve } from 'node:path';
import { ensureDemoPack } from '../engine/demo/index.ts';

/** What `--models` says when it is left out. */
export const MODELS_OPTION_HELP =
  'model pack folder (default: the demo pack of this installation, built on first use)';

/**
 * The model pack a command uses: the `--models` folder, or else the demo pack of this installation (not of the
 * current folder), built on first use.
 */
export async function resolvePackDir(models: string | undefined): Promise<string> {
  return models === undefined ? ensureDemoPack() : resolve(models);
}
