/**
 * Model packs: reading the manifest, opening one ONNX session per role (lazily, cached), checking every session
 * against the contracts of DESIGN.md §4 before its first run, and running it by canonical tensor names.
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider, OptionalRole, PackRole, ProviderInfo } from '../../shared/models.ts';
import { OPTIONAL_ROLES, ROLES } from '../../shared/models.ts';
import {
  checkContract,
  contractOf,
  formatShape,
  graphFileOf,
  offeredOptionalRoles,
  optionalGraphFileOf,
  type ValueMetadata,
} from './contracts.ts';
import { ModelPackError } from './errors.ts';
import { modelTurn } from './lanes.ts';
import type { GraphSession } from './graph-thread.ts';
import { checkFile, checkFileQuick, packPath } from './files.ts';
import { ManifestSchema, type GraphFile, type Manifest } from './manifest.ts';
import {
  createSessionWithFallback,
  requestedProviders,
  type ProviderOptions,
  type SessionTuning,
} from './providers.ts';

/** Options of {@link loadModelPack}. */
export interface LoadModelPackOptions extends ProviderOptions, SessionTuning {
  /**
   * Hash every ONNX file against the manifest's SHA-256 before its session opens (default true). Costs a few
   * seconds for a multi-GB SAM encoder, once per session.
   */
  verifyChecksums?: boolean;
}

/** Counters of one session: how often it ran and the milliseconds spent inside `session.run`. */
export interface SessionStats {
  runs: number;
  milliseconds: number;
}

/** Element type and shape of a graph tensor as the session declares it (symbolic dims are strings). */
export interface TensorInfo {
  /** The graph's own name for the tensor. */
  graphName: string;
  dtype: string;
  shape: (number | string)[];
}

/** Feeds or outputs keyed by canonical tensor names (DESIGN.md §4). */
export type TensorMap = Record<string, ort.Tensor>;

/** One role's validated ONNX session. */
export interface ModelSession {
  readonly role: PackRole;
  /** The ONNX file, relative to the pack folder. */
  readonly file: string;
  /** The provider the session runs on. */
  readonly provider: ExecutionProvider;
  readonly providerInfo: ProviderInfo;
  /** Canonical input names of the role's contract, in contract order. */
  readonly inputNames: readonly string[];
  /** Canonical output names of the role's contract, in contract order. */
  readonly outputNames: readonly string[];
  /** Declared dtype and shape of each canonical input and output. */
  readonly inputs: Readonly<Record<string, TensorInfo>>;
  readonly outputs: Readonly<Record<string, TensorInfo>>;
  readonly stats: SessionStats;
  /** Milliseconds the session took to open: file checks, session creation (graph load + optimization), contract check. */
  readonly openMilliseconds: number;
  /**
   * Runs the graph. `feeds` holds every canonical input; `fetch` limits the outputs (default: all of the contract).
   *
   * Integer feeds are converted between int64 and int32 when the graph wants the other one (CLIP text exports
   * differ), so callers may always pass int64. Missing or unknown feeds and feeds whose rank or fixed dims differ
   * from the graph's throw a `ModelPackError` ('feed-invalid') naming the tensor.
   */
  run(feeds: TensorMap, fetch?: readonly string[]): Promise<TensorMap>;
  /** Releases the native session; later runs throw ('disposed'). */
  dispose(): Promise<void>;
}

/** An opened model pack. */
export interface ModelPack {
  /** Absolute folder of the pack. */
  readonly dir: string;
  readonly name: string;
  readonly manifest: Manifest;
  /**
   * The role's session, created on first use and cached (concurrent callers share one creation). An optional graph
   * the pack does not offer rejects with `graph-absent`; ask {@link ModelPack.offers} first.
   */
  session(role: PackRole): Promise<ModelSession>;
  /** Whether the pack has an optional graph (the required roles are always offered). */
  offers(role: PackRole): boolean;
  /** Provider per role, for the roles whose sessions exist so far (in ROLES order). */
  providers(): ProviderInfo[];
  /**
   * The roles whose sessions are open now, with how long each took to open, in the order they opened (what a command
   * held: the lazy stages open a role when first needed).
   */
  openSessions(): { role: PackRole; provider: ExecutionProvider; openMilliseconds: number }[];
  /** Absolute path of a file named in the manifest (tokenizers, …). */
  path(file: string): string;
  /** Releases every session; the pack is unusable afterwards. */
  dispose(): Promise<void>;
}

