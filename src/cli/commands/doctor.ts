import type { Command } from 'commander';

/** Registers `doctor`. (Being built: see the issue that owns it.) */
export function registerDoctor(program: Command): void {
  program.command('doctor').description('(not built yet)').action(() => {
    throw new Error('`doctor` is not built yet');
  });
}
