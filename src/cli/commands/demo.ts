import type { Command } from 'commander';

/** Registers `demo`. (Being built by the demo-world engineer.) */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('(not built yet)')
    .action(() => {
      throw new Error('`demo` is not built yet');
    });
}

/** Registers `models build-demo` on the `models` command (called from models.ts). */
export function registerBuildDemo(models: Command): void {
  models
    .command('build-demo')
    .description('(not built yet)')
    .action(() => {
      throw new Error('`models build-demo` is not built yet');
    });
}
