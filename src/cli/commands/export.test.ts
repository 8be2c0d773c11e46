import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ExportResult } from '../../shared/api.ts';
import { startTestEngine } from '../../engine/testing/engine.ts';
import { writeTestProject } from '../../engine/testing/project.ts';
import { registerExport } from './export.ts';
import { runCli, type CliRun } from '../run-cli.ts';

let dir: string;
let project: string;

function cli(args: string[]): Promise<CliRun> {
  return runCli(args, { timeout: 60_000 });
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
    const again = [
      'export',
      project,
      '--format',
      'cris',
      '--append-to',
      out,
      '--split-by-image',
      'train=0.5,val=0.5',
    ];
    // the same images again: refused (they would weigh double), unless asked for
    const refused = await cli(again);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('are already in part 1');
    const second = await cli([...again, '--allow-repeat']);
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

describe('pseudo-ris export --caption-text', () => {
  it('exports the released texts when asked and refuses another value naming both allowed', async () => {
    const here = mkdtempSync(join(tmpdir(), 'pseudo-ris-cli-released-'));
    const { project: released } = await writeTestProject(here, { released: true });
    const out = join(here, 'jsonl');
    await cliHere([released, '--format', 'jsonl', '--out', out, '--caption-text', 'released']);
    const first = JSON.parse(readFileSync(join(out, 'candidates.jsonl'), 'utf8').split('\n')[1]!);
    expect(first.text).toBe('the "left" red circle !!!!');
    await expect(
      cliHere([released, '--format', 'csv', '--out', join(here, 'x'), '--caption-text', 'raw']),
    ).rejects.toThrow('--caption-text must be trimmed or released, got "raw"');
  });
});

/** Runs `pseudo-ris export` in this process (the CLI's own option parsing and checks); answers what it printed. */
async function cliHere(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerExport(program);
  const printed: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    await program.parseAsync(['export', ...args], { from: 'user' });
  } finally {
    write.mockRestore();
  }
  return printed.join('');
}

/** Every file under `root` but the export record, by relative path. */
function written(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name !== 'export-record.json')
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

describe("pseudo-ris export and the app's export:run", () => {
  it('write the same files, byte for byte, for the same dataset, splitBy, split, seed, COCO names and single-mask policy', async () => {
    const app = await startTestEngine('pris-export-same-');
    try {
      const { project: copy } = await writeTestProject(join(app.base, 'allowed', 'one'));
      await app.engine.request('project:open', { dir: copy });
      const dest = join(app.base, 'allowed', 'app');
      const result = (await app.engine.request('export:run', {
        formats: ['refcoco'],
        dest,
        dataset: 'refcoco+',
        splitBy: 'unc',
        cocoNames: true,
        split: 'train=0.5,val=0.5',
        splitSeed: 4,
        singleMask: 'keep-all',
      })) as ExportResult;
      const out = join(app.base, 'cli');
      const printed = await cliHere([
        copy,
        '--format',
        'refcoco',
        '--out',
        out,
        '--dataset',
        'refcoco+',
        '--split-by',
        'unc',
        '--coco-names',
        '--split-by-image',
        'train=0.5,val=0.5',
        '--split-seed',
        '4',
        '--single-mask',
        'keep-all',
      ]);
      const counts = result.splits.map((s) => `${s.name}: ${s.images} images, ${s.refs} refs`).join('; ');
      expect(printed).toContain(`[${counts}]`);
      const folder = join(dest, 'refcoco');
      expect(written(out)).toEqual(written(folder));
      expect(written(out)).toContain(join('refcoco+', 'refs(unc).p'));
      for (const file of written(out))
        expect(readFileSync(join(out, file))).toEqual(readFileSync(join(folder, file)));
      // the record's resolved values agree too, but for `review`: the app applies its (here empty) review state, the
      // CLI the project's review.json, which this project has none of
      const record = (root: string) =>
        JSON.parse(readFileSync(join(root, 'export-record.json'), 'utf8')).export;
      expect({ ...record(folder), review: 'none' }).toEqual(record(out));
    } finally {
      await app.close();
    }
  });
});
