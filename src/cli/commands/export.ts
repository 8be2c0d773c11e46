import type { Command } from 'commander';

/** Registers `export`. (Being built: see the issue that owns it.) */
export function registerExport(program: Command): void {
  program.command('export').description('(not built yet)').action(() => {
    throw new Error('`export` is not built yet');
  });
}
