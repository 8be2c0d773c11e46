/**
 * Redis for the queue tests: the server `.ci/run` starts (`PSEUDO_RIS_TEST_REDIS_URL`), or a private
 * `redis-server` on a free loopback port when the binary exists. Not used outside tests and the bench.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRedis } from '../pipeline/queue/redis.ts';

/** A Redis the tests may use, and how to stop it (a no-op for the CI's). */
export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Whether `redis-server` can be started here. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A free loopback TCP port (listened on and closed at once: nothing holds it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePromise(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * The CI's Redis when `PSEUDO_RIS_TEST_REDIS_URL` is set (and no password is asked for), else a private server;
 * null when neither exists (the caller skips, saying why).
 */
export async function testRedis(options: { password?: string } = {}): Promise<TestRedis | null> {
  const shared = process.env.PSEUDO_RIS_TEST_REDIS_URL;
  if (shared && !options.password) {
    return { url: shared, port: Number(new URL(shared).port || 6379), stop: async () => {} };
  }
  if (!hasRedisServer()) return null;
  return startRedisServer(options.password);
}

/**
 * Starts a private `redis-server` on a free loopback port (no persistence), optionally with a password, or TLS only
 * with a fresh self-signed certificate for 127.0.0.1 (`certificate` in the result: trust it with
 * NODE_EXTRA_CA_CERTS).
 */
export async function startRedisServer(
  password?: string,
  options: { tls?: boolean } = {},
): Promise<TestRedis & { certificate?: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-redis-'));
  const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  let certificate: string | undefined;
  if (options.tls) {
    certificate = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const subject = ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'];
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        certificate,
        '-days',
        '1',
        ...subject,
      ],
      { stdio: 'ignore' },
    );
    if (made.status !== 0) throw new Error('openssl could not make a test certificate');
    args.push(
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      certificate,
      '--tls-key-file',
      key,
    );
    args.push('--tls-auth-clients', 'no');
  } else args.push('--port', String(port));
  if (password) args.push('--requirepass', password);
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  const scheme = options.tls ? 'rediss' : 'redis';
  const url = `${scheme}://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${port}/0`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      // this process does not trust a TLS server's certificate: wait for its port only
      if (options.tls) await tcpOpen(port);
      else await checkRedis(url, { timeoutMs: 1000 });
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw error;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    port,
    certificate,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function tcpOpen(port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolvePromise();
    });
    socket.once('error', reject);
  });
}
