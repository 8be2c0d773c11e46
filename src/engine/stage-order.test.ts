import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The stage fences of eslint.config.js, run on probe sources that are linted as if they stood in the tree
// (`lintText` with a filePath: nothing is written).
const eslint = new ESLint({ cwd: process.cwd() });

async function messagesOf(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the engine stage order lint rule', () => {
  it('fails an import that runs up the stage order, naming the order', async () => {
    const messages = await messagesOf(
      'src/engine/image/probe.ts',
      "import { ProjectService } from '../service/index.ts';\nexport const probe = ProjectService;\n",
    );
    expect(messages.join('\n')).toContain(
      'src/engine/image may import only runtime of the engine: the stage order is runtime → image → segment | caption → filter → pipeline → dataset → service.',
    );
  });

  it('fails an import between the sibling stages segment and caption', async () => {
    const messages = await messagesOf(
      'src/engine/caption/probe.ts',
      "import { selectMasks } from '../segment/index.ts';\nexport const probe = selectMasks;\n",
    );
    expect(messages.join('\n')).toContain('src/engine/caption may import only runtime, image of the engine');
  });

  it("fails an import of another stage's internals instead of its index.ts", async () => {
    const messages = await messagesOf(
      'src/engine/segment/probe.ts',
      "import { decodeRle } from '../image/rle.ts';\nexport const probe = decodeRle;\n",
    );
    expect(messages).toEqual([
      "'../image/rle.ts' import is restricted from being used by a pattern. src/engine/segment imports another stage only through its public surface, that stage's index.ts.",
    ]);
  });

  it('fails production code that imports the testing module, and lets tests import it', async () => {
    const source =
      "import { ensureTestPack } from '../testing/pack.ts';\nexport const probe = ensureTestPack;\n";
    expect((await messagesOf('src/engine/pipeline/probe.ts', source)).join('\n')).toContain(
      'src/engine/testing is test tooling: only tests and src/engine/testing may import it.',
    );
    expect(await messagesOf('src/engine/pipeline/probe.test.ts', source)).toEqual([]);
  });

  it('passes an import down the order through the index', async () => {
    const messages = await messagesOf(
      'src/engine/pipeline/probe.ts',
      "import { selectMasks } from '../segment/index.ts';\nexport const probe = selectMasks;\n",
    );
    expect(messages).toEqual([]);
  });
});

describe('the onnxruntime-only-in-runtime lint rule', () => {
  const source = "import * as ort from 'onnxruntime-node';\nexport const probe = ort.Tensor;\n";
  const message = 'onnxruntime is imported inside src/engine/runtime/ only';

  it('fails production code outside src/engine/runtime that imports onnxruntime-node', async () => {
    for (const file of [
      'src/engine/caption/probe.ts',
      'src/engine/segment/probe.ts',
      'src/engine/demo/probe.ts',
      'src/cli/commands/probe.ts',
      'src/shared/probe.ts',
    ]) {
      expect((await messagesOf(file, source)).join('\n'), file).toContain(message);
    }
  });

  it('lets src/engine/runtime, tests and the testing module import it', async () => {
    for (const file of [
      'src/engine/runtime/probe.ts',
      'src/engine/segment/probe.test.ts',
      'src/engine/testing/probe.ts',
    ]) {
      expect(await messagesOf(file, source), file).toEqual([]);
    }
  });
});
