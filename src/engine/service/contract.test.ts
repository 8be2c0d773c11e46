// The API contract is implemented by every adapter: the engine facade (a handler per channel, typed), the preload
// and the client factory (a named function per channel), the server and main (which forward REQUEST_CHANNELS).
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  API_EVENTS,
  API_METHODS,
  createApiClient,
  REQUEST_CHANNELS,
  type REQUEST_SCHEMAS,
  type Api,
  type ApiHandlers,
  type RequestChannel,
} from '../../shared/api.ts';
import { createEngineService } from './index.ts';

describe('the API contract is fully implemented', () => {
  it('the facade has exactly the contract type (a missing or mistyped handler fails type-checking)', () => {
    const handlers = createEngineService({
      mode: 'served',
      version: 't',
      packDirs: [],
      allowedRoots: [],
      defaultProjectDir: '/tmp',
    });
    expectTypeOf(handlers).toEqualTypeOf<ApiHandlers>();
    expectTypeOf<keyof ApiHandlers>().toEqualTypeOf<RequestChannel>();
    expectTypeOf<keyof typeof REQUEST_SCHEMAS>().toEqualTypeOf<RequestChannel>();
    expect(Object.keys(handlers).sort()).toEqual([...REQUEST_CHANNELS].sort());
    for (const channel of REQUEST_CHANNELS) expect(typeof handlers[channel]).toBe('function');
  });

  it('the client factory builds the whole named API', () => {
    const api = createApiClient({ request: async () => null, listen: () => () => {} });
    expectTypeOf(api).toEqualTypeOf<Api>();
    expectTypeOf<keyof Api>().toEqualTypeOf<keyof typeof API_METHODS | keyof typeof API_EVENTS>();
    expect(Object.keys(api).sort()).toEqual([...Object.keys(API_METHODS), ...Object.keys(API_EVENTS)].sort());
  });
});
