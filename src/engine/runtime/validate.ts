/**
 * Whole-pack validation that collects every issue instead of stopping at the first (for `models validate` and the
 * models panel), and pack discovery (`models list`).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionProvider, PackIssue, PackRole, PackSummary, Role } from '../../shared/models.ts';
import { ROLES } from '../../shared/models.ts';
import {
  countIndexed,
  graphFileOf,
  offeredOptionalRoles,
  packContracts,
  ROLE_CONTRACTS,
  type ValueMetadata,
} from './contracts.ts';
import { ModelPackError } from './errors.ts';
import { checkFileQuick, isLfsPointer, packPath } from './files.ts';
import type { Manifest } from './manifest.ts';
import { manifestIssues, openRoleSession, type LoadModelPackOptions } from './pack.ts';

/** Options of {@link validateModelPack}. */
export interface ValidateOptions extends LoadModelPackOptions {
  /**
   * 'full' (default): files incl. SHA-256, then every session opened and checked against its contract.
   * 'quick': manifest and file presence/size/LFS only — cheap enough for listing many packs.
   */
  level?: 'full' | 'quick';
}

/**
 * Validates a pack and returns every issue found (never throws for a broken pack).
 *
 * Sessions are opened on CPU unless the options say otherwise: the metadata checked does not depend on the provider,
 * and validation should not claim GPU memory.
 */
export async function validateModelPack(dir: string, options: ValidateOptions = {}): Promise<PackSummary> {
  const folder = resolve(dir);
  const read = await manifestIssues(folder);
  if ('errors' in read) {
    return {
      name: read.errors[0].pack,
      dir: folder,
      description: '',
      demo: false,
      valid: false,
      issues: read.errors.map((e) => e.toIssue()),
    };
  }
  const manifest = read.manifest;
  const issues: PackIssue[] = [];
  const metadata = new Map<
    PackRole,
    { inputs: readonly ValueMetadata[]; outputs: readonly ValueMetadata[] }
  >();
  const sessionOptions: LoadModelPackOptions = {
    forceCpu: true,
    ...options,
    verifyChecksums: options.level === 'quick' ? false : options.verifyChecksums,
  };
  const known = new Map<ExecutionProvider, string>();
  for (const role of [...ROLES, ...offeredOptionalRoles(manifest)]) {
    try {
      if (options.level === 'quick') {
        await quickFiles(folder, manifest, role);
        continue;
      }
      const { created, errors } = await openRoleSession(folder, manifest, role, sessionOptions, known);
      metadata.set(role, { inputs: created.session.inputMetadata, outputs: created.session.outputMetadata });
      await created.session.release();
      issues.push(...errors.map((e) => e.toIssue()));
    } catch (error) {
      issues.push(asIssue(error, manifest.name, role));
    }
  }
  issues.push(...crossGraphIssues(manifest, metadata));
  issues.push(...cacheContractIssues(manifest, metadata));
  for (const [owner, file] of [
    ['captioner', manifest.captioner.tokenizer],
    ['scorer', manifest.scorer.tokenizer],
  ] as const) {
    const issue = await tokenizerIssue(folder, manifest.name, owner, file);
    if (issue && !issues.some((i) => i.file === file && i.code === issue.code)) issues.push(issue);
  }
  return {
    name: manifest.name,
    dir: folder,
    description: manifest.description,
    demo: manifest.demo,
    valid: issues.length === 0,
    issues,
    contracts: packContracts(manifest),
  };
}

/** The folders searched for packs: the app's `resources/models/*`, `PSEUDO_RIS_MODELS` (path list), then extras. */
export function modelRoots(extraDirs: string[] = []): string[] {
  const roots: string[] = [];
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath;
  // Packaged Electron app: electron-builder's extraResources put the packs beside app.asar, outside it (ORT opens
  // model files natively and cannot read inside an asar).
  if (resourcesPath && existsSync(join(resourcesPath, 'models'))) roots.push(join(resourcesPath, 'models'));
  const repo = findResourcesModels(dirname(fileURLToPath(import.meta.url)));
  if (repo) roots.push(repo);
  for (const entry of (process.env.PSEUDO_RIS_MODELS ?? '').split(delimiter))
    if (entry) roots.push(resolve(entry));
  roots.push(...extraDirs.map((d) => resolve(d)));
  return [...new Set(roots)];
}

