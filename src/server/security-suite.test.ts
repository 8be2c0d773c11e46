/**
 * The served mode's security suite: regression tests of every hardening case of issue 14 and a seeded fuzz of every
 * request channel and of WebSocket framing (raw TCP on loopback), bounded in count and time. After each group the
 * server must still answer; canary files outside the allowed folder (reached through a farm of symlinks inside it)
 * must be neither read nor written; no response and no log line may hold the token or a canary's content.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestEngine, type TestEngine } from '../engine/testing/engine.ts';
import { writeTestProject } from '../engine/testing/project.ts';
import { REQUEST_CHANNELS } from '../shared/api-names.ts';
import { decodeMessage } from '../shared/wire.ts';
import { startServer, type RunningServer } from './server.ts';
import { tokenCookieName } from './security.ts';
import { mulberry32 } from '../shared/testing/random.ts';
import { closeCode, folderSnapshot, frame } from './testing/attack.ts';

/** The fuzz seed: fixed, so a failure replays; change it to explore. */
const SEED = 0x5eed14;
const CANARY_SEGMENT = '000000000000-000000000010.seg';

let test: TestEngine;
let server: RunningServer;
let allowed: string;
let canaryDir: string;
let canaryText: string;
let canaryBefore: string;
let canaryPng: Buffer;
const seen: string[] = []; // every response body and frame text the suite received
const logged: string[] = []; // every line the process wrote to stdout/stderr meanwhile
const restore: Array<() => void> = [];

beforeAll(async () => {
  test = await startTestEngine('pris-security-');
  allowed = join(test.base, 'allowed');
  canaryDir = join(test.base, 'canary');
  mkdirSync(join(canaryDir, 'deeper'), { recursive: true });
  canaryText = `CANARY-${randomBytes(8).toString('hex')}`;
  writeFileSync(join(canaryDir, 'secret.txt'), `root:x:0:0:${canaryText}\n`);
  writeFileSync(join(canaryDir, 'deeper', 'coco.json'), `{"canary": "${canaryText}"}`);
  // issue 23: an outside PNG (its pixels must not be exported or captioned), a file named like a stale temp (the
  // export's cleanup must not delete it) and a valid project file (a project.json linked here must not open)
  canaryPng = await sharp({
    create: { width: 24, height: 16, channels: 3, background: { r: 1, g: 2, b: 3 } },
  })
    .png()
    .toBuffer();
  writeFileSync(join(canaryDir, 'photo.png'), canaryPng);
  writeFileSync(join(canaryDir, 'victim.4194000.tmp'), canaryText);
  // named like an index segment: a project whose index/ links here must not remove it as stale
  writeFileSync(join(canaryDir, CANARY_SEGMENT), canaryText);
  writeFileSync(
    join(canaryDir, 'deeper', 'project.json'),
    JSON.stringify({
      format: 'pseudo-ris-project',
      version: 1,
      created: '2026-01-01T00:00:00.000Z',
      settings: {},
      images: [],
      versions: { projectName: canaryText },
    }),
  );
  // the symlink farm: links inside the allowed folder that lead out, directly, through chains and via folders
  mkdirSync(join(allowed, 'farm'));
  symlinkSync(canaryDir, join(allowed, 'farm', 'dir'));
  symlinkSync(join(canaryDir, 'secret.txt'), join(allowed, 'farm', 'file.json'));
  symlinkSync(join(allowed, 'farm', 'dir'), join(allowed, 'farm', 'chain'));
  symlinkSync(join(canaryDir, 'deeper'), join(allowed, 'farm', 'masks'));
  canaryBefore = folderSnapshot(canaryDir);
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => (stream.write = write));
  }
  const renderer = join(test.base, 'renderer');
  mkdirSync(renderer);
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>studio</title>');
  server = await startServer({ rendererDir: renderer, engine: test.engine, host: '127.0.0.1', port: 0 });
}, 30_000);

afterAll(async () => {
  restore.forEach((f) => f());
  await server?.close();
  await test?.close();
});

