import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync as mkdirNow, symlinkSync } from 'node:fs';
import { assertWithin, writeFileAtomic, removeStaleTemps } from '../pipeline/store/index.ts';
import { confineSettingsPaths, FileScope, isInside, realPathOf } from './paths.ts';

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'pris-paths-'));
  await mkdir(join(base, 'project', 'images'), { recursive: true });
  await mkdir(join(base, 'outside'));
  await writeFile(join(base, 'outside', 'secret.txt'), 'secret');
  await writeFile(join(base, 'project', 'images', 'a.png'), 'png');
  await symlink(join(base, 'outside'), join(base, 'project', 'images', 'escape'));
});
afterAll(async () => rm(base, { recursive: true, force: true }));

describe('file-access confinement', () => {
  it('tells a child from a sibling that shares a prefix', () => {
    expect(isInside('/a/project', '/a/project/x.png')).toBe(true);
    expect(isInside('/a/project', '/a/project')).toBe(true);
    expect(isInside('/a/project', '/a/project-evil/x.png')).toBe(false);
  });

  it('allows files inside a root and refuses .. traversal and symlink escapes', async () => {
    const scope = new FileScope();
    await scope.allow(join(base, 'project'));
    await expect(scope.check(join(base, 'project', 'images', 'a.png'))).resolves.toMatch(/a\.png$/);
    await expect(
      scope.check(join(base, 'project', 'images', '..', '..', 'outside', 'secret.txt'), 'image'),
    ).rejects.toThrow(/image is outside the allowed folders/);
    await expect(scope.check(join(base, 'project', 'images', 'escape', 'secret.txt'))).rejects.toThrow(
      /outside the allowed folders/,
    );
  });

  it('checks a path that does not exist yet through its nearest existing ancestor', async () => {
    const scope = new FileScope();
    await scope.allow(join(base, 'project'));
    await expect(scope.check(join(base, 'project', 'exports', 'new', 'refs.p'))).resolves.toContain(
      'exports',
    );
    await expect(scope.check(join(base, 'project', 'images', 'escape', 'new-file'))).rejects.toThrow(
      /outside the allowed folders/,
    );
  });

  it('refuses relative paths and NUL bytes', async () => {
    await expect(realPathOf('project/images')).rejects.toThrow('the path must be absolute: project/images');
    await expect(realPathOf('/tmp/a\0b')).rejects.toThrow('a path may not contain NUL bytes');
  });
});

describe('the path policy at the places a path enters and at each write', () => {
  it('checks a setting’s import path and stores its real path', async () => {
    const scope = new FileScope();
    await scope.allow(join(base, 'project'));
    const check = (path: string, what: string) => scope.check(path, what);
    await expect(
      confineSettingsPaths({ masks: { importPath: join(base, 'outside', 'secret.txt') } }, check),
    ).rejects.toThrow(
      `mask import path (masks.importPath) is outside the allowed folders: ${join(base, 'outside', 'secret.txt')}`,
    );
    await expect(
      confineSettingsPaths(
        { masks: { importPath: join(base, 'project', 'images', 'escape', 'secret.txt') } },
        check,
      ),
    ).rejects.toThrow('is outside the allowed folders');
    const inside = await confineSettingsPaths(
      { masks: { importPath: join(base, 'project', 'images', 'a.png') } },
      check,
    );
    expect(inside?.masks.importPath).toBe(await realPathOf(join(base, 'project', 'images', 'a.png')));
    expect(await confineSettingsPaths({ seed: 1 } as { masks?: { importPath?: string } }, check)).toEqual({
      seed: 1,
    });
  });

  it('checks a setting’s boxes path the same way, through a symlink too, and stores its real path', async () => {
    const scope = new FileScope();
    await scope.allow(join(base, 'project'));
    const check = (path: string, what: string) => scope.check(path, what);
    await expect(
      confineSettingsPaths({ masks: { boxesPath: join(base, 'outside', 'secret.txt') } }, check),
    ).rejects.toThrow(
      `boxes path (masks.boxesPath) is outside the allowed folders: ${join(base, 'outside', 'secret.txt')}`,
    );
    await expect(
      confineSettingsPaths(
        { masks: { boxesPath: join(base, 'project', 'images', 'escape', 'secret.txt') } },
        check,
      ),
    ).rejects.toThrow('boxes path (masks.boxesPath) is outside the allowed folders');
    // an allowed import path does not let an outside boxes path through
    await expect(
      confineSettingsPaths(
        {
          masks: {
            importPath: join(base, 'project', 'images', 'a.png'),
            boxesPath: join(base, 'outside', 'secret.txt'),
          },
        },
        check,
      ),
    ).rejects.toThrow('boxes path (masks.boxesPath)');
    const inside = await confineSettingsPaths(
      { masks: { boxesPath: join(base, 'project', 'images', 'a.png') } },
      check,
    );
    expect(inside?.masks.boxesPath).toBe(await realPathOf(join(base, 'project', 'images', 'a.png')));
  });

  it('refuses an atomic write whose folder is a symlink out, leaving nothing outside', async () => {
    const root = await realPathOf(join(base, 'project'));
    mkdirNow(join(root, 'exports'), { recursive: true });
    symlinkSync(join(base, 'outside'), join(root, 'exports', 'jsonl'));
    expect(() =>
      writeFileAtomic(join(root, 'exports', 'jsonl', 'candidates.jsonl'), 'x', { within: root }),
    ).toThrow(
      /candidates\.jsonl is outside the allowed folder .* \(a symbolic link leads out\)|jsonl is outside the allowed folder/,
    );
    expect(() => assertWithin(join(root, 'exports', 'new', 'deeper', 'f.txt'), root)).not.toThrow();
    writeFileAtomic(join(root, 'exports', 'ok', 'f.txt'), 'fine', { within: root });
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(base, 'outside')).sort()).toEqual(['secret.txt']);
  });

  it('removes temp files of dead writers but not of live ones', async () => {
    const folder = join(base, 'temps');
    mkdirNow(join(folder, 'sub'), { recursive: true });
    writeFileSync(join(folder, 'a.json.999999999.0a1b2c3d.tmp'), '');
    writeFileSync(join(folder, 'sub', 'img.jpg.999999998.tmp'), '');
    writeFileSync(join(folder, 'live.json.1.0a1b2c3d.tmp'), ''); // pid 1 is always alive
    writeFileSync(join(folder, 'keep.tmp'), '');
    expect(
      removeStaleTemps(folder)
        .map((p) => p.slice(folder.length + 1))
        .sort(),
    ).toEqual(['a.json.999999999.0a1b2c3d.tmp', 'sub/img.jpg.999999998.tmp']);
  });
});