/**
 * Lists the packs found under the model roots (each sub-folder with a manifest.json; a root that is itself a pack
 * counts too), each with a quick validation by default.
 */
export async function listModelPacks(
  extraDirs: string[] = [],
  options: ValidateOptions = {},
): Promise<PackSummary[]> {
  const dirs: string[] = [];
  for (const root of modelRoots(extraDirs)) {
    if (existsSync(join(root, 'manifest.json'))) dirs.push(root);
    let entries: string[];
    try {
      entries = readdirSync(root).sort();
    } catch {
      continue; // a user folder that does not exist lists nothing
    }
    for (const entry of entries) {
      const candidate = join(root, entry);
      try {
        if (statSync(candidate).isDirectory() && existsSync(join(candidate, 'manifest.json')))
          dirs.push(candidate);
      } catch {
        // vanished while listing
      }
    }
  }
  const summaries: PackSummary[] = [];
  for (const dir of [...new Set(dirs)])
    summaries.push(await validateModelPack(dir, { level: 'quick', ...options }));
  return summaries;
}

/** Walks up from `start` to the first folder holding `resources/models` (the repository root in development). */
function findResourcesModels(start: string): string | undefined {
  let current = start;
  for (;;) {
    const candidate = join(current, 'resources', 'models');
    if (existsSync(join(current, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

async function quickFiles(dir: string, manifest: Manifest, role: PackRole): Promise<void> {
  const graph = graphFileOf(manifest, role);
  for (const expected of [graph, ...(graph.externalData ?? [])])
    await checkFileQuick(dir, expected, { pack: manifest.name, role });
}

function asIssue(error: unknown, pack: string, role: PackRole): PackIssue {
  if (error instanceof ModelPackError) return error.toIssue();
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'session-create', role, message: `model pack "${pack}", ${role}: ${message}` };
}

/**
 * The cached captioner contract as a whole: `cross` and `decoderWithPast` come together, and the decoder reads the
 * M cross pairs the cross graph writes and writes a present for every past it reads.
 */
function cacheContractIssues(
  manifest: Manifest,
  metadata: Map<PackRole, { inputs: readonly ValueMetadata[]; outputs: readonly ValueMetadata[] }>,
): PackIssue[] {
  const { cross, decoderWithPast } = manifest.captioner;
  const issue = (role: PackRole, file: string, message: string) =>
    new ModelPackError('pack-mismatch', { pack: manifest.name, role, file }, message).toIssue();
  if (!cross && !decoderWithPast) return [];
  if (!cross || !decoderWithPast) {
    const [has, lacks] = cross ? ['cross', 'decoderWithPast'] : ['decoderWithPast', 'cross'];
    const role = cross ? 'captioner.cross' : 'captioner.decoderWithPast';
    return [
      issue(
        role,
        (cross ?? decoderWithPast)!.file,
        `the manifest lists captioner.${has} without captioner.${lacks}: the cached decoder needs both`,
      ),
    ];
  }
  const crossMeta = metadata.get('captioner.cross');
  const decoderMeta = metadata.get('captioner.decoderWithPast');
  if (!crossMeta || !decoderMeta) return [];
  const canonical = (names: Record<string, string> | undefined, list: readonly ValueMetadata[]) => {
    const back = new Map(Object.entries(names ?? {}).map(([from, to]) => [to, from]));
    return list.map((m) => back.get(m.name) ?? m.name);
  };
  const written = countIndexed(canonical(cross.names, crossMeta.outputs), 'cross');
  const read = countIndexed(canonical(decoderWithPast.names, decoderMeta.inputs), 'cross');
  const past = countIndexed(canonical(decoderWithPast.names, decoderMeta.inputs), 'past');
  const present = countIndexed(canonical(decoderWithPast.names, decoderMeta.outputs), 'present');
  const issues: PackIssue[] = [];
  if (written !== read)
    issues.push(
      issue(
        'captioner.decoderWithPast',
        decoderWithPast.file,
        `the decoder reads ${read} cross_key/cross_value pairs but captioner.cross writes ${written}`,
      ),
    );
  if (past !== present)
    issues.push(
      issue(
        'captioner.decoderWithPast',
        decoderWithPast.file,
        `the decoder reads ${past} past_key/past_value pairs but writes ${present} present_key/present_value pairs`,
      ),
    );
  return issues;
}

/** Named dims that must agree across the graphs of one model (e.g. the captioner's token width W). */
function crossGraphIssues(
  manifest: Manifest,
  metadata: Map<PackRole, { inputs: readonly ValueMetadata[]; outputs: readonly ValueMetadata[] }>,
): PackIssue[] {
  const issues: PackIssue[] = [];
  // Batch, lengths and point counts legitimately differ between graphs; the rest must match within a model.
  const free = new Set(['B', 'L', 'N']);
  for (const group of ['segmenter', 'captioner', 'scorer']) {
    const seen = new Map<string, { value: number; where: string }>();
    for (const role of ROLES.filter((r: Role) => r.startsWith(`${group}.`))) {
      const meta = metadata.get(role);
      if (!meta) continue;
      const names = graphFileOf(manifest, role).names ?? {};
      const contract = ROLE_CONTRACTS[role];
      for (const [side, tensors, list] of [
        ['input', contract.inputs, meta.inputs],
        ['output', contract.outputs, meta.outputs],
      ] as const) {
        for (const tensor of tensors) {
          const found = list.find((m) => m.name === (names[tensor.name] ?? tensor.name));
          if (!found?.isTensor) continue;
          const shape = tensor.shapes.find((s) => s.length === found.shape.length);
          if (!shape) continue;
          shape.forEach((dim, axis) => {
            const got = found.shape[axis];
            if (typeof dim !== 'string' || free.has(dim) || typeof got !== 'number' || got < 0) return;
            const where = `${role} ${side} "${tensor.name}" dim ${axis}`;
            const before = seen.get(dim);
            if (!before) seen.set(dim, { value: got, where });
            else if (before.value !== got) {
              issues.push(
                new ModelPackError(
                  'pack-mismatch',
                  { pack: manifest.name, role, file: graphFileOf(manifest, role).file, tensor: tensor.name },
                  `${where} is ${got} but ${before.where} is ${before.value} (both are ${dim}): the graphs come from different exports`,
                ).toIssue(),
              );
            }
          });
        }
      }
    }
  }
  return issues;
}

async function tokenizerIssue(
  dir: string,
  pack: string,
  owner: 'captioner' | 'scorer',
  file: string,
): Promise<PackIssue | undefined> {
  const fail = (detail: string) =>
    new ModelPackError('tokenizer-invalid', { pack, file }, `${owner} tokenizer: ${detail}`).toIssue();
  let path: string;
  try {
    path = packPath(dir, file, { pack, file });
  } catch (error) {
    return (error as ModelPackError).toIssue();
  }
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return fail(`file not found: ${path}`);
  }
  if (size === 0) return fail('file is empty (0 bytes)');
  if (await isLfsPointer(path, size))
    return fail('file is a Git-LFS pointer, not the tokenizer: run `git lfs pull`');
  try {
    const json = JSON.parse(await readFile(path, 'utf8')) as { model?: unknown };
    if (typeof json !== 'object' || json === null || !('model' in json))
      return fail('not a tokenizer.json (no "model" section)');
  } catch (error) {
    return fail(`not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return undefined;
}
