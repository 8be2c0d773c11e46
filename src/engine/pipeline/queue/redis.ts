/**
 * Redis connections of the queue mode: the URL (password, `rediss://` TLS, database number) as ioredis reads it, a
 * reachability check that fails fast with the URL in the message, and the URL with its password masked for logs.
 *
 * ioredis retries a lost connection forever by default, which is right for a long run (a Redis restart must not
 * kill workers) but wrong for the first contact: a typo in the URL would hang. So every entry point first calls
 * {@link checkRedis}, which gives up after one attempt and a bounded time (a listener that never answers, a database
 * index the server refuses), and only then opens the retrying connection BullMQ uses, whose every command has a
 * timeout too.
 */
import { Redis } from 'ioredis';

/** Time {@link checkRedis} gives a first contact (connect + handshake + PING), ms. */
export const CHECK_TIMEOUT_MS = 8000;

/**
 * A command without a reply for this long fails (ms) on the long-lived connections: above BullMQ's own blocking reads
 * (the worker's 5 s, the events' 10 s), so only a Redis that stopped answering trips it.
 */
export const COMMAND_TIMEOUT_MS = 30_000;

/**
 * The URL with its password replaced by `***` (for messages and logs), whatever the password's characters: the
 * credentials are everything between `//` and the last `@` (a host and a database number hold no `@`).
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)(.*)@/is, (_match, scheme: string, credentials: string) => {
    const colon = credentials.indexOf(':');
    // `user:password@` keeps the user; a bare `secret@` is a password (Redis's AUTH without a user)
    return colon >= 0 ? `${scheme}${credentials.slice(0, colon)}:***@` : `${scheme}***@`;
  });
}

/** Checks the URL's form: `redis://` or `rediss://`, a host. Throws a message naming the URL otherwise. */
export function parseRedisUrl(url: string): URL {
  let parsed: URL;
  const credentials = /^[a-z][a-z0-9+.-]*:\/\/(.*)@/is.exec(url)?.[1] ?? '';
  // `/`, `?` or `#` in a password end the URL's authority early: the host would be read from the password
  if (/[/?#]/.test(credentials))
    throw new Error(
      `--queue ${redactUrl(url)}: the password holds a character a URL reserves (/ ? #); percent-encode it (/ is %2F, ? is %3F, # is %23)`,
    );
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(
      `--queue ${redactUrl(url)} is not a URL; expected redis://[:password@]host:port/db or rediss://… for TLS`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new Error(
      `--queue ${redactUrl(url)} must start with redis:// or rediss:// (TLS), not ${parsed.protocol}//`,
    );
  if (!parsed.hostname) throw new Error(`--queue ${redactUrl(url)} has no host`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw new Error(`--queue ${redactUrl(url)}: the path must be a database number (/0 … /15), got /${db}`);
  return parsed;
}

/** Options of {@link checkRedis}. */
export interface CheckRedisOptions {
  /** The whole check's bound (ms, default {@link CHECK_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Gives up at once (SIGINT/SIGTERM during the check). */
  signal?: AbortSignal;
}

/**
 * Connects once (no retries, `timeoutMs` at most for everything) and sends PING, then SELECTs the URL's database:
 * resolves when Redis answers, otherwise throws `cannot reach Redis at <url>: <reason>` (refused, unknown host, wrong
 * password, TLS failure, no answer in time: not a Redis?) or names the database index the server refuses.
 */
export async function checkRedis(url: string, options: CheckRedisOptions = {}): Promise<void> {
  const parsed = parseRedisUrl(url);
  const timeoutMs = options.timeoutMs ?? CHECK_TIMEOUT_MS;
  const db = Number(parsed.pathname.replace(/^\//, '') || 0);
  // the handshake on db 0 (the URL's path dropped; ioredis prefers it to options): ioredis's own SELECT of a
  // refused index only emits an error event and goes on, so the index is SELECTed here, with its answer read
  const client = new Redis(url.replace(/\/\d*$/, ''), {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // the cause (refused, NOAUTH…) arrives as an 'error' event; the promise only says "Connection is closed."
  let cause: unknown = null;
  client.on('error', (error: unknown) => {
    cause ??= error;
  });
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const bounded = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `no answer within ${(timeoutMs / 1000).toFixed(0)} s (is a Redis server listening there, not another service?)`,
          ),
        ),
      timeoutMs,
    );
    onAbort = () => reject(new Error('stopped (signal)'));
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort);
  });
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        await client.ping();
      })(),
      bounded,
    ]);
  } catch (error) {
    const first = cause ?? error;
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${reason(first)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    if (db === 0) client.disconnect();
  }
  try {
    if (db !== 0) await client.select(db);
  } catch (error) {
    throw new Error(
      `--queue ${redactUrl(url)}: Redis refuses database index ${db} (${reason(error)}); use one it has, e.g. /0 (the server's "databases" setting, 16 by default, sets how many)`,
      { cause: error },
    );
  } finally {
    client.disconnect();
  }
}

/**
 * The long-lived connection BullMQ uses: retries forever (a Redis restart pauses the run instead of ending it),
 * `maxRetriesPerRequest: null` as BullMQ requires for its blocking commands, every command bounded by
 * {@link COMMAND_TIMEOUT_MS}. `onError` hears every error (give it a {@link RepeatedWarnings}); `onReady` each
 * (re)connection.
 */
export function openRedis(url: string, onError?: (message: string) => void, onReady?: () => void): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null, commandTimeout: COMMAND_TIMEOUT_MS });
  client.on('error', (error: unknown) => onError?.(`Redis at ${redactUrl(url)}: ${reason(error)}`));
  client.on('ready', () => onReady?.());
  return client;
}

/**
 * Warnings of an outage, once per kind: the first of a kind is said, the repeats counted and said as one line on
 * {@link RepeatedWarnings.flush} (when Redis is back, and at the end). A Redis down for a minute otherwise prints the
 * same error from every connection and every retry.
 */
export class RepeatedWarnings {
  readonly #say: (message: string) => void;
  readonly #repeats = new Map<string, number>();

  constructor(say: (message: string) => void) {
    this.#say = say;
  }

  /** Says `message` if no warning of `kind` was said since the last flush; counts it otherwise. */
  warn(kind: string, message: string): void {
    const seen = this.#repeats.get(kind);
    if (seen === undefined) this.#say(message);
    this.#repeats.set(kind, (seen ?? -1) + 1);
  }

  /** Says how often each kind repeated, and starts over. */
  flush(): void {
    for (const [kind, repeats] of this.#repeats)
      if (repeats > 0) this.#say(`${kind}: that warning repeated ${repeats} more time(s)`);
    this.#repeats.clear();
  }
}

function reason(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const message = e?.message ?? String(error);
  if (/NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(message))
    return `${message} (give the password in the URL: redis://:PASSWORD@host:port/db)`;
  return message;
}
