import { describe, expect, it } from 'vitest';
import {
  contentSecurityPolicy,
  createToken,
  hostAllowed,
  hostProblem,
  isAuthorized,
  isLoopbackHost,
  originAllowed,
  tokenCookieName,
  tokenMatches,
} from './security.ts';

describe('served-mode security checks', () => {
  it('makes 256-bit URL-safe tokens, different each time', () => {
    const a = createToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createToken()).not.toBe(a);
  });

  it('compares tokens exactly, whatever the length of the guess', () => {
    const token = createToken();
    expect(tokenMatches(token, token)).toBe(true);
    expect(tokenMatches(token, `${token}x`)).toBe(false);
    expect(tokenMatches(token, token.slice(0, -1))).toBe(false);
    expect(tokenMatches(token, '')).toBe(false);
    expect(tokenMatches(token, undefined)).toBe(false);
    expect(tokenMatches(token, 'x'.repeat(5000))).toBe(false);
  });

  it("accepts the token from the query, a bearer header or this port's cookie only", () => {
    const token = createToken();
    const url = (query = '') => new URL(`http://127.0.0.1:9/${query}`);
    expect(isAuthorized(token, url(`?token=${token}`), {})).toBe(true);
    expect(isAuthorized(token, url(), { authorization: `Bearer ${token}` })).toBe(true);
    expect(
      isAuthorized(token, url(), { cookie: `a=1; ${tokenCookieName(9)}=${token}` }, tokenCookieName(9)),
    ).toBe(true);
    expect(
      isAuthorized(token, url(), { cookie: `${tokenCookieName(10)}=${token}` }, tokenCookieName(9)),
    ).toBe(false);
    expect(isAuthorized(token, url('?token=wrong'), {})).toBe(false);
    expect(isAuthorized(token, url(), {})).toBe(false);
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '192.168.1.5', '::', 'example.com'])
      expect(isLoopbackHost(host), host).toBe(false);
  });

  it('accepts only loopback Host headers on a loopback server (DNS rebinding)', () => {
    expect(hostAllowed('127.0.0.1', 8765, '127.0.0.1:8765')).toBe(true);
    expect(hostAllowed('127.0.0.1', 8765, 'localhost:8765')).toBe(true);
    expect(hostAllowed('127.0.0.1', 8765, 'attacker.example:8765')).toBe(false);
    expect(hostAllowed('127.0.0.1', 8765, '127.0.0.1:9999')).toBe(false);
    expect(hostAllowed('127.0.0.1', 8765, undefined)).toBe(false);
    expect(hostAllowed('0.0.0.0', 8765, 'workstation.lan:8765')).toBe(true);
  });

  it('finds a Host given twice, or naming another port, from the raw headers', () => {
    expect(hostProblem(['Host', '127.0.0.1:8765'], 8765)).toBeNull();
    expect(hostProblem(['host', '[::1]:8765', 'Accept', '*/*'], 8765)).toBeNull();
    expect(hostProblem(['Host', '127.0.0.1:8765', 'Host', 'evil.com'], 8765)).toBe(
      'Host given more than once',
    );
    expect(hostProblem(['Host', '127.0.0.1:8765', 'HOST', '127.0.0.1:8765'], 8765)).toBe(
      'Host given more than once',
    );
    expect(hostProblem(['Host', '127.0.0.1:9999'], 8765)).toBe('Host names another port');
    expect(hostProblem(['Host', 'localhost'], 8765)).toBe('Host names another port');
    expect(hostProblem(['Host', 'localhost'], 80)).toBeNull();
    expect(hostProblem(['Host', 'a:b:c'], 8765)).toBe('malformed Host');
    expect(hostProblem([], 8765)).toBeNull();
  });

  it('accepts WebSocket upgrades only from our own page origin', () => {
    expect(originAllowed('http://127.0.0.1:8765', '127.0.0.1:8765')).toBe(true);
    expect(originAllowed('http://evil.example', '127.0.0.1:8765')).toBe(false);
    expect(originAllowed('null', '127.0.0.1:8765')).toBe(false);
    expect(originAllowed(undefined, '127.0.0.1:8765')).toBe(true);
  });

  it('sets a CSP with no inline or eval scripts, no framing and connections to itself only', () => {
    const csp = contentSecurityPolicy('ws://127.0.0.1:8765');
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toMatch(/script-src 'self';/);
    expect(csp).toContain("connect-src 'self' ws://127.0.0.1:8765");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toMatch(/unsafe-eval|\*/);
  });
});
