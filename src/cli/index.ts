/**
 * The `pseudo-ris` command line: a thin adapter over the engine. Each command lives in `commands/<name>.ts` and
 * registers itself on the program; this file only wires them and turns errors into exit codes.
 */
import { Command, CommanderError } from 'commander';
import { EXIT } from './exit.ts';
import { registerAttribute } from './commands/attribute.ts';
import { registerCaption } from './commands/caption.ts';
import { registerDemo } from './commands/demo.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerEval } from './commands/eval.ts';
import { registerExport } from './commands/export.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerMasks } from './commands/masks.ts';
import { registerMerge } from './commands/merge.ts';
import { registerModels } from './commands/models.ts';
import { registerReport } from './commands/report.ts';
import { registerServe } from './commands/serve.ts';
import { registerTrace } from './commands/trace.ts';
import { registerWorker } from './commands/worker.ts';

/** Builds the program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('pseudo-ris')
    .description('Pseudo-RIS Studio: referring image segmentation training sets from unlabeled images')
    .showHelpAfterError()
    .exitOverride();
  registerModels(program);
  registerDoctor(program);
  registerDemo(program);
  registerMasks(program);
  registerCaption(program);
  registerGenerate(program);
  registerWorker(program);
  registerMerge(program);
  registerExport(program);
  registerReport(program);
  registerEval(program);
  registerTrace(program);
  registerAttribute(program);
  registerServe(program);
  return program;
}

/**
 * Runs the CLI and resolves to the process exit code ({@link EXIT}): 0 all done, 1 bad input refused before the start
 * (usage errors included) or an error that stopped the command, 2 some images failed, 130 interrupted.
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`pseudo-ris: ${message}\n`);
    if (process.env.PSEUDO_RIS_DEBUG && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
    return EXIT.badInput;
  }
}
