import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConfinedDir,
  HANDLE_PATHS,
  openConfined,
  OutsideFolderError,
  readFileConfined,
  removeStaleTempsConfined,
  writeFileConfined,
} from './safe-fs.ts';

let base: string;
let allowed: string;
let outside: string;
let outsideBefore: string;

/** The outside folder's listing with sizes and contents: what no test may change. */
function listing(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return `${path}:${e.isFile() ? readFileSync(path, 'utf8') : e.isDirectory() ? 'dir' : 'other'}`;
    })
    .sort()
    .join('\n');
}

beforeEach(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'pris-safe-fs-')));
  allowed = join(base, 'allowed');
  outside = join(base, 'outside');
  mkdirSync(allowed);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'Zq7Kx9Wp secret');
  writeFileSync(join(outside, 'victim.999999999.tmp'), 'named like a stale temp');
  outsideBefore = listing(outside);
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const inAllowed = (real: string) => real === allowed || real.startsWith(`${allowed}/`);

describe('openConfined and readFileConfined', () => {
  it('read a file inside and refuse a link out (file or folder) without reading it', async () => {
    writeFileSync(join(allowed, 'ok.txt'), 'fine');
    symlinkSync(join(outside, 'secret.txt'), join(allowed, 'evil.png'));
    symlinkSync(outside, join(allowed, 'dir'));
    expect((await readFileConfined(join(allowed, 'ok.txt'), inAllowed)).toString()).toBe('fine');
    for (const path of [join(allowed, 'evil.png'), join(allowed, 'dir', 'secret.txt')]) {
      const error = await readFileConfined(path, inAllowed, { what: 'image' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutsideFolderError);
      expect((error as Error).message).toBe(`image is outside the allowed folders: ${path}`);
      expect((error as Error).message).not.toContain('Zq7Kx9Wp');
    }
  });

  it('answers the real path and identity of what was opened', async () => {
    writeFileSync(join(allowed, 'a.png'), 'x');
    symlinkSync(join(allowed, 'a.png'), join(allowed, 'link.png'));
    const opened = await openConfined(join(allowed, 'link.png'), inAllowed);
    try {
      expect(opened.real).toBe(join(allowed, 'a.png'));
      expect(opened.stats.ino).toBe(statSync(join(allowed, 'a.png')).ino);
    } finally {
      await opened.handle.close();
    }
  });
});

describe('ConfinedDir', () => {
  it('creates folders and files inside, and refuses a folder on the way that links out, creating nothing there', () => {
    writeFileConfined(join(allowed, 'exports', 'jsonl', 'a.jsonl'), 'x', allowed);
    expect(readFileSync(join(allowed, 'exports', 'jsonl', 'a.jsonl'), 'utf8')).toBe('x');
    symlinkSync(outside, join(allowed, 'exports', 'refcoco'));
    expect(() =>
      writeFileConfined(join(allowed, 'exports', 'refcoco', 'images', 'train2014', 'a.png'), 'y', allowed),
    ).toThrow(OutsideFolderError);
    expect(listing(outside)).toBe(outsideBefore);
  });

  it('creates a missing bound folder from its existing parent, and reopens a folder through its handle', () => {
    const within = join(allowed, 'new', 'exports');
    const dir = ConfinedDir.open(join(within, 'jsonl'), within, { create: true });
    try {
      expect(dir.real).toBe(join(within, 'jsonl'));
      const again = dir.subPath('.');
      again.writeFile('a.jsonl', 'x');
      again.close();
    } finally {
      dir.close();
    }
    expect(readFileSync(join(within, 'jsonl', 'a.jsonl'), 'utf8')).toBe('x');
    // a bound whose parent is a link out is not created there
    symlinkSync(outside, join(allowed, 'linked'));
    expect(() =>
      ConfinedDir.open(join(allowed, 'linked', 'x'), join(allowed, 'linked', 'x'), { create: true }),
    ).toThrow('is not a real path');
    expect(listing(outside)).toBe(outsideBefore);
  });

  it('refuses a path that lies outside the folder, however it is spelled', () => {
    expect(() => ConfinedDir.open(join(allowed, '..', 'outside'), allowed)).toThrow(
      `is outside the allowed folder ${allowed}`,
    );
    expect(() => ConfinedDir.open(outside, allowed, { create: true })).toThrow(OutsideFolderError);
  });

  it.runIf(HANDLE_PATHS)(
    'keeps working in the folder it opened after its path is swapped for a link out',
    () => {
      mkdirSync(join(allowed, 'exports'));
      writeFileSync(join(allowed, 'exports', 'old.999999999.tmp'), 'stale');
      const dir = ConfinedDir.open(join(allowed, 'exports'), allowed);
      try {
        // the swap: the opened folder moves away and its name now leads out
        renameSync(join(allowed, 'exports'), join(allowed, 'moved'));
        symlinkSync(outside, join(allowed, 'exports'));
        dir.writeFile('candidates.jsonl', 'written');
        expect(dir.removeStaleTemps().map((p) => p.split('/').pop())).toEqual(['old.999999999.tmp']);
        const sub = dir.sub('images', { create: true });
        sub.writeFile('a.png', 'png');
        sub.close();
      } finally {
        dir.close();
      }
      expect(readdirSync(join(allowed, 'moved')).sort()).toEqual(['candidates.jsonl', 'images']);
      expect(listing(outside)).toBe(outsideBefore);
    },
  );

  it('cleans stale temps without entering a sub-folder that links out, nor a folder that is a link out', () => {
    mkdirSync(join(allowed, 'exports', 'sub'), { recursive: true });
    writeFileSync(join(allowed, 'exports', 'sub', 'img.jpg.999999998.tmp'), '');
    writeFileSync(join(allowed, 'exports', 'live.json.1.0a1b2c3d.tmp'), ''); // pid 1 is alive
    symlinkSync(outside, join(allowed, 'exports', 'link'));
    expect(removeStaleTempsConfined(join(allowed, 'exports'), allowed)).toEqual([
      join(allowed, 'exports', 'sub', 'img.jpg.999999998.tmp'),
    ]);
    expect(existsSync(join(allowed, 'exports', 'live.json.1.0a1b2c3d.tmp'))).toBe(true);
    symlinkSync(outside, join(allowed, 'out'));
    expect(() => removeStaleTempsConfined(join(allowed, 'out'), allowed)).toThrow(OutsideFolderError);
    expect(listing(outside)).toBe(outsideBefore);
  });

  it('places a confined file as a hard link to the opened file, and refuses names that climb', async () => {
    writeFileSync(join(allowed, 'a.png'), 'image bytes');
    const source = await openConfined(join(allowed, 'a.png'), inAllowed);
    const dir = ConfinedDir.open(join(allowed, 'out'), allowed, { create: true });
    try {
      dir.placeFile('a.png', source, await source.handle.readFile());
      expect(() => dir.writeFile('../escape', 'x')).toThrow('is not a name inside a folder');
    } finally {
      dir.close();
      await source.handle.close();
    }
    expect(readFileSync(join(allowed, 'out', 'a.png'), 'utf8')).toBe('image bytes');
    expect(lstatSync(join(allowed, 'out', 'a.png')).ino).toBe(statSync(join(allowed, 'a.png')).ino);
    expect(readdirSync(join(allowed, 'out'))).toEqual(['a.png']);
  });

  it('never writes through a link planted at the temp or final name', () => {
    const dir = ConfinedDir.open(allowed, allowed);
    try {
      symlinkSync(join(outside, 'secret.txt'), join(allowed, 'record.json'));
      dir.writeFile('record.json', 'new');
      expect(dir.readFile('record.json')?.toString()).toBe('new');
      symlinkSync(join(outside, 'secret.txt'), join(allowed, 'planted'));
      expect(dir.readFile('planted')).toBeNull();
      expect(() => dir.createExclusive('planted')).toThrow();
    } finally {
      dir.close();
    }
    expect(listing(outside)).toBe(outsideBefore);
  });
});

describe('without handle paths (macOS, Windows)', () => {
  it('refuses the same links out and writes, cleans and places files by checked real paths', async () => {
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    Object.defineProperty(process, 'platform', { value: 'darwin' });
    vi.resetModules();
    const fallback = await import('./safe-fs.ts');
    Object.defineProperty(process, 'platform', platform);
    expect(fallback.HANDLE_PATHS).toBe(false);
    fallback.writeFileConfined(join(allowed, 'exports', 'jsonl', 'a.jsonl'), 'x', allowed);
    expect(readFileSync(join(allowed, 'exports', 'jsonl', 'a.jsonl'), 'utf8')).toBe('x');
    symlinkSync(outside, join(allowed, 'exports', 'masks'));
    expect(() =>
      fallback.writeFileConfined(join(allowed, 'exports', 'masks', 'm.png'), 'y', allowed),
    ).toThrow('is outside the allowed folder');
    expect(() => fallback.removeStaleTempsConfined(join(allowed, 'exports', 'masks'), allowed)).toThrow(
      'is outside the allowed folder',
    );
    writeFileSync(join(allowed, 'exports', 'old.999999999.tmp'), '');
    expect(fallback.removeStaleTempsConfined(join(allowed, 'exports'), allowed)).toEqual([
      join(allowed, 'exports', 'old.999999999.tmp'),
    ]);
    symlinkSync(join(outside, 'secret.txt'), join(allowed, 'evil.png'));
    await expect(fallback.readFileConfined(join(allowed, 'evil.png'), inAllowed)).rejects.toThrow(
      'is outside the allowed folders',
    );
    // a folder replaced after it was opened is refused at its next use
    const dir = fallback.ConfinedDir.open(join(allowed, 'exports', 'jsonl'), allowed);
    renameSync(join(allowed, 'exports', 'jsonl'), join(allowed, 'moved'));
    symlinkSync(outside, join(allowed, 'exports', 'jsonl'));
    expect(() => dir.writeFile('b.jsonl', 'z')).toThrow('the folder was replaced');
    dir.close();
    expect(listing(outside)).toBe(outsideBefore);
  });
});
