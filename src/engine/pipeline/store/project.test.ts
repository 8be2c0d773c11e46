import { appendFileSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ImageResult } from '../../../shared/results.ts';
import { parseSettings } from '../../../shared/settings.ts';
import {
  buildImageList,
  imageRecord,
  listImages,
  Project,
  readResults,
  ResultCatalog,
  RESULTS_FILE,
  writeFileAtomic,
} from './index.ts';

let dir: string;
let images: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-store-'));
  images = ['b.png', 'a.jpg', 'notes.txt'].map((f) => join(dir, f));
  images.forEach((p, i) => writeFileSync(p, `bytes ${i}`));
});

function done(project: Project, id: number): ImageResult {
  return {
    version: 1,
    image: imageRecord(project.image(id), { width: 4, height: 3 }),
    status: 'done',
    masks: [],
    candidates: [],
    decisions: [],
  };
}

describe('the project store', () => {
  it('lists image files of a folder sorted by name and hashes them', async () => {
    expect(listImages(dir).map((p) => p.slice(dir.length + 1))).toEqual(['a.jpg', 'b.png']);
    const list = await buildImageList(listImages(dir));
    expect(list.map((e) => [e.id, e.name])).toEqual([
      [1, 'a.jpg'],
      [2, 'b.png'],
    ]);
    expect(list[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(() => listImages(join(dir, 'missing'))).toThrow('images not found');
  });

  it('keeps ids on resume, adds new files, and refuses an image whose content changed', async () => {
    const list = await buildImageList([images[1]]);
    const more = await buildImageList([images[1], images[0]], list);
    expect(more.map((e) => e.id)).toEqual([1, 2]);
    writeFileSync(images[1], 'other bytes');
    await expect(buildImageList([images[1]], list)).rejects.toThrow(
      /changed since it was added to the project/,
    );
  });

  it('commits one line per image and ignores a torn tail, cutting it before the next append', async () => {
    const project = await Project.create(join(dir, 'p'), {
      images: listImages(dir),
      settings: parseSettings({}),
    });
    project.commit(done(project, 1));
    project.close();
    appendFileSync(join(dir, 'p', RESULTS_FILE), '{"version":1,"ima');
    expect(readResults(join(dir, 'p')).map((r) => r.image.id)).toEqual([1]);
    const again = Project.open(join(dir, 'p'));
    again.commit(done(again, 2));
    again.close();
    const text = readFileSync(join(dir, 'p', RESULTS_FILE), 'utf8');
    expect(text.split('\n').map((l) => (l ? JSON.parse(l).image.id : l))).toEqual([1, 2, '']);
  });

  it('never truncates or appends to a results.jsonl that was swapped for a link out', async () => {
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'outside, no final newline');
    const project = await Project.create(join(dir, 'p'), {
      images: listImages(dir),
      settings: parseSettings({}),
    });
    symlinkSync(outside, join(dir, 'p', RESULTS_FILE));
    expect(() => project.commit(done(project, 1))).toThrow(/ELOOP/);
    project.close();
    expect(readFileSync(outside, 'utf8')).toBe('outside, no final newline');
  });

  it('keeps the first committed record of an image among records of one revision', async () => {
    const project = await Project.create(join(dir, 'p'), {
      images: listImages(dir),
      settings: parseSettings({}),
    });
    project.commit(done(project, 1));
    project.commit({ ...done(project, 1), status: 'failed' });
    project.close();
    expect([...project.results()].map((r) => r.status)).toEqual(['done']);
  });

  it('lets a re-caption record with a higher revision supersede the first run, keeping the image in place', async () => {
    const project = await Project.create(join(dir, 'p'), {
      images: listImages(dir),
      settings: parseSettings({}),
    });
    project.commit(done(project, 1));
    project.commit(done(project, 2));
    project.commit({ ...done(project, 1), revision: 1, status: 'failed' });
    project.close();
    expect(readResults(join(dir, 'p')).map((r) => [r.image.id, r.revision ?? 0, r.status])).toEqual([
      [1, 1, 'failed'],
      [2, 0, 'done'],
    ]);
    // an older revision appended later (out of order) does not win either
    const again = Project.open(join(dir, 'p'));
    again.commit({ ...done(again, 1), revision: 0 });
    again.close();
    expect([...again.results()].find((r) => r.image.id === 1)?.revision).toBe(1);
  });

  it('leaves the previous revision in force when a re-caption is killed mid-line', async () => {
    const project = await Project.create(join(dir, 'p'), {
      images: listImages(dir),
      settings: parseSettings({}),
    });
    project.commit(done(project, 1));
    project.close();
    const superseding = JSON.stringify({ ...done(project, 1), revision: 1, status: 'failed' });
    appendFileSync(join(dir, 'p', RESULTS_FILE), superseding.slice(0, superseding.length - 5));
    expect(readResults(join(dir, 'p')).map((r) => [r.revision ?? 0, r.status])).toEqual([[0, 'done']]);
    // the rerun after the crash cuts the torn tail and commits revision 1 cleanly
    const again = Project.open(join(dir, 'p'));
    again.commit({ ...done(again, 1), revision: 1, status: 'failed' });
    again.close();
    expect(readResults(join(dir, 'p')).map((r) => [r.revision ?? 0, r.status])).toEqual([[1, 'failed']]);
    expect(readFileSync(join(dir, 'p', RESULTS_FILE), 'utf8').split('\n')).toHaveLength(3);
  });

  it('keeps the first of two records with the same revision, and reads records without a revision as 0', async () => {
    const project = await Project.create(join(dir, 'p'), {
      images: listImages(dir),
      settings: parseSettings({}),
    });
    project.commit(done(project, 1));
    project.commit({
      ...done(project, 1),
      revision: 1,
      counters: { masks: 1, candidates: 0, clipImageEncodes: 0, clipTextEncodes: 0, stageMs: {} },
    });
    project.commit({ ...done(project, 1), revision: 1, status: 'failed' });
    project.commit({ ...done(project, 1), revision: 0, status: 'failed' });
    project.close();
    const [result] = readResults(join(dir, 'p'));
    expect([result.revision, result.status, result.counters?.masks]).toEqual([1, 'done', 1]);
    writeFileSync(join(dir, 'p', RESULTS_FILE), `${JSON.stringify({ ...done(project, 1), revision: -1 })}\n`);
    const catalog = ResultCatalog.open(join(dir, 'p'));
    expect(catalog.size).toBe(0);
    expect(catalog.problems).toEqual([
      `${join(dir, 'p', RESULTS_FILE)}: line 1 is skipped (it has revision -1, expected an integer ≥ 0); its image counts as pending and runs again`,
    ]);
  });

  it('refuses changed generation settings once results exist, but takes a new τ', async () => {
    const project = await Project.create(join(dir, 'p'), {
      images: listImages(dir),
      settings: parseSettings({}),
    });
    project.commit(done(project, 1));
    project.close();
    const changed = await Project.create(join(dir, 'p'), {
      images: [],
      settings: parseSettings({ filter: { tau: 1.7 } }),
    });
    expect(changed.file.settings.filter.tau).toBe(1.7);
    await expect(
      Project.create(join(dir, 'p'), { images: [], settings: parseSettings({ captions: { topK: [5] } }) }),
    ).rejects.toThrow('generated with other settings (captions.topK: [5,7,9,11,13] → [5])');
  });

  it('names what is wrong with a folder that is not a project', () => {
    expect(() => Project.open(dir)).toThrow(`not a project: ${dir} has no project.json`);
    writeFileSync(join(dir, 'project.json'), '{"format":"other"}');
    expect(() => Project.open(dir)).toThrow(/is not a project file: format/);
    writeFileSync(join(dir, 'project.json'), '{"format":"pseudo-ris-project","version":3}');
    expect(() => Project.open(dir)).toThrow(
      /written by a newer Pseudo-RIS Studio \(project version 3; this version reads up to 1\)/,
    );
  });

  it('writes files atomically without leaving temp files', () => {
    writeFileAtomic(join(dir, 'sub', 'x.json'), '{"a":1}');
    writeFileAtomic(join(dir, 'sub', 'x.json'), '{"a":2}');
    expect(readFileSync(join(dir, 'sub', 'x.json'), 'utf8')).toBe('{"a":2}');
    expect(readdirSync(join(dir, 'sub'))).toEqual(['x.json']);
  });
});
