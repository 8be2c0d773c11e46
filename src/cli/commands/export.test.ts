import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTestProject } from '../../engine/testing/project.ts';

const bin = resolve(import.meta.dirname, '../../../bin/pseudo-ris.mjs');
let dir: string;
let project: string;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-cli-export-'));
  ({ project } = await writeTestProject(dir));
});

describe('pseudo-ris export', () => {
  it('splits by image, appends with --append-to and prints the split counts', async () => {
    const out = join(dir, 'cris');
    const first = await cli([
      'export',
      project,
      '--format',
      'cris',
      '--out',
      out,
      '--split-by-image',
      'train=0.5,val=0.5',
      '--split-seed',
      '4',
    ]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain('[train: 1 images, ');
    const second = await cli([
      'export',
      project,
      '--format',
      'cris',
      '--append-to',
      out,
      '--split-by-image',
      'train=0.5,val=0.5',
    ]);
    expect(second.code).toBe(0);
    const record = JSON.parse(readFileSync(join(out, 'export-record.json'), 'utf8'));
    expect(record.parts).toHaveLength(2);
    expect(record.export.crisFolder).toBe('refcocog_u');
    expect(existsSync(join(out, 'anns/refcocog_u/val.json'))).toBe(true);
  }, 120_000);

  it('refuses refcoco/cris options with other formats, and --out with --append-to', async () => {
    const csv = await cli([
      'export',
      project,
      '--format',
      'csv',
      '--out',
      join(dir, 'csv'),
      '--split-by-image',
      'train=1',
    ]);
    expect(csv.code).not.toBe(0);
    expect(csv.stderr).toContain('--split-by-image: only for --format refcoco or cris, not csv');
    const both = await cli([
      'export',
      project,
      '--format',
      'cris',
      '--out',
      join(dir, 'a'),
      '--append-to',
      join(dir, 'b'),
    ]);
    expect(both.stderr).toContain('give --out <dir> for a new export or --append-to <dir> to add to one');
  }, 120_000);
});
