// The pipeline thread's entry (pipeline-thread.ts): a worker thread loads no TypeScript by itself, so it registers
// tsx first, as bin/pseudo-ris.mjs does for the main thread.
import { register } from 'tsx/esm/api';

register();
await import('./pipeline-thread.ts');
