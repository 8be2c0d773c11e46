import { spawn } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { commitSynthetic, listedProject } from '../../testing/synthetic-project.ts';
import {
  appendWrite,
  CommitError,
  INDEX_DIR,
  Project,
  readResults,
  RESULTS_FILE,
  ResultCatalog,
  SEGMENT_LIMITS,
} from './index.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-catalog-'));
});

/** A project of `count` listed images (files need not exist: results are committed directly). */
const project = (count: number, folder = join(dir, 'p')) => listedProject(dir, count, folder);

const segments = (folder: string) => readdirSync(join(folder, INDEX_DIR)).filter((f) => f.endsWith('.seg'));

describe('the result catalog (index segments over the commit log)', () => {
  it('writes index segments as it commits and reopens from them with the same columns and results', async () => {
    const n = SEGMENT_LIMITS.records + 10;
    const p = await project(n);
    commitSynthetic(
      p,
      Array.from({ length: n }, (_, k) => k + 1),
    );
    p.close();
    expect(segments(p.dir)).toHaveLength(1);
    const fromLog = ResultCatalog.open(p.dir, { writeIndex: false });
    const reopened = Project.open(p.dir).catalog;
    expect(reopened.problems).toEqual([]);
    expect(reopened.size).toBe(n);
    expect(reopened.counts()).toEqual({ done: n, failed: 0 });
    expect(reopened.columns.score.view()).toEqual(fromLog.columns.score.view());
    expect(reopened.columns.candStart.view()).toEqual(fromLog.columns.candStart.view());
    expect(reopened.get(17)).toEqual(fromLog.get(17));
    // comparisons are not in the columns: 2 masks × 4 crops × 11 exportable settings per image
    expect(reopened.columns.score.length).toBe(n * 2 * 4 * 11);
  });

  it('reads segments of the first layout (CoS and DoS columns) as they are, each record taking the score its masks select', async () => {
    const n = SEGMENT_LIMITS.records + 4;
    const p = await project(n);
    const ids = Array.from({ length: n }, (_, k) => k + 1);
    commitSynthetic(
      p,
      ids.filter((id) => id % 3 !== 0),
    ); // 2 masks: the rule reads DoS
    commitSynthetic(
      p,
      ids.filter((id) => id % 3 === 0),
      1,
    ); // 1 mask: the rule reads CoS
    p.close();
    const fromLog = ResultCatalog.open(p.dir, { writeIndex: false });
    const [segment] = segments(p.dir);
    const file = join(p.dir, INDEX_DIR, segment);
    writeFileSync(file, firstLayout(readFileSync(file), fromLog));
    const reopened = ResultCatalog.open(p.dir);
    expect(reopened.problems).toEqual([]);
    expect(readFileSync(file).subarray(0, 8).toString('latin1')).toBe('PRISSEG1'); // used, not rebuilt
    const single = reopened.columns.maskCount.view().indexOf(1);
    expect(single).toBeGreaterThanOrEqual(0);
    expect(reopened.columns.score.view()).toEqual(fromLog.columns.score.view());
    const score = reopened.columns.score.view()[reopened.columns.candStart.view()[single]];
    expect(score).toBe(reopened.get(reopened.columns.id.view()[single])!.candidates[0].scores.cos);
  });

  it('opens without the candidate columns for a reader by id, and then writes and removes no segment', async () => {
    const n = SEGMENT_LIMITS.records + 5;
    const p = await project(n);
    commitSynthetic(
      p,
      Array.from({ length: n }, (_, k) => k + 1),
    );
    p.close();
    const full = ResultCatalog.open(p.dir);
    const [segment] = segments(p.dir);
    rmSync(join(p.dir, INDEX_DIR, segment)); // a reader with candidates would rebuild it
    const light = ResultCatalog.open(p.dir, { candidates: false });
    expect(segments(p.dir)).toEqual([]);
    expect(light.size).toBe(n);
    expect(light.ids()).toEqual(full.ids());
    expect(light.columns.score.length).toBe(0);
    expect(light.columns.candStart.view().every((c) => c === 0)).toBe(true);
    expect(light.get(n - 1)).toEqual(full.get(n - 1));
    expect(light.columns.maskCount.view()).toEqual(full.columns.maskCount.view());
  });

  it('rebuilds a damaged or stale segment from the log and says so once', async () => {
    const n = SEGMENT_LIMITS.records + 3;
    const p = await project(n);
    commitSynthetic(
      p,
      Array.from({ length: n }, (_, k) => k + 1),
    );
    p.close();
    const [segment] = segments(p.dir);
    const file = join(p.dir, INDEX_DIR, segment);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(file, bytes);
    const catalog = ResultCatalog.open(p.dir);
    expect(catalog.problems).toEqual([
      `index segment ${file} is not usable (its checksum does not match); rebuilt from ${RESULTS_FILE}`,
    ]);
    expect(catalog.size).toBe(n);
    expect(ResultCatalog.open(p.dir).problems).toEqual([]); // the rebuilt segment is good again

    // a log replaced by another one of the same length: the segment's last line no longer matches
    const other = await project(n, join(dir, 'q'));
    commitSynthetic(
      other,
      Array.from({ length: n }, (_, k) => n - k),
    );
    other.close();
    copyFileSync(join(other.dir, RESULTS_FILE), join(p.dir, RESULTS_FILE));
    const replaced = ResultCatalog.open(p.dir);
    expect(replaced.problems.join()).toMatch(/does not match results\.jsonl \(the log was replaced\)/);
    expect(replaced.ids()[0]).toBe(n);
  });

  it('never reads, writes or removes segments through an index folder planted as a link out', async () => {
    const n = SEGMENT_LIMITS.records + 10;
    const p = await project(n);
    // a project folder is untrusted input: its index/ may lead to a folder elsewhere holding a segment-named file
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    const victim = '000000000000-000000000010.seg';
    writeFileSync(join(outside, victim), 'victim');
    symlinkSync(outside, join(p.dir, INDEX_DIR));
    commitSynthetic(
      p,
      Array.from({ length: n }, (_, k) => k + 1),
    );
    p.close();
    const reopened = ResultCatalog.open(p.dir);
    expect(reopened.size).toBe(n);
    expect(reopened.problems).toEqual([
      `${join(p.dir, INDEX_DIR)} is not a folder of the project (a link?): index segments are neither read nor written there; the index is kept in memory`,
    ]);
    expect(readdirSync(outside)).toEqual([victim]);
    expect(readFileSync(join(outside, victim), 'utf8')).toBe('victim');
  });

  it('skips a damaged line in the middle and counts its image as pending, naming the line', async () => {
    const p = await project(3);
    commitSynthetic(p, [1, 2, 3]);
    p.close();
    const path = join(p.dir, RESULTS_FILE);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[1] = lines[1].slice(0, 100); // a record cut short by a disk error
    writeFileSync(path, lines.join('\n'));
    const again = Project.open(p.dir);
    expect(again.catalog.ids()).toEqual([1, 3]);
    expect(again.catalog.problems).toEqual([
      `${path}: line 2 is skipped (it is not complete JSON (truncated or damaged)); its image counts as pending and runs again`,
    ]);
    expect((await again.pendingEntries()).map((e) => e.id)).toEqual([2]);
  });

  it('refuses a project with a record from a newer version, naming both versions', async () => {
    const p = await project(1);
    p.close();
    appendFileSync(
      join(p.dir, RESULTS_FILE),
      '{"record":7,"revision":0,"image":{"id":1},"status":"done","z":""}\n',
    );
    expect(() => Project.open(p.dir).catalog).toThrow(
      /line 1 it was written by a newer Pseudo-RIS Studio \(record format 7; this version reads results version 1 and record format up to 2\)/,
    );
  });

  it('keeps the image pending when the disk fills during a commit, naming the folder and its free space', async () => {
    const p = await project(3);
    commitSynthetic(p, [1]);
    const size = statSync(join(p.dir, RESULTS_FILE)).size;
    const real = appendWrite.write;
    appendWrite.write = (fd, data) => {
      real(fd, data.subarray(0, 10)); // part of the line reached the disk, then ENOSPC
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    };
    try {
      expect(() => commitSynthetic(p, [2])).toThrow(CommitError);
      expect(() => commitSynthetic(p, [2])).toThrow(
        new RegExp(
          `cannot commit a result to ${p.dir}: the disk is full; .* free there; the image stays pending`,
        ),
      );
    } finally {
      appendWrite.write = real;
    }
    expect(statSync(join(p.dir, RESULTS_FILE)).size).toBe(size); // cut back: no torn bytes
    commitSynthetic(p, [3]);
    p.close();
    expect(readResults(p.dir).map((r) => r.image.id)).toEqual([1, 3]);
    expect((await Project.open(p.dir).pendingEntries()).map((e) => e.id)).toEqual([2]);
  });

  it('lets a reader follow another process that writes, segments included', async () => {
    const n = SEGMENT_LIMITS.records + 40;
    const p = await project(n);
    p.close();
    const reader = ResultCatalog.open(p.dir);
    expect(reader.size).toBe(0);
    const script = `
      import { Project } from ${JSON.stringify(join(import.meta.dirname, 'index.ts'))};
      import { syntheticResult } from ${JSON.stringify(join(import.meta.dirname, '../../testing/synthetic.ts'))};
      const p = Project.open(${JSON.stringify(p.dir)});
      for (let id = 1; id <= ${n}; id++) {
        const e = p.image(id);
        const r = syntheticResult(id, { masks: 2, textsPerMask: 6 });
        p.commit({ ...r, image: { ...r.image, path: e.path, name: e.name, sha256: e.sha256 } });
      }
      p.close();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: 'inherit',
    });
    const seen: number[] = [];
    let exited = false;
    child.once('exit', () => (exited = true));
    while (!exited) {
      reader.refresh();
      seen.push(reader.size);
      await new Promise((r) => setTimeout(r, 20));
    }
    reader.refresh();
    expect(child.exitCode).toBe(0);
    expect(reader.size).toBe(n);
    expect(seen.some((s) => s > 0 && s < n) || seen.length < 3).toBe(true);
    expect(reader.problems).toEqual([]);
    expect(reader.get(n)?.image.id).toBe(n);
  });

  it('survives kill -9 at any moment of commits and segment writes', async () => {
    const n = 2 * SEGMENT_LIMITS.records;
    const p = await project(n);
    p.close();
    const script = `
      import { Project } from ${JSON.stringify(join(import.meta.dirname, 'index.ts'))};
      import { syntheticResult } from ${JSON.stringify(join(import.meta.dirname, '../../testing/synthetic.ts'))};
      const p = Project.open(${JSON.stringify(p.dir)});
      const pending = await p.pendingEntries();
      process.stdout.write('ready\\n');
      for (const e of pending) {
        const r = syntheticResult(e.id, { masks: 2, textsPerMask: 6 });
        p.commit({ ...r, image: { ...r.image, path: e.path, name: e.name, sha256: e.sha256 } });
      }
      p.close();`;
    for (let round = 0; round < 12; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 50 + ((round * 97) % 400)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const catalog = ResultCatalog.open(p.dir);
      // every record read is whole; a killed segment write leaves only a temp, never a wrong segment
      expect(catalog.problems.filter((m) => !/rebuilt/.test(m))).toEqual([]);
      for (const id of catalog.ids().slice(-3)) expect(catalog.get(id)?.image.id).toBe(id);
      catalog.close();
    }
    const finish = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await new Promise((r) => finish.once('exit', r));
    const all = readResults(p.dir);
    expect(all.map((r) => r.image.id).sort((a, b) => a - b)).toEqual(
      Array.from({ length: n }, (_, k) => k + 1),
    );
    expect(ResultCatalog.open(p.dir).size).toBe(n);
  }, 300_000);
});

/**
 * A segment rewritten in the first layout ("PRISSEG1"): CoS then DoS columns where the second has one score column,
 * filled from the log's results as the old writer did (NaN for a score a candidate lacks).
 */
function firstLayout(bytes: Buffer, catalog: ResultCatalog): Buffer {
  const json = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.toString('utf8', 12, 12 + json)) as { records: number; candidates: number };
  const recordsAt = 12 + json;
  const candidatesAt = recordsAt + 60 * header.records;
  const cos: number[] = [];
  const dos: number[] = [];
  for (let r = 0; r < header.records; r++) {
    const result = catalog.get(bytes.readUInt32LE(recordsAt + 60 * r + 12))!;
    for (const c of result.candidates.filter((c) => !c.comparison)) {
      cos.push(c.scores.cos ?? Number.NaN);
      dos.push(c.scores.dos ?? Number.NaN);
    }
  }
  expect(cos).toHaveLength(header.candidates);
  const body = Buffer.concat([
    Buffer.from('PRISSEG1', 'latin1'),
    bytes.subarray(8, candidatesAt),
    Buffer.from(Float64Array.from(cos).buffer),
    Buffer.from(Float64Array.from(dos).buffer),
    bytes.subarray(candidatesAt + 8 * header.candidates, bytes.length - 4), // mask and index columns
  ]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(body));
  return Buffer.concat([body, crc]);
}
