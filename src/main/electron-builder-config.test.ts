import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
// js-yaml is the parser electron-builder itself reads this file with (a dependency of app-builder-lib), so the test
// sees the config as the packager does; required untyped rather than added as a dependency of ours.
const requireFromBuilder = createRequire(join(root, 'node_modules/app-builder-lib/package.json'));
const { load } = requireFromBuilder('js-yaml') as { load: (text: string) => unknown };
const config = load(readFileSync(join(root, 'build/electron-builder.yml'), 'utf8')) as Record<
  string,
  unknown
>;

/** The fuse names electron-builder 26 accepts (`FuseOptionsV1` in app-builder-lib's configuration types). */
function knownFuses(): string[] {
  const types = readFileSync(join(root, 'node_modules/app-builder-lib/out/configuration.d.ts'), 'utf8');
  const body = /export interface FuseOptionsV1 \{([\s\S]*?)\n\}/.exec(types)?.[1] ?? '';
  return [...body.matchAll(/^\s{4}(\w+)\?: boolean;/gm)].map((m) => m[1]);
}

describe('the packaged build configuration', () => {
  it('flips the Electron fuses that close run-as-node, NODE_OPTIONS, inspect and unpacked-app loading', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
    expect(config.asar).toBe(true);
  });

  it('names only fuses electron-builder knows (a typo would be ignored silently)', () => {
    const known = knownFuses();
    expect(known).toContain('runAsNode');
    for (const name of Object.keys(config.electronFuses as object)) expect(known).toContain(name);
  });

  it('does not rely on what the fuses turn off: no ELECTRON_RUN_AS_NODE or NODE_OPTIONS in the main process', () => {
    for (const file of readdirSync(join(root, 'src/main')).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    )) {
      const text = readFileSync(join(root, 'src/main', file), 'utf8');
      expect(text, file).not.toMatch(/ELECTRON_RUN_AS_NODE|NODE_OPTIONS|child_process/);
    }
  });
});
