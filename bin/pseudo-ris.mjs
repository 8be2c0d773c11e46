#!/usr/bin/env node
// The `pseudo-ris` command. It runs the TypeScript sources through tsx, so `npx pseudo-ris …` works right after
// `npm install` with no build step, and always runs the code in the working tree.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/index.ts');
process.exitCode = await main(process.argv);
