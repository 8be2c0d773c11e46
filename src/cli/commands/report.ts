import type { Command } from 'commander';

/** Registers `report`. (Being built: see the issue that owns it.) */
export function registerReport(program: Command): void {
  program.command('report').description('(not built yet)').action(() => {
    throw new Error('`report` is not built yet');
  });
}
