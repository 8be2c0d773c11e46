/**
 * Redis connections of the queue mode: the URL (password, `rediss://` TLS, database number) as ioredis reads it, a
 * reachability check that fails fast with the URL in the message, and the URL with its password masked for logs.
 *
 * ioredis retries a lost connection forever by default, which is right for a long run (a Redis restart must not
 * kill workers) but wrong for the first contact: a typo in the URL would hang. So every entry point first calls
 * {@link checkRedis}, which gives up after one attempt, and only then opens the retrying connection BullMQ uses.
 */
import { Redis } from 'ioredis';

/** The URL with its password replaced by `***` (for messages and logs). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^@/]*)@/, '//***@');
  }
}

/** Checks the URL's form: `redis://` or `rediss://`, a host. Throws a message naming the URL otherwise. */
export function parseRedisUrl(url: string): URL {
  let parsed: URL;
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

/**
 * Connects once (no retries, `timeoutMs` at most) and sends PING: resolves when Redis answers, otherwise throws
 * `cannot reach Redis at <url>: <reason>` (refused, unknown host, wrong password, TLS failure…).
 */
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  parseRedisUrl(url);
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // the cause (refused, NOAUTH…) arrives as an 'error' event; the promise only says "Connection is closed."
  let cause: unknown = null;
  client.on('error', (error: unknown) => {
    cause ??= error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    const first = cause ?? error;
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${reason(first)}`, { cause: error });
  } finally {
    client.disconnect();
  }
}

/**
 * The long-lived connection BullMQ uses: retries forever (a Redis restart pauses the run instead of ending it),
 * `maxRetriesPerRequest: null` as BullMQ requires for its blocking commands.
 */
export function openRedis(url: string, onError?: (message: string) => void): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  let last = '';
  client.on('error', (error: unknown) => {
    // a Redis outage repeats the same error on every retry: report each distinct one once
    const message = `Redis at ${redactUrl(url)}: ${reason(error)}`;
    if (message !== last) onError?.(message);
    last = message;
  });
  client.on('ready', () => {
    last = '';
  });
  return client;
}

function reason(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const message = e?.message ?? String(error);
  if (/NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(message))
    return `${message} (give the password in the URL: redis://:PASSWORD@host:port/db)`;
  return message;
}
