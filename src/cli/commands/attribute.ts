import type { Command } from 'commander';
import type { AttributionSide, OcclusionAttribution } from '../../shared/attribution.ts';
import { openStages } from '../../engine/pipeline/engine.ts';
import { attributeCandidate, DEFAULT_ATTRIBUTION_GRID } from '../../engine/pipeline/attribute.ts';
import { Project } from '../../engine/pipeline/store/index.ts';
import { resolvePackDir } from '../pack.ts';
import { wholeNumber as int } from '../flags.ts';

/**
 * Registers `attribute <project> --image <id> --mask <k> --candidate <n> --step <t>`: the occlusion attribution of
 * one decoding step (the inspector's attribution view), as two grids of log-probability drops or as JSON.
 */
export function registerAttribute(program: Command): void {
  program
    .command('attribute')
    .description(
      "occlusion attribution of one decoding step: the drop of the token's log-probability per grey patch over the crop, naive and DCS",
    )
    .argument('<project>', 'project folder')
    .requiredOption('--image <id>', 'image id (1-based position in the project list)')
    .requiredOption('--mask <k>', 'mask index within the image')
    .requiredOption('--candidate <n>', 'candidate index within the mask')
    .requiredOption(
      '--step <t>',
      "decoding step (0 = the token after sot); the candidate's tokens are fed up to it",
    )
    .option('--token <id>', "token id to explain (default: the candidate's token at that step)")
    .option('--grid <g>', 'patches per side, 2–16', String(DEFAULT_ATTRIBUTION_GRID))
    .option('--models <pack>', "model pack folder (default: the project's)")
    .option('--json', 'print the attribution JSON')
    .action(
      async (
        dir: string,
        flags: {
          image: string;
          mask: string;
          candidate: string;
          step: string;
          token?: string;
          grid: string;
          models?: string;
          json?: boolean;
        },
      ) => {
        const where = {
          image: int('--image', flags.image),
          mask: int('--mask', flags.mask),
          candidate: int('--candidate', flags.candidate),
        };
        const grid = int('--grid', flags.grid);
        if (grid < 2 || grid > 16) throw new Error(`--grid must be 2–16 patches per side, got ${grid}`);
        const options = {
          step: int('--step', flags.step),
          grid,
          ...(flags.token !== undefined ? { token: int('--token', flags.token) } : {}),
        };
        const project = Project.open(dir);
        const stages = await openStages(await resolvePackDir(flags.models ?? project.file.pack?.dir));
        try {
          const attribution = await attributeCandidate(dir, where, stages, options);
          if (flags.json) {
            process.stdout.write(`${JSON.stringify(attribution, null, 2)}\n`);
            return;
          }
          process.stdout.write(describe(attribution));
        } finally {
          await stages.dispose();
        }
      },
    );
}

/** The header and the two grids (naive, DCS) of drops, one row of the grid per line, top row first. */
function describe(a: OcclusionAttribution): string {
  const lines = [
    `step ${a.step}: "${a.prefixText}" → token ${a.token} "${a.tokenText.trim()}" · ${a.grid}×${a.grid} grey patches over the ${a.size}×${a.size} crop · drop = log p(intact) − log p(patched), nats`,
  ];
  const sides: [string, AttributionSide][] = [
    ['naive', a.naive],
    [
      a.calibrated ? `DCS (calibrated over ${a.cropCount} crops)` : 'DCS (not calibrated: equals naive)',
      a.dcs,
    ],
  ];
  for (const [name, side] of sides) {
    lines.push(`${name}: log p = ${number(side.base)}`);
    for (let row = 0; row < a.grid; row++)
      lines.push(
        side.drop
          .slice(row * a.grid, (row + 1) * a.grid)
          .map((d) => number(d).padStart(8))
          .join(''),
      );
  }
  return `${lines.join('\n')}\n`;
}

function number(value: number | null): string {
  return value === null ? '-∞' : value.toFixed(4);
}