/**
 * Opens a model pack: reads and validates `manifest.json`, checks that every file is present, non-empty, not a Git-LFS
 * pointer and of the manifest's size. Sessions open lazily per role; each is checksum-verified and checked against
 * its contract before its first run. Throws `ModelPackError`.
 */
export async function loadModelPack(dir: string, options: LoadModelPackOptions = {}): Promise<ModelPack> {
  const folder = resolve(dir);
  const manifest = await readManifest(folder);
  const pack = manifest.name;
  for (const role of [...ROLES, ...offeredOptionalRoles(manifest)]) {
    for (const expected of filesOfRole(manifest, role))
      await checkFileQuick(folder, expected, { pack, role });
  }
  return new Pack(folder, manifest, options);
}

/** Reads and schema-checks `<dir>/manifest.json`; throws `ModelPackError` (manifest-missing / -json / -schema). */
export async function readManifest(dir: string): Promise<Manifest> {
  const issues = await manifestIssues(dir);
  if ('manifest' in issues) return issues.manifest;
  throw issues.errors[0];
}

/** Like {@link readManifest}, but returns every schema issue as its own error. */
export async function manifestIssues(
  dir: string,
): Promise<{ manifest: Manifest } | { errors: ModelPackError[] }> {
  const context = { pack: basename(resolve(dir)), file: 'manifest.json' };
  let text: string;
  try {
    text = await readFile(resolve(dir, 'manifest.json'), 'utf8');
  } catch (error) {
    return {
      errors: [
        new ModelPackError('manifest-missing', context, `no manifest.json in ${resolve(dir)}`, {
          cause: error,
        }),
      ],
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      errors: [new ModelPackError('manifest-json', context, `manifest.json is not valid JSON (${why})`)],
    };
  }
  const parsed = ManifestSchema.safeParse(json);
  if (parsed.success) return { manifest: parsed.data };
  const name =
    typeof (json as { name?: unknown })?.name === 'string' ? (json as { name: string }).name : context.pack;
  return {
    errors: parsed.error.issues.map(
      (issue) =>
        new ModelPackError(
          'manifest-schema',
          { ...context, pack: name },
          `manifest.json fails the schema at ${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`,
        ),
    ),
  };
}

/** The ONNX file of a role plus its external-data side files, as the manifest lists them. */
export function filesOfRole(
  manifest: Manifest,
  role: PackRole,
): { file: string; bytes: number; sha256: string }[] {
  const graph = graphFileOf(manifest, role);
  return [{ file: graph.file, bytes: graph.bytes, sha256: graph.sha256 }, ...(graph.externalData ?? [])];
}

/**
 * Opens one role's session: verifies its files, creates it with provider fallback, checks it against the contract.
 *
 * Shared by the pack and by validation. Throws the first problem as a `ModelPackError`; `violations` callers get all.
 */
