import type { Command } from 'commander';

/** Registers `serve`. (Being built: see the issue that owns it.) */
export function registerServe(program: Command): void {
  program.command('serve').description('(not built yet)').action(() => {
    throw new Error('`serve` is not built yet');
  });
}
