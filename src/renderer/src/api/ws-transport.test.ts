import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket, WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { decodeMessage, encodeMessage, type RequestMessage } from '../../../shared/wire.ts';
import { createWebSocketTransport, type ConnectionState } from './ws-transport.ts';

// A real WebSocket server speaking the shared wire protocol; each test decides how it answers.
let wss: WebSocketServer | null = null;

async function listen(
  onRequest: (message: RequestMessage, socket: ServerSocket) => void,
  options: { refuse?: boolean } = {},
): Promise<string> {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (socket) => {
    if (options.refuse) {
      socket.close(4401, 'wrong token');
      return;
    }
    socket.on('message', (data) => onRequest(decodeMessage(String(data)) as RequestMessage, socket));
  });
  await new Promise<void>((resolve) => wss!.on('listening', () => resolve()));
  return `ws://127.0.0.1:${(wss.address() as { port: number }).port}/api`;
}

afterEach(async () => {
  for (const client of wss?.clients ?? []) client.terminate();
  await new Promise((resolve) => wss?.close(resolve) ?? resolve(undefined));
  wss = null;
});

const Socket = NodeWebSocket as unknown as typeof WebSocket;

describe('the served-mode WebSocket transport', () => {
  it('matches responses to requests by id and revives typed arrays', async () => {
    const url = await listen((message, socket) => {
      // Answer out of order: the second request first.
      const result =
        message.channel === 'filter:scores'
          ? { dos: new Float64Array([1.5, Number.NaN]) }
          : { echo: message.params };
      setTimeout(
        () => socket.send(encodeMessage({ type: 'response', id: message.id, ok: true, result })),
        message.id === 1 ? 30 : 0,
      );
    });
    const transport = createWebSocketTransport({ url, WebSocket: Socket });
    const [first, second] = await Promise.all([
      transport.request('app:info', { a: 1 }),
      transport.request('filter:scores', {}),
    ]);
    expect(first).toEqual({ echo: { a: 1 } });
    const dos = (second as { dos: Float64Array }).dos;
    expect(dos).toBeInstanceOf(Float64Array);
    expect(dos[0]).toBeCloseTo(1.5);
    expect(Number.isNaN(dos[1])).toBe(true);
    transport.close();
  });

  it('rejects with the engine error code and message', async () => {
    const url = await listen((message, socket) =>
      socket.send(
        encodeMessage({
          type: 'response',
          id: message.id,
          ok: false,
          error: { code: 'no-project', message: 'open a project first' },
        }),
      ),
    );
    const transport = createWebSocketTransport({ url, WebSocket: Socket });
    await expect(transport.request('project:images', {})).rejects.toMatchObject({
      code: 'no-project',
      message: 'open a project first',
    });
    transport.close();
  });

  it('delivers events to listeners until they unsubscribe', async () => {
    let push: (() => void) | null = null;
    const url = await listen((message, socket) => {
      push = () =>
        socket.send(encodeMessage({ type: 'event', event: 'run:progress', payload: { imagesDone: 2 } }));
      socket.send(encodeMessage({ type: 'response', id: message.id, ok: true, result: null }));
    });
    const transport = createWebSocketTransport({ url, WebSocket: Socket });
    const seen: unknown[] = [];
    const unsubscribe = transport.listen('run:progress', (payload) => seen.push(payload));
    await transport.request('run:status', {});
    push!();
    await new Promise((resolve) => setTimeout(resolve, 50));
    unsubscribe();
    push!();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([{ imagesDone: 2 }]);
    transport.close();
  });

  it('reconnects after the connection drops and rejects only the request that was in flight', async () => {
    let connections = 0;
    const url = await listen((message, socket) => {
      if (message.channel === 'run:start') socket.terminate();
      else socket.send(encodeMessage({ type: 'response', id: message.id, ok: true, result: 'ok' }));
    });
    wss!.on('connection', () => connections++);
    const states: ConnectionState[] = [];
    const transport = createWebSocketTransport({
      url,
      WebSocket: Socket,
      maxBackoffMs: 50,
      onState: (state) => states.push(state),
    });
    await expect(transport.request('run:start', {})).rejects.toThrow(
      'run:start: the connection to the engine closed before it answered',
    );
    await expect(transport.request('run:status', {})).resolves.toBe('ok');
    expect(connections).toBe(2);
    expect(states).toContain('closed');
    expect(states.at(-1)).toBe('open');
    transport.close();
  });

  it('stops reconnecting when the server refuses the token', async () => {
    const url = await listen(() => {}, { refuse: true });
    const states: { state: ConnectionState; detail?: string }[] = [];
    const transport = createWebSocketTransport({
      url,
      WebSocket: Socket,
      maxBackoffMs: 20,
      onState: (state, detail) => states.push({ state, detail }),
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(states.filter((s) => s.state === 'connecting')).toHaveLength(1);
    expect(states.at(-1)).toEqual({ state: 'closed', detail: 'wrong token' });
    transport.close();
  });
});
