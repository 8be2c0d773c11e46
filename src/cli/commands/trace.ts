import type { Command } from 'commander';
import { openStages } from '../../engine/pipeline/engine.ts';
import { Project } from '../../engine/pipeline/store.ts';
import { traceCandidate } from '../../engine/pipeline/trace.ts';
import { resolvePackDir } from '../pack.ts';

/** Registers `trace <project> --image <id> --mask <k> --candidate <n>`: prints a candidate's decoding trace. */
export function registerTrace(program: Command): void {
  program
    .command('trace')
    .description(
      "regenerate a candidate's step-by-step decoding trace (deterministic from its seed and stream)",
    )
    .argument('<project>', 'project folder')
    .requiredOption('--image <id>', 'image id (1-based position in the project list)')
    .requiredOption('--mask <k>', 'mask index within the image')
    .requiredOption('--candidate <n>', 'candidate index within the mask')
    .option('--models <pack>', "model pack folder (default: the project's)")
    .option('--json', 'print the trace JSON')
    .action(
      async (
        dir: string,
        flags: { image: string; mask: string; candidate: string; models?: string; json?: boolean },
      ) => {
        const where = {
          image: int('--image', flags.image),
          mask: int('--mask', flags.mask),
          candidate: int('--candidate', flags.candidate),
        };
        const project = Project.open(dir);
        const stages = await openStages(await resolvePackDir(flags.models ?? project.file.pack?.dir));
        try {
          const { candidate, trace, reproduced } = await traceCandidate(dir, where, stages);
          if (flags.json) {
            process.stdout.write(`${JSON.stringify({ candidate, reproduced, trace }, null, 2)}\n`);
            return;
          }
          const s = candidate.scores;
          process.stdout.write(
            `"${candidate.text}" — ${candidate.cropKey}, ${candidate.settingKey}, seed ${candidate.seed}${candidate.streamId ? `, stream ${candidate.streamId}` : ''}\n`,
          );
          process.stdout.write(
            `UoS ${fmt(s.uos)} · CoS ${fmt(s.cos)} · DoS ${fmt(s.dos)} · head noun "${s.headNoun}"${s.confusedWith !== null ? ` · confused with mask ${s.confusedWith}` : ''}\n`,
          );
          if (!trace) {
            process.stdout.write('beam-search candidate: deterministic, no sampling trace\n');
            return;
          }
          process.stdout.write(
            `regenerated: "${trace.text}" (${reproduced ? 'same as stored' : 'DIFFERS from stored'}) · DCS ${trace.calibrated ? `calibrated over ${trace.cropCount} crops` : 'not calibrated (plain sampling)'}\n`,
          );
          for (const step of trace.steps) {
            const top = step.tokens
              .filter((t) => t.kept)
              .map((t) => ({ t, w: step.weights[step.tokens.indexOf(t)] }))
              .sort((a, b) => (b.w ?? -Infinity) - (a.w ?? -Infinity))
              .slice(0, 5)
              .map(
                ({ t, w }) =>
                  `${t.text.trim() || t.id}:${w === null ? '-∞' : (w / (step.weightSum || 1)).toFixed(2)}`,
              );
            process.stdout.write(
              `  step ${String(step.step).padStart(2)}  → ${step.chosenText.trim().padEnd(12)} |V|=${step.keptCount}${step.forced ? ' (eot forced)' : `  u=${step.draw?.uniform.toFixed(3)}`}  ${top.join(' ')}\n`,
            );
          }
          if (!reproduced) process.exitCode = 1;
        } finally {
          await stages.dispose();
        }
      },
    );
}

function int(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${flag} must be a non-negative integer, got "${value}"`);
  return n;
}

function fmt(v: number | null): string {
  return v === null ? '—' : v.toFixed(3);
}