export async function openRoleSession(
  dir: string,
  manifest: Manifest,
  role: PackRole,
  options: LoadModelPackOptions,
  knownFailures: Map<ExecutionProvider, string>,
): Promise<{ created: Awaited<ReturnType<typeof createSessionWithFallback>>; errors: ModelPackError[] }> {
  const pack = manifest.name;
  const graph = graphFileOf(manifest, role);
  for (const expected of filesOfRole(manifest, role)) {
    if (options.verifyChecksums === false) await checkFileQuick(dir, expected, { pack, role });
    else await checkFile(dir, expected, { pack, role });
  }
  const path = packPath(dir, graph.file, { pack, role, file: graph.file });
  let created;
  try {
    created = await createSessionWithFallback(
      path,
      requestedProviders(options),
      { ...options, inCallerThread: STEP_ROLES.has(role) },
      knownFailures,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const invalid = /protobuf parsing failed|failed to load model|invalid model|ModelProto/i.test(message);
    throw new ModelPackError(
      invalid ? 'onnx-invalid' : 'session-create',
      { pack, role, file: graph.file },
      invalid
        ? `not a readable ONNX model (${message.trim()})`
        : `onnxruntime could not create the session: ${message.trim()}`,
      { cause: error },
    );
  }
  const errors = contractErrors(
    manifest,
    role,
    graph,
    created.session.inputMetadata,
    created.session.outputMetadata,
  );
  return { created, errors };
}

/**
 * The caption decoders run one token step per call, hundreds per caption: they stay in the caller's thread when the
 * runtime has a graph thread (graph-thread.ts), where a thread hop per step cost more than the step on 2 busy cores
 * (an inspector trace during a run took 2.6 s instead of 0.65 s). A step then holds the caller's thread for about a
 * millisecond on the demo pack, tens of milliseconds with a real captioner on the CPU.
 */
const STEP_ROLES: ReadonlySet<PackRole> = new Set(['captioner.decoder', 'captioner.decoderWithPast']);

/** Every contract violation of a role's graph, located in the pack, plus the decoder's vocabulary check. */
export function contractErrors(
  manifest: Manifest,
  role: PackRole,
  graph: GraphFile,
  inputs: readonly ValueMetadata[],
  outputs: readonly ValueMetadata[],
): ModelPackError[] {
  const contract = contractOf(role, inputs, outputs, graph.names);
  const { violations } = checkContract(contract, inputs, outputs, graph.names);
  const errors = violations.map(
    (v) =>
      new ModelPackError(v.code, { pack: manifest.name, role, file: graph.file, tensor: v.tensor }, v.detail),
  );
  if (role === 'captioner.decoderWithPast') {
    const self = contract.inputs.filter((t) => t.name.startsWith('past_')).length / 2;
    const cross = contract.inputs.filter((t) => t.name.startsWith('cross_')).length / 2;
    if (self === 0 || cross === 0) {
      errors.push(
        new ModelPackError(
          'input-missing',
          { pack: manifest.name, role, file: graph.file, tensor: self === 0 ? 'past_key_0' : 'cross_key_0' },
          `the graph has ${self} past_key_<i>/past_value_<i> and ${cross} cross_key_<j>/cross_value_<j> input pairs; the cached contract needs at least one of each`,
        ),
      );
    }
  }
  if (role === 'captioner.decoderWithPast' && manifest.captioner.crossGrouped === true) {
    // grouped crops feed C crops' cross_* [C,Hx,T,Dx]: a graph that fixes that batch cannot take them
    for (const tensor of contract.inputs.filter((t) => t.name.startsWith('cross_'))) {
      const meta = inputs.find((m) => m.name === (graph.names?.[tensor.name] ?? tensor.name));
      const crops = meta?.isTensor ? meta.shape[0] : undefined;
      if (typeof crops === 'number' && crops >= 0)
        errors.push(
          new ModelPackError(
            'dim-mismatch',
            { pack: manifest.name, role, file: graph.file, tensor: tensor.name },
            `the manifest's captioner.crossGrouped feeds C crops' ${tensor.name} [C,Hx,T,Dx], but the graph fixes that batch at ${crops}; export the decoder with a symbolic crop batch or drop crossGrouped`,
          ),
        );
    }
  }
  if (role === 'captioner.cross' && contract.outputs.length === 0) {
    errors.push(
      new ModelPackError(
        'output-missing',
        { pack: manifest.name, role, file: graph.file, tensor: 'cross_key_0' },
        'the graph has no cross_key_<j>/cross_value_<j> outputs',
      ),
    );
  }
  if (role === 'captioner.decoder' || role === 'captioner.decoderWithPast') {
    const logits = outputs.find((m) => m.name === (graph.names?.logits ?? 'logits'));
    const width = logits?.isTensor ? logits.shape[logits.shape.length - 1] : undefined;
    if (typeof width === 'number' && width >= 0 && width !== manifest.captioner.vocabSize) {
      errors.push(
        new ModelPackError(
          'pack-mismatch',
          { pack: manifest.name, role, file: graph.file, tensor: 'logits' },
          `logits have ${width} classes; the manifest's captioner.vocabSize is ${manifest.captioner.vocabSize}`,
        ),
      );
    }
  }
  return errors;
}

/**
 * Provider load failures are a property of the machine, not of a pack: shared by every pack of the process, so a
 * missing CUDA provider is tried (and onnxruntime prints its loader error) once per process, not once per session.
 */
const processProviderFailures = new Map<ExecutionProvider, string>();

class Pack implements ModelPack {
  readonly name: string;
  private readonly sessions = new Map<PackRole, Promise<Session>>();
  private readonly opened = new Map<PackRole, Session>();
  /** Providers that failed earlier in this process, with the reason (so cuda is not retried for every session). */
  private readonly knownFailures = processProviderFailures;
  private disposed = false;

  constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly options: LoadModelPackOptions,
  ) {
    this.name = manifest.name;
  }

  offers(role: PackRole): boolean {
    return (
      (ROLES as readonly string[]).includes(role) ||
      ((OPTIONAL_ROLES as readonly string[]).includes(role) &&
        optionalGraphFileOf(this.manifest, role as OptionalRole) !== undefined)
    );
  }

  session(role: PackRole): Promise<ModelSession> {
    if (this.disposed)
      return Promise.reject(
        new ModelPackError('disposed', { pack: this.name, role }, 'the pack was disposed'),
      );
    if (!ROLES.includes(role as never) && !OPTIONAL_ROLES.includes(role as never)) {
      return Promise.reject(
        new ModelPackError(
          'feed-invalid',
          { pack: this.name },
          `unknown role "${String(role)}"; roles are ${[...ROLES, ...OPTIONAL_ROLES].join(', ')}`,
        ),
      );
    }
    if (!this.offers(role)) {
      return Promise.reject(
        new ModelPackError(
          'graph-absent',
          { pack: this.name, role },
          `the pack offers no ${role} graph (its manifest lists none)`,
        ),
      );
    }
    let pending = this.sessions.get(role);
    if (!pending) {
      pending = this.open(role);
      this.sessions.set(role, pending);
      // A failed open is not cached: the user may fix the file and try again.
      pending.catch(() => this.sessions.delete(role));
    }
    return pending;
  }

  providers(): ProviderInfo[] {
    return [...ROLES, ...OPTIONAL_ROLES]
      .filter((role) => this.opened.has(role))
      .map((role) => this.opened.get(role)!.providerInfo);
  }

  openSessions(): { role: PackRole; provider: ExecutionProvider; openMilliseconds: number }[] {
    return [...this.opened.values()].map((s) => ({
      role: s.role,
      provider: s.provider,
      openMilliseconds: s.openMilliseconds,
    }));
  }

  path(file: string): string {
    return packPath(this.dir, file, { pack: this.name });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const pending = [...this.sessions.values()];
    this.sessions.clear();
    const results = await Promise.allSettled(pending);
    for (const result of results) if (result.status === 'fulfilled') await result.value.dispose();
    this.opened.clear();
  }

  private async open(role: PackRole): Promise<Session> {
    const started = performance.now();
    const graph = graphFileOf(this.manifest, role);
    const { created, errors } = await openRoleSession(
      this.dir,
      this.manifest,
      role,
      this.options,
      this.knownFailures,
    );
    if (errors.length > 0) {
      await created.session.release();
      throw errors[0];
    }
    if (this.disposed) {
      await created.session.release();
      throw new ModelPackError(
        'disposed',
        { pack: this.name, role },
        'the pack was disposed while the session opened',
      );
    }
    const info: ProviderInfo = {
      role,
      requested: created.requested,
      used: created.used,
      ...(created.fallbackReason ? { fallbackReason: created.fallbackReason } : {}),
    };
    const session = new Session(this.name, role, graph, created.session, info, performance.now() - started);
    this.opened.set(role, session);
    return session;
  }
}

