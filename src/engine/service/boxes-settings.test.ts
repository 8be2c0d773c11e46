// The app records the boxes file's SHA-256 when box selection is set (as `generate --boxes` does), so a file edited
// later fails each image's selection by name instead of silently changing what a resumed run selects.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Settings } from '../../shared/api.ts';
import { startTestEngine, type TestEngine } from '../testing/engine.ts';

let test: TestEngine;
const call = <T>(channel: string, params: unknown = {}) =>
  test.engine.request(channel as never, params as never) as Promise<T>;

beforeAll(async () => {
  test = await startTestEngine('pris-boxes-settings-');
  await call('project:create', { dir: join(test.base, 'allowed', 'project') });
});
afterAll(() => test.close());

const boxes = JSON.stringify({
  images: [{ id: 1, file_name: 'a.png' }],
  annotations: [{ image_id: 1, bbox: [1, 2, 3, 4], score: 0.9 }],
});

describe('box selection set from the app', () => {
  it('records the file’s SHA-256 with the path, and takes it again when the path changes', async () => {
    const first = join(test.base, 'allowed', 'boxes.json');
    await writeFile(first, boxes);
    const set = await call<Settings>('settings:set', {
      settings: { masks: { selection: 'boxes', boxesPath: first } },
    });
    expect(set.masks.boxesSha256).toBe(createHash('sha256').update(boxes).digest('hex'));
    // τ moves keep the recorded hash (the file is not re-read)
    await writeFile(first, boxes.replace('0.9', '0.8'));
    const again = await call<Settings>('settings:set', { settings: { filter: { tau: 1.1 } } });
    expect(again.masks.boxesSha256).toBe(set.masks.boxesSha256);
    const second = join(test.base, 'allowed', 'boxes-2.json');
    await writeFile(second, boxes.replace('0.9', '0.7'));
    const moved = await call<Settings>('settings:set', { settings: { masks: { boxesPath: second } } });
    expect(moved.masks.boxesSha256).toBe(
      createHash('sha256').update(boxes.replace('0.9', '0.7')).digest('hex'),
    );
  });

  it('refuses a missing or malformed file before any run, naming the setting and the file', async () => {
    const missing = join(test.base, 'allowed', 'nowhere.json');
    await expect(
      call('settings:set', { settings: { masks: { selection: 'boxes', boxesPath: missing } } }),
    ).rejects.toThrow(`masks.boxesPath: boxes: ${missing} does not exist`);
    const bad = join(test.base, 'allowed', 'bad.json');
    await writeFile(bad, JSON.stringify([{ file_name: 'a.png', bbox: [1, 2, 'x', 4], score: 1 }]));
    await expect(
      call('settings:set', { settings: { masks: { selection: 'boxes', boxesPath: bad } } }),
    ).rejects.toThrow(/^masks\.boxesPath: boxes: .*bad\.json/);
  });
});
