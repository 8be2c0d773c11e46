// ESLint flat config. The layering fences of CONVENTIONS.md live here: each folder of src/ may import only the
// layers below it, and each fence says why when it trips.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import globals from 'globals';
import prettier from 'eslint-config-prettier';

const nodeBuiltins = [
  'node:*',
  'fs',
  'path',
  'os',
  'child_process',
  'worker_threads',
  'crypto',
  'url',
  'stream',
  'zlib',
];

/**
 * onnxruntime stays inside src/engine/runtime/: everything else feeds and reads tensors through the runtime's helpers.
 * Added to every fence of src/ except runtime's; tests and src/engine/testing/ (test packs, fixtures) are exempt.
 */
const ortOnlyInRuntime = {
  group: ['onnxruntime-node', 'onnxruntime-node/*', 'onnxruntime-common', 'onnxruntime-common/*'],
  message:
    'onnxruntime is imported inside src/engine/runtime/ only: build feeds and read outputs with its tensor helpers ' +
    '(floatTensor, int64Tensor, floatData, floatOutput, type Tensor) and read the version with onnxRuntimeVersion(), ' +
    'all from engine/runtime/index.ts.',
};

/** One fence: `patterns` that a folder may not import, with the message a developer sees. */
function fence(files, groups) {
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns: groups }],
    },
  };
}

/** What every file of src/engine may not import (the adapters and UI sit above it). */
const engineGroups = [
  {
    group: ['**/cli/**', '**/server/**', '**/main/**', '**/preload/**', '**/renderer/**'],
    message: 'src/engine imports only src/shared and Node: the adapters sit above it.',
  },
  {
    group: ['electron', 'electron/*', 'vue', 'pinia', 'echarts', 'vue-echarts'],
    message: 'src/engine never imports electron, vue or the DOM.',
  },
];

/**
 * The engine's stages, bottom first, with the stages each may import (CONVENTIONS.md): runtime → image →
 * segment | caption (siblings) → filter → pipeline → dataset → service. `demo` (the generated demo pack and scenes)
 * sits on runtime and image and serves the dataset's evaluation, the service and the tests. `testing` (test packs,
 * fixtures, the ONNX graph builder's test uses) is imported by tests and by itself only.
 */
export const ENGINE_STAGES = {
  runtime: [],
  image: ['runtime'],
  demo: ['runtime', 'image'],
  segment: ['runtime', 'image'],
  caption: ['runtime', 'image'],
  filter: ['runtime', 'image', 'segment', 'caption'],
  pipeline: ['runtime', 'image', 'segment', 'caption', 'filter', 'demo'],
  dataset: ['runtime', 'image', 'segment', 'caption', 'filter', 'pipeline', 'demo'],
  service: ['runtime', 'image', 'segment', 'caption', 'filter', 'pipeline', 'dataset', 'demo'],
};

/** Test files and the testing module: they may import any stage, internals included. */
const TEST_FILES = ['src/**/*.test.ts', 'src/engine/testing/**'];

/**
 * One fence per stage: no import up (or across, for the siblings segment and caption) the stage order, other stages
 * only through their `index.ts`, and never the testing module. Tests and `src/engine/testing/` are exempt.
 */
function stageFences() {
  const stages = Object.keys(ENGINE_STAGES);
  const up = (name) => `(?:\\.\\./)+(?:engine/)?(?:${name})(?:/|$)`;
  return stages.map((stage) => {
    const allowed = ENGINE_STAGES[stage];
    const forbidden = stages.filter((s) => s !== stage && !allowed.includes(s));
    const patterns = stage === 'runtime' ? [...engineGroups] : [...engineGroups, ortOnlyInRuntime];
    if (forbidden.length > 0)
      patterns.push({
        regex: `^${up(forbidden.join('|'))}`,
        message:
          `src/engine/${stage} may import only ${allowed.length ? allowed.join(', ') : 'src/shared'} of the engine: ` +
          'the stage order is runtime → image → segment | caption → filter → pipeline → dataset → service.',
      });
    patterns.push(
      {
        regex: `^(?:\\.\\./)+(?:engine/)?(?:${stages.join('|')})/(?!index\\.ts$)`,
        message: `src/engine/${stage} imports another stage only through its public surface, that stage's index.ts.`,
      },
      {
        regex: '^(?:\\.\\./)+(?:engine/)?testing(?:/|$)',
        message: 'src/engine/testing is test tooling: only tests and src/engine/testing may import it.',
      },
    );
    return {
      files: [`src/engine/${stage}/**`],
      ignores: TEST_FILES,
      rules: { 'no-restricted-imports': ['error', { patterns }] },
    };
  });
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'out/**',
      'dist/**',
      'coverage/**',
      'resources/models/**',
      'e2e/artifacts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'vue/multi-word-component-names': 'off',
    },
  },
  {
    files: ['src/renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  fence(
    ['src/shared/**'],
    [
      {
        group: ['**/engine/**', '**/cli/**', '**/server/**', '**/main/**', '**/preload/**', '**/renderer/**'],
        message: 'src/shared is the bottom layer: it imports nothing of ours.',
      },
      {
        group: ['electron', 'vue', 'pinia', ...nodeBuiltins],
        message: 'src/shared holds plain types and schemas only.',
      },
      ortOnlyInRuntime,
    ],
  ),
  fence(['src/engine/**'], engineGroups),
  ...stageFences(),
  fence(
    ['src/cli/**', 'src/server/**'],
    [
      {
        group: ['**/main/**', '**/preload/**', '**/renderer/**'],
        message: 'cli and server import engine + shared only.',
      },
      {
        group: ['electron', 'electron/*', 'vue', 'pinia'],
        message: 'cli and server run in plain Node: no electron or vue.',
      },
      ortOnlyInRuntime,
    ],
  ),
  fence(
    ['src/main/**'],
    [
      {
        group: ['**/cli/**', '**/server/**', '**/preload/**', '**/renderer/**'],
        message: 'main imports engine + shared only.',
      },
      { group: ['vue', 'pinia'], message: 'main never imports the UI framework.' },
      ortOnlyInRuntime,
    ],
  ),
  fence(
    ['src/preload/**'],
    [
      {
        group: ['**/engine/**', '**/cli/**', '**/server/**', '**/main/**', '**/renderer/**'],
        message: 'preload imports only src/shared: it forwards named calls, nothing more.',
      },
      ortOnlyInRuntime,
    ],
  ),
  fence(
    ['src/renderer/**'],
    [
      {
        group: ['**/engine/**', '**/cli/**', '**/server/**', '**/main/**', '**/preload/**'],
        message:
          'the renderer imports only src/shared: it reaches the engine through window.api or the WebSocket client.',
      },
      {
        group: ['electron', 'electron/*', 'onnxruntime-node', 'sharp', ...nodeBuiltins],
        message: 'the renderer runs in a sandboxed page: no Node or Electron modules.',
      },
    ],
  ),
  prettier,
);
