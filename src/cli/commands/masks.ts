import type { Command } from 'commander';

/** Registers `masks`. (Being built: see the issue that owns it.) */
export function registerMasks(program: Command): void {
  program.command('masks').description('(not built yet)').action(() => {
    throw new Error('`masks` is not built yet');
  });
}
