import type { Command } from 'commander';

/** Registers `demo`. (Being built: see the issue that owns it.) */
export function registerDemo(program: Command): void {
  program.command('demo').description('(not built yet)').action(() => {
    throw new Error('`demo` is not built yet');
  });
}
