/**
 * A project folder on a read-only disk: mounted read-only for real (a bind mount remounted `ro` inside a user and
 * mount namespace, `unshare -Urm`), not simulated, so the kernel answers EROFS to every write as a read-only disk
 * does. Skipped, saying why, where the system allows no such namespace.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitSynthetic, listedProject } from '../../testing/synthetic-project.ts';
import { INDEX_DIR, Project, SEGMENT_LIMITS } from './index.ts';

const cli = resolve(import.meta.dirname, '../../../../bin/pseudo-ris.mjs');

/** Runs `command` (sh) with `folder` mounted read-only; null when this system cannot make the mount. */
function readOnly(
  folder: string,
  command: string,
): { status: number; stdout: string; stderr: string } | null {
  const script = `mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" || exit 97\n${command}`;
  const run = spawnSync('unshare', ['-Urm', 'sh', '-c', script, 'sh', folder], { encoding: 'utf8' });
  if (run.error || run.status === 97) return null;
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

const probe = mkdtempSync(join(tmpdir(), 'pseudo-ris-ro-probe-'));
const canMount = readOnly(probe, 'touch "$1/x" 2>/dev/null && exit 1; exit 0')?.status === 0;
rmSync(probe, { recursive: true, force: true });

/** Every file of a folder tree with its bytes, to show that nothing was written. */
function tree(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile()) out[path] = readFileSync(path).toString('base64');
  }
  return out;
}

describe.skipIf(!canMount)('a project on a read-only disk (unshare -Urm: a real read-only mount)', () => {
  it('opens read-only and says so, reports and exports what it holds, and refuses a run naming the folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-ro-'));
    // enough records for an index segment, whose index is then removed: opening must rebuild it and cannot write it
    const n = SEGMENT_LIMITS.records + 20;
    const p = await listedProject(dir, n);
    commitSynthetic(
      p,
      Array.from({ length: n }, (_, k) => k + 1),
    );
    p.close();
    rmSync(join(p.dir, INDEX_DIR), { recursive: true });
    const before = tree(p.dir);
    const writable = JSON.parse(
      spawnSync(process.execPath, [cli, 'report', p.dir, '--json'], { encoding: 'utf8' }).stdout,
    ) as { images: number; kept: number };
    rmSync(join(p.dir, INDEX_DIR), { recursive: true }); // the report above wrote the index again
    expect(tree(p.dir)).toEqual(before);

    const report = readOnly(p.dir, `"${process.execPath}" "${cli}" report "$1" --json`)!;
    expect(report.status).toBe(0);
    expect(report.stderr).toContain(
      'note: the project folder cannot be written (EROFS): opened read-only, the index is kept in memory',
    );
    // counted from the same records as when the folder was writable
    expect(JSON.parse(report.stdout)).toEqual(writable);

    const out = join(dir, 'export');
    const exported = readOnly(
      p.dir,
      `"${process.execPath}" "${cli}" export "$1" --format jsonl --out "${out}"`,
    )!;
    expect(exported.stderr).toBe('');
    expect(exported.status).toBe(0);
    expect(readFileSync(join(out, 'candidates.jsonl'), 'utf8').split('\n').length).toBeGreaterThan(n);

    const run = readOnly(p.dir, `"${process.execPath}" "${cli}" generate --project "$1"`)!;
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      `the project folder ${p.dir} cannot be written (EROFS): it can be opened, reported and exported, but results cannot be added there`,
    );
    // nothing was written: no index, no lock, the same bytes
    expect(tree(p.dir)).toEqual(before);
    expect(Project.open(p.dir).catalog.size).toBe(n);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
