import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileScope, isInside, realPathOf } from './paths.ts';

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