class Session implements ModelSession {
  readonly file: string;
  readonly provider: ExecutionProvider;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputs: Record<string, TensorInfo> = {};
  readonly outputs: Record<string, TensorInfo> = {};
  readonly stats: SessionStats = { runs: 0, milliseconds: 0 };
  private released = false;

  constructor(
    private readonly pack: string,
    readonly role: PackRole,
    graph: GraphFile,
    private readonly session: GraphSession,
    readonly providerInfo: ProviderInfo,
    readonly openMilliseconds: number,
  ) {
    this.file = graph.file;
    this.provider = providerInfo.used;
    const contract = contractOf(role, session.inputMetadata, session.outputMetadata, graph.names);
    this.inputNames = contract.inputs.map((t) => t.name);
    this.outputNames = contract.outputs.map((t) => t.name);
    const describe = (metadata: readonly ValueMetadata[], name: string): TensorInfo => {
      const graphName = graph.names?.[name] ?? name;
      const meta = metadata.find((m) => m.name === graphName)!;
      return {
        graphName,
        dtype: meta.isTensor ? meta.type : 'non-tensor',
        shape: meta.isTensor ? [...meta.shape] : [],
      };
    };
    for (const name of this.inputNames) this.inputs[name] = describe(session.inputMetadata, name);
    for (const name of this.outputNames) this.outputs[name] = describe(session.outputMetadata, name);
  }