/** A raw HTTP request (no normalisation), resolving with status and body. */
function http(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        seen.push(body);
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The status code of a raw HTTP request (headers exactly as given, duplicates included). */
async function rawStatus(head: string): Promise<number> {
  const socket = connect(server.port, '127.0.0.1');
  let data = '';
  socket.on('data', (chunk) => (data += chunk.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(`${head}\r\n`);
  const deadline = Date.now() + 3000;
  while (!data.includes('\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  socket.destroy();
  await closed;
  seen.push(data.split('\r\n')[0]); // the status line: a page's headers set the token's cookie
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
}

async function expectAlive(): Promise<void> {
  const page = await http(`/?token=${server.token}`);
  expect(page.status).toBe(200);
}

/** A handshaken raw TCP WebSocket connection. */
async function rawSocket(): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  const socket = connect(server.port, '127.0.0.1');
  let data = Buffer.alloc(0);
  socket.on('data', (chunk) => (data = Buffer.concat([data, chunk])));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(
    `GET /api?token=${server.token} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n` +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const deadline = Date.now() + 3000;
  while (!data.includes('\r\n\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(data.toString('latin1').split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
  const headerEnd = data.indexOf('\r\n\r\n') + 4;
  return { socket, received: () => data.subarray(headerEnd), closed };
}

/** Sends bytes on a fresh connection; resolves with the close code the server sent (or null) once it closed. */
async function closeCodeAfter(bytes: Buffer): Promise<number | null> {
  const { socket, received, closed } = await rawSocket();
  socket.write(bytes);
  await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
  socket.destroy();
  const out = received();
  seen.push(out.toString('latin1'));
  return closeCode(out);
}

describe('the served mode under attack', () => {
  it('survives malformed WebSocket frames, each refused with its close code', async () => {
    const text = (s: string) => Buffer.from(s, 'utf8');
    const cases: Array<[string, Buffer, number[]]> = [
      [
        'a message over maxPayload, refused from its header',
        frame(1, Buffer.alloc(0), { declared: 17n * 1024n * 1024n }),
        [1009],
      ],
      ['a 2^63 declared length', frame(1, Buffer.alloc(0), { declared: 1n << 63n }), [1009, 1002]],
      ['invalid UTF-8', frame(1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), [1007]],
      ['an unmasked client frame', frame(1, text('{}'), { masked: false }), [1002]],
      ['a reserved opcode', frame(3, text('{}')), [1002]],
      ['RSV1 without an extension', frame(1, text('{}'), { rsv: 4 }), [1002]],
      ['a 126-byte ping', frame(9, Buffer.alloc(126)), [1002]],
      ['a fragmented ping', frame(9, text('x'), { fin: false }), [1002]],
      ['a continuation with nothing to continue', frame(0, text('x')), [1002]],
      ['a close frame with an invalid code', frame(8, Buffer.from([0x03, 0xe7])), [1002]],
      [
        'invalid UTF-8 split over fragments',
        Buffer.concat([frame(1, Buffer.from([0xe2, 0x82]), { fin: false }), frame(0, Buffer.from([0x28]))]),
        [1007],
      ],
    ];
    for (const [name, bytes, codes] of cases) {
      const code = await closeCodeAfter(bytes);
      expect(codes, name).toContain(code);
    }
    await expectAlive();
  }, 30_000);

  it('survives seeded random frames', async () => {
    const random = mulberry32(SEED);
    for (let n = 0; n < 40; n++) {
      const length = Math.floor(random() * 64);
      const bytes = Buffer.from(Array.from({ length: 2 + length }, () => Math.floor(random() * 256)));
      // half of them start like a plausible frame header, to get past the first checks
      if (random() < 0.5) bytes[0] = 0x80 | [0, 1, 2, 8, 9, 10][Math.floor(random() * 6)];
      const { socket, closed } = await rawSocket();
      socket.write(bytes);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 50))]);
      socket.destroy();
    }
    await expectAlive();
  }, 30_000);

  it('answers a malformed %-escape in the cookie or the URL with 4xx, over HTTP and on upgrade', async () => {
    const bad = { Cookie: `${tokenCookieName(server.port)}=%E0%A4%A; other=%` };
    expect((await http('/', bad)).status).toBe(401);
    expect((await http(`/?token=${server.token}`, bad)).status).toBe(200);
    expect((await http(`/%E0%A4%A?token=${server.token}`)).status).toBe(400);
    expect((await http(`/%?token=${server.token}`)).status).toBe(400);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api`, { headers: bad });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => resolve(-1));
    });
    expect(refused).toBe(401);
    await expectAlive();
  });

  it('refuses a Host given twice, or naming another port, with 400, over HTTP and on upgrade', async () => {
    const ok = `Host: 127.0.0.1:${server.port}\r\n`;
    const upgrade =
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Version: 13\r\n';
    const page = `GET /?token=${server.token} HTTP/1.1\r\n`;
    const api = `GET /api?token=${server.token} HTTP/1.1\r\n`;
    expect(await rawStatus(`${page}${ok}`)).toBe(200);
    expect(await rawStatus(`${api}${ok}${upgrade}`)).toBe(101);
    for (const hosts of [
      `${ok}Host: evil.com\r\n`,
      `Host: evil.com\r\n${ok}`,
      `${ok}host: 127.0.0.1:${server.port}\r\n`,
      `Host: 127.0.0.1:${server.port === 1 ? 2 : 1}\r\n`,
      'Host: localhost\r\n',
    ]) {
      expect(await rawStatus(`${page}${hosts}`), hosts).toBe(400);
      expect(await rawStatus(`${api}${hosts}${upgrade}`), hosts).toBe(400);
    }
    await expectAlive();
  });

  describe('over the API', () => {
    let ws: WebSocket;
    let nextId = 1;
    const ask = (channel: string, params: unknown, timeout = 8000) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          ws.off('message', on);
          ws.send(JSON.stringify({ type: 'cancel', id }));
          resolve({ timedOut: true });
        }, timeout);
        const on = (data: WebSocket.RawData) => {
          const text = data.toString();
          seen.push(text);
          const message = decodeMessage(text) as Record<string, unknown>;
          if (message.type !== 'response' || message.id !== id) return;
          clearTimeout(timer);
          ws.off('message', on);
          resolve(message);
        };
        ws.on('message', on);
        ws.send(JSON.stringify({ type: 'request', id, channel, params }));
      });

    beforeAll(async () => {
      ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
      ws.on('message', (data) => seen.push(data.toString()));
      await new Promise((resolve) => ws.once('open', resolve));
    });
    afterAll(() => ws.close());

    it('fuzzes every request channel with seeded payloads and path tricks, and stays up', async () => {
      const random = mulberry32(SEED + 1);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
      const paths = [
        join(canaryDir, 'secret.txt'),
        join(allowed, 'farm', 'file.json'),
        join(allowed, 'farm', 'dir'),
        join(allowed, 'farm', 'chain', 'secret.txt'),
        join(allowed, 'farm', 'masks'),
        join(allowed, '..', 'canary'),
        `${allowed}/../canary/secret.txt`,
        '/etc/passwd',
        'relative/path',
        '%2e%2e/%2e%2e/etc',
        `${allowed}\0/x`,
        '\\\\server\\share',
        '',
      ];
      const keys = [
        'dir',
        'folder',
        'path',
        'dest',
        'settings',
        'masks',
        'importPath',
        'imageId',
        'maskId',
        'candidateId',
        'formats',
        'tau',
        'count',
        'seed',
        'name',
        'preset',
        'force',
        'imageIds',
        'overrides',
      ];
      const value = (depth: number): unknown => {
        const r = random();
        if (r < 0.15) return pick(paths);
        if (r < 0.25) return pick([null, true, false, 0, -1, 1e308, -0.5, 2 ** 53, Number.MAX_SAFE_INTEGER]);
        if (r < 0.35)
          return pick(['x'.repeat(5000), '__proto__', 'constructor', '1:0', 'jsonl', 'refcoco', '💥']);
        if (r < 0.45 && depth > 0)
          return Array.from({ length: Math.floor(random() * 4) }, () => value(depth - 1));
        if (depth > 0) {
          const object: Record<string, unknown> = {};
          for (let k = Math.floor(random() * 4); k > 0; k--) object[pick(keys)] = value(depth - 1);
          return object;
        }
        return pick(paths);
      };
      const started = Date.now();
      let requests = 0;
      for (const channel of REQUEST_CHANNELS) {
        if (channel === 'run:start' || channel === 'run:resume') continue; // no project is open: refused anyway
        for (let n = 0; n < 12; n++) {
          const reply = await ask(channel, value(3), 5000);
          requests++;
          expect(reply.timedOut, `${channel} answered`).toBeUndefined();
        }
      }
      // protocol-level garbage on the same socket
      for (const junk of [
        '',
        'null',
        '[]',
        '{"type":"request"}',
        '{"type":"request","id":1.5}',
        '{',
        '\u0000',
      ]) {
        ws.send(junk);
        requests++;
      }
      expect(requests).toBeGreaterThan(400);
      expect(Date.now() - started).toBeLessThan(40_000);
      await expectAlive();
    }, 60_000);

    it('refuses a mask import path outside the allowed folders, and one through a symlink, without reading it', async () => {
      const created = await ask('project:create', { dir: join(allowed, 'project') }, 20_000);
      expect(created.ok).toBe(true);
      for (const importPath of [
        join(canaryDir, 'secret.txt'),
        join(allowed, 'farm', 'file.json'),
        join(allowed, 'farm', 'masks', 'coco.json'),
      ]) {
        const reply = await ask('settings:set', { settings: { masks: { source: 'imported', importPath } } });
        expect(reply.ok).toBe(false);
        expect(reply.error).toMatchObject({ code: 'forbidden' });
        expect((reply.error as { message: string }).message).toContain(
          'mask import path (masks.importPath) is outside the allowed folders',
        );
      }
      await expectAlive();
    }, 30_000);

    it('refuses an export whose format sub-folder is a symlink out, writing nothing there', async () => {
      mkdirSync(join(allowed, 'exports'));
      symlinkSync(canaryDir, join(allowed, 'exports', 'jsonl'));
      const reply = await ask('export:run', { formats: ['jsonl'], dest: join(allowed, 'exports') });
      expect(reply.ok).toBe(false);
      expect(reply.error).toMatchObject({ code: 'forbidden' });
      await expectAlive();
    });

    /** Resolves with the next `run:finished` event's payload. */
    const runFinished = (timeout = 90_000) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no run:finished')), timeout);
        const on = (data: WebSocket.RawData) => {
          const message = decodeMessage(data.toString()) as Record<string, unknown>;
          if (message.type !== 'event' || message.event !== 'run:finished') return;
          clearTimeout(timer);
          ws.off('message', on);
          resolve(message.payload as Record<string, unknown>);
        };
        ws.on('message', on);
      });

    /** Every file below `dir` (links not followed) with its bytes. */
    const filesBelow = (dir: string): Array<[string, Buffer]> =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => [join(e.parentPath, e.name), readFileSync(join(e.parentPath, e.name))]);

    it('refuses to export an image whose path in results.jsonl leads outside, copying nothing of it', async () => {
      const { project } = await writeTestProject(join(allowed, 'hostile-results'));
      const results = join(project, 'results.jsonl');
      const lines = readFileSync(results, 'utf8').trimEnd().split('\n');
      writeFileSync(
        results,
        `${lines
          .map((line) => {
            const record = JSON.parse(line) as { image: { id: number; path: string } };
            if (record.image.id === 1) record.image.path = join(canaryDir, 'photo.png');
            return JSON.stringify(record);
          })
          .join('\n')}\n`,
      );
      expect((await ask('project:open', { dir: project }, 20_000)).ok).toBe(true);
      const dest = join(allowed, 'hostile-results', 'exports');
      for (const formats of [['refcoco'], ['cris']]) {
        const reply = await ask('export:run', { formats, dest }, 20_000);
        expect(reply.ok, formats[0]).toBe(false);
        expect(reply.error).toMatchObject({ code: 'forbidden' });
        expect((reply.error as { message: string }).message).toContain('outside the allowed folders');
      }
      // a refused export leaves nothing behind (not even its folder); whatever exists holds none of the canary's bytes
      for (const [path, bytes] of existsSync(dest) ? filesBelow(dest) : [])
        expect(bytes.equals(canaryPng), path).toBe(false);
      await expectAlive();
    }, 60_000);

    it('refuses to run on listed images swapped for links out, quoting nothing of them', async () => {
      const folder = join(allowed, 'hostile-images', 'x');
      mkdirSync(folder, { recursive: true });
      for (const [name, colour] of [
        ['evil.png', 40],
        ['ok.png', 120],
        ['outside.png', 200],
      ] as const)
        await sharp({
          create: { width: 32, height: 32, channels: 3, background: { r: colour, g: 90, b: 30 } },
        })
          .png()
          .toFile(join(folder, name));
      const created = await ask(
        'project:create',
        { dir: join(allowed, 'hostile-images', 'project'), images: folder },
        20_000,
      );
      expect(created.ok).toBe(true);
      // swapped after the project listed them: a link to a text file and one to a PNG, both outside
      for (const [name, target] of [
        ['evil.png', join(canaryDir, 'secret.txt')],
        ['outside.png', join(canaryDir, 'photo.png')],
      ]) {
        rmSync(join(folder, name));
        symlinkSync(target, join(folder, name));
      }
      const finished = runFinished();
      expect((await ask('run:start', {}, 20_000)).ok).toBe(true);
      await finished;
      const images = (
        (await ask('project:images', {})).result as {
          images: Array<{
            file: string;
            status: string;
            width: number | null;
            error: { message: string } | null;
          }>;
        }
      ).images;
      const byName = new Map(images.map((image) => [image.file, image]));
      expect(byName.get('ok.png')?.status).toBe('done');
      for (const name of ['evil.png', 'outside.png']) {
        const image = byName.get(name)!;
        expect([image.status, image.width], name).toEqual(['error', null]);
        expect(image.error?.message, name).toBe(
          `image ${join(folder, name)}: is outside the allowed folders (not read)`,
        );
      }
      expect(JSON.stringify(images)).not.toContain('root:x:0');
      await expectAlive();
    }, 120_000);

    it('refuses a project whose own files are links out, reading nothing of them', async () => {
      for (const name of ['project.json', 'results.jsonl', 'review.json', 'queue-progress.json']) {
        const target = join(canaryDir, ...(name === 'project.json' ? ['deeper', name] : ['secret.txt']));
        const { project } = await writeTestProject(join(allowed, `hostile-${name}`));
        rmSync(join(project, name), { force: true });
        symlinkSync(target, join(project, name));
        const reply = await ask('project:open', { dir: project });
        expect(reply.ok, name).toBe(false);
        expect(reply.error, name).toMatchObject({
          code: 'forbidden',
          message: `${name} of the project is outside the project folder: ${join(project, name)}`,
        });
      }
      await expectAlive();
    });

    it('leaves an index folder planted as a link out alone: nothing there read, written or removed', async () => {
      const { project } = await writeTestProject(join(allowed, 'hostile-index'));
      symlinkSync(canaryDir, join(project, 'index'));
      expect((await ask('project:open', { dir: project }, 20_000)).ok).toBe(true);
      expect((await ask('project:images', {})).ok).toBe(true);
      expect(readdirSync(canaryDir)).toContain(CANARY_SEGMENT);
      await expectAlive();
    });

    it('writes nothing outside while the export folders trade places with links out for 4 s (≥ 200 swaps)', async () => {
      const { project } = await writeTestProject(join(allowed, 'race'));
      expect((await ask('project:open', { dir: project }, 20_000)).ok).toBe(true);
      const dest = join(allowed, 'race', 'exports');
      expect((await ask('export:run', { formats: ['jsonl', 'masks'], dest }, 20_000)).ok).toBe(true);
      for (const format of ['jsonl', 'masks']) symlinkSync(canaryDir, join(dest, `${format}.swap`));
      // renameat2(RENAME_EXCHANGE): each format folder and a link out trade places atomically, as fast as a loop
      // with a 0.5 ms pause goes, for 4 s (thousands of swaps: the check-then-use windows of a path-based writer are
      // microseconds wide)
      const swapper = spawn('python3', [
        '-c',
        [
          'import ctypes, os, sys, time',
          'libc = ctypes.CDLL(None, use_errno=True)',
          'pairs = [(os.path.join(sys.argv[1], f), os.path.join(sys.argv[1], f + ".swap")) for f in ("jsonl", "masks")]',
          'swaps, end = 0, time.time() + 4',
          'while time.time() < end:',
          '    for a, b in pairs:',
          // ENOENT: an overwriting export has just moved its old folder aside to put the new one in place
          '        if libc.renameat2(-100, a.encode(), -100, b.encode(), 2) != 0 and ctypes.get_errno() != 2: sys.exit(ctypes.get_errno())',
          '    swaps += 1',
          '    time.sleep(0.0005)',
          'for a, b in pairs:',
          '    if os.path.islink(a): libc.renameat2(-100, a.encode(), -100, b.encode(), 2)',
          'print(swaps)',
        ].join('\n'),
        dest,
      ]);
      let swapped = '';
      swapper.stdout.on('data', (chunk: Buffer) => (swapped += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => swapper.once('exit', (code) => resolve(code)));
      let running = true;
      void exited.then(() => (running = false));
      let exports = 0;
      let refused = 0;
      const otherErrors: unknown[] = [];
      while (running) {
        const reply = await ask('export:run', { formats: ['jsonl', 'masks'], dest, overwrite: true }, 10_000);
        expect(reply.timedOut).toBeUndefined();
        if (!reply.ok && (reply.error as { code: string }).code === 'forbidden') refused++;
        else if (!reply.ok) otherErrors.push(reply.error);
        exports++;
      }
      console.info(
        `security-suite: ${exports} exports (${refused} refused) during ${swapped.trim()} swaps`,
        JSON.stringify(otherErrors),
      );
      expect(await exited).toBe(0);
      expect(Number(swapped)).toBeGreaterThanOrEqual(200);
      expect(exports).toBeGreaterThan(5);
      expect(folderSnapshot(canaryDir)).toBe(canaryBefore);
      // a swap is refused as such, never met half-way (a temp file renamed out of a folder that moved)
      expect(otherErrors).toEqual([]);
      await expectAlive();
    }, 60_000);

    it('appends to no export whose record is a link out, quoting nothing of it', async () => {
      const appendTo = join(allowed, 'append-to');
      mkdirSync(appendTo);
      symlinkSync(join(canaryDir, 'secret.txt'), join(appendTo, 'export-record.json'));
      const reply = await ask('export:run', { formats: ['refcoco'], appendTo }, 20_000);
      expect(reply.ok).toBe(false);
      expect((reply.error as { message: string }).message).toBe(
        `cannot append to ${appendTo}: it has no export-record.json (not a Pseudo-RIS Studio export)`,
      );
      expect(readdirSync(appendTo)).toEqual(['export-record.json']);
      await expectAlive();
    });

    it('left every canary unread and unwritten, and no response or log line holds the token or a canary', () => {
      expect(folderSnapshot(canaryDir)).toBe(canaryBefore);
      const everything = [...seen, ...logged].join('\n');
      expect(everything).not.toContain(canaryText);
      expect(everything).not.toContain('root:x:0:0');
      expect(everything).not.toContain(server.token);
      expect(logged.join('')).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/); // no stack trace for a client's mistake
    });
  });
});
