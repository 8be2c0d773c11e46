/**
 * Vitest globalSetup: builds the demo model pack once (if missing or stale) so model tests can open
 * `resources/models/demo/`. Safe when several Vitest processes start at once (ensureDemoPack locks).
 */
import { ensureDemoPack } from '../demo/pack.ts';

export default async function setup(): Promise<void> {
  await ensureDemoPack();
}
