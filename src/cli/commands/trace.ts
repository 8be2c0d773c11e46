import type { Command } from 'commander';
import type { BeamTrace } from '../../shared/caption.ts';
import { openStages } from '../../engine/pipeline/engine.ts';
import { Project } from '../../engine/pipeline/store/index.ts';
import { traceCandidate } from '../../engine/pipeline/trace.ts';
import { resolvePackDir } from '../pack.ts';
import { sayProjectNotes } from '../notes.ts';
import { wholeNumber as int } from '../flags.ts';

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
        sayProjectNotes(project);
        const stages = await openStages(await resolvePackDir(flags.models ?? project.file.pack?.dir));
        try {
          const { candidate, trace, beam, reproduced } = await traceCandidate(dir, where, stages);
          if (flags.json) {
            process.stdout.write(`${JSON.stringify({ candidate, reproduced, trace, beam }, null, 2)}\n`);
            if (!reproduced) process.exitCode = 1;
            return;
          }
          const s = candidate.scores;
          process.stdout.write(
            `"${candidate.text}" — ${candidate.cropKey}, ${candidate.settingKey}, seed ${candidate.seed}${candidate.streamId ? `, stream ${candidate.streamId}` : ''}\n`,
          );
          process.stdout.write(
            `UoS ${fmt(s.uos)} · CoS ${fmt(s.cos)} · DoS ${fmt(s.dos)} · head noun "${s.headNoun}"${s.confusedWith !== null ? ` · confused with mask ${s.confusedWith}` : ''}\n`,
          );
          if (beam) {
            printBeam(beam, candidate.text, reproduced);
            if (!reproduced) process.exitCode = 1;
            return;
          }
          if (!trace) return;
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

/** Prints a beam trace: per step each group's beams with Σ score and Σ / length, then the hypotheses. */
function printBeam(beam: BeamTrace, stored: string, reproduced: boolean): void {
  const text = (ids: number[]) =>
    ids
      .slice(1)
      .map((id) => beam.tokenTexts[id] ?? `<${id}>`)
      .join('')
      .trim();
  process.stdout.write(
    `replayed beam search (${beam.config.settingKey}, ${beam.config.setting.scoring}): "${beam.text}" score ${beam.score.toFixed(4)} (${reproduced ? 'same as stored' : `DIFFERS from stored "${stored}"`})\n`,
  );
  for (const step of beam.steps) {
    const groups = step.groups.map((group) =>
      group.done
        ? `g${group.group}: done`
        : `g${group.group}: ${group.beams.map((b) => `"${text(b.tokenIds)}" Σ ${b.score.toFixed(2)} ÷L ${b.normalized.toFixed(3)}`).join(' | ')}`,
    );
    process.stdout.write(`  step ${String(step.step).padStart(2)}  ${groups.join('   ')}\n`);
  }
  beam.hypotheses.forEach((h, i) => {
    const when = h.step === null ? 'at the end' : `step ${h.step}`;
    const fate = i === beam.winner ? 'WINNER' : h.kept ? 'kept' : h.admitted ? 'pushed out' : 'not admitted';
    process.stdout.write(
      `  hypothesis g${h.group} ${when}: "${text(h.tokenIds)}" Σ ${h.sum.toFixed(3)} / ${h.tokenIds.length} = ${h.score.toFixed(4)} (${fate})\n`,
    );
  });
}

function fmt(v: number | null): string {
  return v === null ? '—' : v.toFixed(3);
}
