// Worker-thread bootstrap of the engine host: the sources are TypeScript run through tsx (no build step), and a
// worker does not inherit the parent's loader, so it registers tsx itself before importing the real entry.
import { register } from 'tsx/esm/api';

register();
await import('./worker-entry.ts');
