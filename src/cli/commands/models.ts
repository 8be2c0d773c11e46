import type { Command } from 'commander';

/** Registers `models`. (Being built: see the issue that owns it.) */
export function registerModels(program: Command): void {
  program.command('models').description('(not built yet)').action(() => {
    throw new Error('`models` is not built yet');
  });
}
