import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { keepPolicy } from '../filter/index.ts';
import { Project } from '../pipeline/store/index.ts';
import { buildReport, formatReport, histogram, mean, projectReport } from './report.ts';
import { writeTestProject } from '../testing/project.ts';

let project: Project;
beforeAll(async () => {
  project = Project.open((await writeTestProject(mkdtempSync(join(tmpdir(), 'pseudo-ris-report-')))).project);
});

describe('buildReport', () => {
  it('counts images, masks, candidates and the kept share at τ', () => {
    const report = buildReport([...project.results()], keepPolicy(project.file.settings));
    expect(report).toMatchObject({
      images: 2,
      imagesFailed: 1,
      masks: 3,
      candidates: 8,
      comparisonCandidates: 1,
      kept: 6,
    });
    expect(report.keptShare).toBeCloseTo(0.75);
    expect(report.failures).toEqual([
      { image: 'broken.png', stage: 'load', code: 'corrupt', message: 'the file is not an image' },
    ]);
  });

  it('averages scores per decoding method, leaving out missing ratios', () => {
    const report = buildReport([...project.results()], keepPolicy(project.file.settings));
    expect(report.means.dcs.count).toBe(6);
    expect(report.means.dcs.dos).toBeCloseTo((2 + 1.6 + 1.1 + 1.31) / 4);
    expect(report.means.beam.dos).toBeCloseTo(1.5);
    expect(report.means.sampling.dos).toBeCloseTo(3);
    expect(report.means.sampling.keptShare).toBe(1);
    expect(report.dosHistogram.dcs.counts.reduce((s, c) => s + c, 0)).toBe(4);
  });

  it('gives the kept share for every τ of the grid from the same scores', () => {
    const report = buildReport([...project.results()], keepPolicy(project.file.settings));
    const at = (t: number) => report.keptShareVsTau.share[report.keptShareVsTau.tau.indexOf(t)];
    expect(at(1.3)).toBeCloseTo(6 / 8);
    expect(at(1.5)).toBeCloseTo(4 / 8); // 1.6, 2.0 + the single-mask image's two
    expect(at(2.0)).toBeCloseTo(2 / 8);
    expect(formatReport(report)).toContain('kept at τ=1.3: 6 (75.0%)');
  });
});

describe('projectReport', () => {
  it('equals the report built from the fully decoded results (it reads summaries and the columnar counter)', () => {
    const policy = keepPolicy(project.file.settings);
    for (const tau of [0.5, 1.3, 1.55, 2.5])
      expect(projectReport(project, { ...policy, tau })).toEqual(
        buildReport([...project.results()], { ...policy, tau }),
      );
  });
});

describe('histogram and mean', () => {
  it('bins values with out-of-range values in the end bins', () => {
    expect(histogram([-1, 0, 0.5, 1, 7], [0, 1, 2]).counts).toEqual([3, 2]);
    expect(() => histogram([], [0])).toThrow('needs at least two edges');
  });
  it('averages present values only', () => {
    expect(mean([1, null, 3])).toBe(2);
    expect(mean([null])).toBeNull();
  });
});