  async run(feeds: TensorMap, fetch: readonly string[] = this.outputNames): Promise<TensorMap> {
    const where = { pack: this.pack, role: this.role, file: this.file };
    if (this.released) throw new ModelPackError('disposed', where, 'the session was disposed');
    const graphFeeds: Record<string, ort.Tensor> = {};
    for (const name of Object.keys(feeds)) {
      if (!(name in this.inputs)) {
        throw new ModelPackError(
          'feed-invalid',
          { ...where, tensor: name },
          `unknown feed "${name}"; inputs are ${this.inputNames.join(', ')}`,
        );
      }
    }
    for (const name of this.inputNames) {
      const tensor = feeds[name];
      if (!tensor)
        throw new ModelPackError('feed-invalid', { ...where, tensor: name }, `missing feed "${name}"`);
      const info = this.inputs[name];
      checkFeedShape(tensor, info, { ...where, tensor: name });
      graphFeeds[info.graphName] = adaptIntegerFeed(tensor, info.dtype);
    }
    const fetches = fetch.map((name) => {
      const info = this.outputs[name];
      if (!info)
        throw new ModelPackError(
          'feed-invalid',
          { ...where, tensor: name },
          `unknown output "${name}"; outputs are ${this.outputNames.join(', ')}`,
        );
      return info.graphName;
    });
    // a run's graph call waits here while a user's request is in flight (lanes.ts)
    await modelTurn();
    const start = performance.now();
    const results = await this.session.run(graphFeeds, fetches);
    this.stats.milliseconds += performance.now() - start;
    this.stats.runs += 1;
    const out: TensorMap = {};
    for (const name of fetch) out[name] = results[this.outputs[name].graphName] as ort.Tensor;
    return out;
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

function checkFeedShape(
  tensor: ort.Tensor,
  info: TensorInfo,
  where: { pack: string; role: PackRole; file: string; tensor: string },
): void {
  const isInteger = (t: string) => t === 'int64' || t === 'int32';
  if (tensor.type !== info.dtype && !(isInteger(tensor.type) && isInteger(info.dtype))) {
    throw new ModelPackError(
      'feed-invalid',
      where,
      `feed has dtype ${tensor.type}; the graph wants ${info.dtype}`,
    );
  }
  if (info.shape.length === 0 && tensor.dims.length === 0) return;
  const fixedWrong = info.shape.some(
    (dim, axis) => typeof dim === 'number' && dim >= 0 && tensor.dims[axis] !== dim,
  );
  if (tensor.dims.length !== info.shape.length || fixedWrong) {
    throw new ModelPackError(
      'feed-invalid',
      where,
      `feed has shape ${formatShape(tensor.dims)}; the graph wants ${formatShape(info.shape)}`,
    );
  }
}

/** int64 ↔ int32 conversion of a token feed when the graph wants the other width (ids are < 2^31). */
function adaptIntegerFeed(tensor: ort.Tensor, dtype: string): ort.Tensor {
  if (tensor.type === 'int64' && dtype === 'int32') {
    return new ort.Tensor('int32', Int32Array.from(tensor.data as BigInt64Array, Number), tensor.dims);
  }
  if (tensor.type === 'int32' && dtype === 'int64') {
    return new ort.Tensor(
      'int64',
      BigInt64Array.from(tensor.data as Int32Array, (v) => BigInt(v)),
      tensor.dims,
    );
  }
  return tensor;
}
