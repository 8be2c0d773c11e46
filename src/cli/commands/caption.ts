import type { Command } from 'commander';

/** Registers `caption`. (Being built: see the issue that owns it.) */
export function registerCaption(program: Command): void {
  program.command('caption').description('(not built yet)').action(() => {
    throw new Error('`caption` is not built yet');
  });
}
