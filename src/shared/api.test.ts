import { describe, expect, it } from 'vitest';
import {
  API_EVENTS,
  API_METHODS,
  ApiError,
  REQUEST_SCHEMAS,
  createApiClient,
  mergeSettings,
  parseParams,
  QueueProgressSchema,
  type ApiTransport,
} from './api.ts';
import { parseSettings } from './settings.ts';
import { decodeMessage, encodeMessage, routeEngineMessage, type Waiter } from './wire.ts';

describe('the API contract', () => {
  it('has a schema for every channel and channel names of the form domain:verb', () => {
    const channels = Object.values(API_METHODS);
    expect(new Set(channels).size).toBe(channels.length);
    for (const channel of channels) {
      expect(channel).toMatch(/^[a-z]+:[a-zA-Z]+$/);
      expect(Object.hasOwn(REQUEST_SCHEMAS, channel)).toBe(true);
    }
    expect(Object.keys(REQUEST_SCHEMAS).sort()).toEqual([...channels].sort());
    for (const event of Object.values(API_EVENTS)) expect(event).toMatch(/^[a-z]+:[a-zA-Z]+$/);
  });

  it('gives inspector:attribute an 8×8 grid by default and refuses grids outside 2–16 and negative steps', () => {
    expect(parseParams('inspector:attribute', { candidateId: '1:0:3', step: 2 })).toEqual({
      candidateId: '1:0:3',
      step: 2,
      grid: 8,
    });
    expect(() => parseParams('inspector:attribute', { candidateId: '1:0:3', step: 0, grid: 17 })).toThrow(
      'inspector:attribute: invalid parameters: grid: grid must be 2–16 patches per side',
    );
    expect(() => parseParams('inspector:attribute', { candidateId: '1:0:3', step: -1 })).toThrow(
      'step: step must be ≥ 0',
    );
    expect(() => parseParams('inspector:attribute', { candidateId: '1:0:3', step: 1, token: 2.5 })).toThrow(
      'token: token must be an integer id',
    );
  });

  it('fills defaults and rejects malformed parameters with a message naming the field', () => {
    expect(parseParams('project:openDemo', { dir: '/tmp/demo' })).toEqual({
      dir: '/tmp/demo',
      count: 8,
      seed: 1,
    });
    expect(() => parseParams('project:open', { dir: 'relative/path' })).toThrow(
      'project:open: invalid parameters: dir: the path must be absolute',
    );
    expect(() => parseParams('filter:counts', { tau: 'high' })).toThrow(
      /filter:counts: invalid parameters: tau:/,
    );
    expect(() => parseParams('image:get', { imageId: '../etc/passwd' })).toThrow(
      /imageId: an id holds only letters/,
    );
    expect(() => parseParams('mask:add', { imageId: 'img-1', prompt: { points: [] } })).toThrow(
      /a prompt needs at least one point or a box/,
    );
    expect(() => parseParams('run:status', { extra: 1 })).toThrow(/run:status: invalid parameters/);
  });

  it('takes an export split as one name or as shares by image, and refuses anything else', () => {
    const spec = 'train=0.8,val=0.1,test=0.1';
    expect(parseParams('export:run', { formats: ['cris'], split: spec })).toMatchObject({ split: spec });
    expect(parseParams('export:run', { formats: ['cris'] })).toMatchObject({ split: 'train' });
    expect(() => parseParams('export:run', { formats: ['cris'], split: 'train=0.8;rm -rf' })).toThrow(
      /split is a name such as "train" or shares by image/,
    );
  });

  it('takes the CLI export options where refcoco/cris is chosen, and refuses the combinations the CLI refuses', () => {
    // omitted: no new field appears, so the exporter keeps its defaults
    expect(parseParams('export:run', { formats: ['refcoco'] })).toEqual({
      formats: ['refcoco'],
      split: 'train',
    });
    const full = {
      formats: ['refcoco', 'csv'],
      dataset: 'refcoco',
      splitBy: 'google',
      splitSeed: -3,
      cocoNames: false,
      singleMask: 'cos-top-half',
      appendTo: '/data/exports/refcoco',
    };
    expect(parseParams('export:run', full)).toEqual({ ...full, split: 'train' });
    expect(parseParams('export:run', { formats: ['csv'], singleMask: 'drop' })).toMatchObject({
      singleMask: 'drop',
    });
    const refused: Array<[Record<string, unknown>, string]> = [
      [
        { formats: ['masks', 'csv'], splitBy: 'unc', cocoNames: false },
        'splitBy: only for the refcoco or cris formats, not masks, csv; cocoNames: only for the refcoco or cris formats, not masks, csv',
      ],
      [
        { formats: ['jsonl'], appendTo: '/data/x' },
        'appendTo: only for the refcoco or cris formats, not jsonl',
      ],
      [
        { formats: ['refcoco'], dataset: 'refcoco+', splitBy: 'google' },
        'splitBy: "google" does not exist for refcoco+: use unc',
      ],
      [
        { formats: ['refcoco'], splitBy: 'unc' },
        'splitBy: "unc" does not exist for refcocog: use umd or google',
      ],
      [
        { formats: ['cris'], dataset: 'refclef' },
        'dataset: CRIS has no refclef setup: export refcoco, refcoco+ or refcocog',
      ],
      [
        { formats: ['cris'], dataset: 'refcoco+', split: 'train=0.8,val=0.1,test=0.1' },
        'split: CRIS has no "test" split for refcoco+ (its splits: train, val, testA, testB)',
      ],
      [
        { formats: ['refcoco', 'cris'], appendTo: '/data/x' },
        'appendTo: one export folder takes one format: choose refcoco or cris, not both',
      ],
      [
        { formats: ['refcoco'], dataset: 'coco' },
        'dataset: must be one refer.py accepts: refcoco, refcoco+, refcocog, refclef',
      ],
      [
        { formats: ['refcoco'], singleMask: 'half' },
        'singleMask: must be one of project, keep-all, cos-top-half, drop',
      ],
      [{ formats: ['refcoco'], splitSeed: 0.5 }, 'splitSeed: must be an integer'],
      [{ formats: ['refcoco'], appendTo: 'exports/refcoco' }, 'appendTo: the path must be absolute'],
    ];
    for (const [params, message] of refused)
      expect(() => parseParams('export:run', params)).toThrow(`export:run: invalid parameters: ${message}`);
  });

  it('takes a queued run with a redis:// or rediss:// URL and a plain queue name, and refuses anything else', () => {
    expect(parseParams('run:start', { queue: { url: 'rediss://:pw@redis-host:6380/0' } })).toEqual({
      force: false,
      queue: { url: 'rediss://:pw@redis-host:6380/0', shipImages: false },
    });
    expect(() => parseParams('run:start', { queue: { url: 'http://redis-host:6379/0' } })).toThrow(
      'run:start: invalid parameters: queue.url: the queue URL must be redis://[:password@]host:port/db, or rediss://… for TLS',
    );
    expect(() => parseParams('run:start', { queue: { url: 'redis://h:6379/0', name: 'two words' } })).toThrow(
      'queue.name: a queue name is 1–100 letters, digits, _ . or -',
    );
    expect(() => parseParams('run:start', { queue: { url: 'redis://h:6379/0', port: 1 } })).toThrow(
      'run:start: invalid parameters: queue: Unrecognized key',
    );
  });

  it('validates a queue progress snapshot, naming a bad field', () => {
    const snapshot = {
      url: 'redis://:***@h:6379/0',
      name: 'pseudo-ris',
      stage: 'running',
      total: 4,
      done: 2,
      failed: 1,
      skipped: 1,
      waiting: 1,
      active: { 'gpu-a:7': 1 },
      workers: 1,
      rate: 30,
      etaSeconds: 4,
      coordinator: { pid: 12, host: 'a', since: '2026-01-01T00:00:00.000Z' },
      updated: '2026-01-01T00:00:01.000Z',
    };
    expect(QueueProgressSchema.parse(snapshot)).toEqual(snapshot);
    const bad = QueueProgressSchema.safeParse({ ...snapshot, active: { w: -1 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path).toEqual(['active', 'w']);
  });

  it('refuses a channel outside the contract, including inherited property names', () => {
    for (const channel of ['shell:exec', 'toString', '__proto__']) {
      const error = (() => {
        try {
          parseParams(channel as never, {});
        } catch (caught) {
          return caught as ApiError;
        }
      })();
      expect(error).toBeInstanceOf(ApiError);
      expect(error?.code).toBe('unknown-channel');
    }
  });

  it('merges a settings patch over the current settings and names bad fields', () => {
    const base = parseSettings({});
    const merged = mergeSettings(base, { filter: { tau: 1.5 }, captions: { topK: [5] } });
    expect(merged.filter.tau).toBeCloseTo(1.5);
    expect(merged.filter.singleMask).toBe(base.filter.singleMask);
    expect(merged.captions.topK).toEqual([5]);
    expect(() => mergeSettings(base, { captions: { temperature: -1 } })).toThrow(
      /invalid settings: settings.captions.temperature/,
    );
  });
});

describe('createApiClient', () => {
  it('turns named functions into channel requests and listeners into subscriptions', async () => {
    const sent: [string, unknown][] = [];
    const listeners = new Map<string, (payload: unknown) => void>();
    const transport: ApiTransport = {
      request: async (channel, params) => {
        sent.push([channel, params]);
        return { ok: channel };
      },
      listen: (event, listener) => {
        listeners.set(event, listener);
        return () => listeners.delete(event);
      },
    };
    const api = createApiClient(transport);
    await expect(api.keptCounts({ tau: 1.3 })).resolves.toEqual({ ok: 'filter:counts' });
    await api.runStatus();
    expect(sent).toEqual([
      ['filter:counts', { tau: 1.3 }],
      ['run:status', {}],
    ]);
    const seen: unknown[] = [];
    const unsubscribe = api.onProgress((payload) => seen.push(payload));
    listeners.get('run:progress')?.({ imagesDone: 1 });
    unsubscribe();
    expect(listeners.has('run:progress')).toBe(false);
    expect(seen).toEqual([{ imagesDone: 1 }]);
  });

  it('rejects bad parameters before sending and maps transport errors to ApiError', async () => {
    let calls = 0;
    const api = createApiClient({
      request: async () => {
        calls++;
        throw { code: 'no-project', message: 'no project is open' };
      },
      listen: () => () => {},
    });
    await expect(api.openProject({ dir: 'nope' })).rejects.toThrow('dir: the path must be absolute');
    expect(calls).toBe(0);
    const error = await api.listImages().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('no-project');
  });
});

describe('the wire codec', () => {
  it('round-trips typed arrays, NaN and infinities inside them', () => {
    const dos = new Float64Array([1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.25]);
    const bytes = new Uint8Array([0, 255, 7]);
    const decoded = decodeMessage(
      encodeMessage({
        type: 'response',
        id: 3,
        ok: true,
        result: { dos, bytes, index: new Int32Array([-1, 2]) },
      }),
    ) as {
      result: { dos: Float64Array; bytes: Uint8Array; index: Int32Array };
    };
    expect(decoded.result.dos).toBeInstanceOf(Float64Array);
    expect(Array.from(decoded.result.dos)).toEqual([1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.25]);
    expect(Array.from(decoded.result.bytes)).toEqual([0, 255, 7]);
    expect(Array.from(decoded.result.index)).toEqual([-1, 2]);
  });

  it('refuses unknown typed-array tags', () => {
    expect(() => decodeMessage('{"x":{"$typed":"BigInt64Array","base64":""}}')).toThrow(
      'decodeMessage: unknown typed array BigInt64Array',
    );
    expect(() => decodeMessage('{"x":{"$typed":"Float64Array","base64":"AAA="}}')).toThrow(
      /not a multiple of 8/,
    );
  });

  it('routes responses to their waiters by id and events to the listener', async () => {
    const waiting = new Map<number, Waiter>();
    const first = new Promise((resolve, reject) => waiting.set(1, { resolve, reject }));
    const second = new Promise((resolve, reject) => waiting.set(2, { resolve, reject }));
    const events: unknown[] = [];
    const emit = (event: string, payload: unknown) => events.push([event, payload]);
    const decoded = (message: unknown) => decodeMessage(encodeMessage(message as never));
    routeEngineMessage(
      decoded({ type: 'response', id: 2, ok: false, error: { code: 'busy', message: 'a run is going' } }),
      waiting,
      emit,
    );
    await expect(second).rejects.toThrow('a run is going');
    routeEngineMessage(
      decoded({ type: 'event', event: 'run:progress', payload: { done: 1 } }),
      waiting,
      emit,
    );
    routeEngineMessage({ type: 'response', id: 99, ok: true, result: 'late' }, waiting, emit); // unknown id: ignored
    routeEngineMessage({ not: 'a message' }, waiting, emit);
    routeEngineMessage(decoded({ type: 'response', id: 1, ok: true, result: { n: 3 } }), waiting, emit);
    await expect(first).resolves.toEqual({ n: 3 });
    expect(events).toEqual([['run:progress', { done: 1 }]]);
    expect(waiting.size).toBe(0);
  });
});
