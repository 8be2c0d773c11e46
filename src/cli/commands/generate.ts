import type { Command } from 'commander';

/** Registers `generate`. (Being built: see the issue that owns it.) */
export function registerGenerate(program: Command): void {
  program.command('generate').description('(not built yet)').action(() => {
    throw new Error('`generate` is not built yet');
  });
}
