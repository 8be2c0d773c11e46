/**
 * The served mode's security checks as pure functions: token comparison, request authentication (query, cookie or
 * bearer header), Host and Origin checks against DNS rebinding and cross-site WebSockets, and the page's headers.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** The cookie that carries the token after the first page load (HttpOnly, SameSite=Strict). */
export const TOKEN_COOKIE = 'pris_token';

/**
 * The cookie name of the server on `port`: cookies are scoped by host, not port, so two served instances on one
 * machine would otherwise overwrite each other's token.
 */
export function tokenCookieName(port: number): string {
  return `${TOKEN_COOKIE}_${port}`;
}

/** A fresh random token: 32 bytes, URL-safe base64 (256 bits). */
export function createToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Constant-time token comparison. Both sides are hashed first so the comparison takes the same time whatever the
 * length of the guess (timingSafeEqual itself needs equal lengths).
 */
export function tokenMatches(expected: string, candidate: string | null | undefined): boolean {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 1024) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(candidate).digest();
  return timingSafeEqual(a, b);
}

/** The token a request presents: `?token=`, then `Authorization: Bearer`, then the cookie. */
export function presentedTokens(
  url: URL,
  headers: Record<string, string | string[] | undefined>,
  cookieName = TOKEN_COOKIE,
): string[] {
  const tokens: string[] = [];
  const query = url.searchParams.get('token');
  if (query) tokens.push(query);
  const authorization = headers.authorization;
  if (typeof authorization === 'string' && authorization.startsWith('Bearer '))
    tokens.push(authorization.slice(7).trim());
  const cookie = headers.cookie;
  if (typeof cookie === 'string') {
    for (const part of cookie.split(';')) {
      const [name, ...rest] = part.trim().split('=');
      if (name === cookieName) {
        const value = safeDecode(rest.join('='));
        // a malformed %-escape (e.g. a cookie planted by another local page) is just a wrong token, never a crash
        if (value !== null) tokens.push(value);
      }
    }
  }
  return tokens;
}

/** `decodeURIComponent` that answers null for malformed escapes instead of throwing `URIError`. */
export function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** True when any presented token matches. */
export function isAuthorized(
  expected: string,
  url: URL,
  headers: Record<string, string | string[] | undefined>,
  cookieName = TOKEN_COOKIE,
): boolean {
  // Every presented token is compared, so timing does not tell which source was checked.
  let ok = false;
  for (const token of presentedTokens(url, headers, cookieName)) ok = tokenMatches(expected, token) || ok;
  return ok;
}

/** True for loopback addresses and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1';
  return false;
}

/**
 * The Host header values accepted for a server bound to `host:port`. On loopback, only loopback names: a web page
 * that re-points its own domain at 127.0.0.1 (DNS rebinding) sends its own domain and is refused. Bound to a
 * wildcard or a LAN address, any Host is accepted (the token still guards every request).
 */
export function hostAllowed(boundHost: string, port: number, hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  if (!isLoopbackHost(boundHost)) return true;
  const allowed = [
    '127.0.0.1',
    'localhost',
    '[::1]',
    boundHost.includes(':') ? `[${boundHost}]` : boundHost,
  ].map((name) => `${name}:${port}`);
  return allowed.includes(hostHeader.toLowerCase());
}

/**
 * Why a request's Host is malformed, or null: Host given more than once (Node keeps the first and drops the rest
 * silently, so the two sides of a proxy could read different hosts), or naming another port than the server's
 * (a missing port means 80). Read from the raw headers. Answered 400 before any other check.
 */
export function hostProblem(rawHeaders: readonly string[], port: number): string | null {
  const hosts: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    if (rawHeaders[i].toLowerCase() === 'host') hosts.push(rawHeaders[i + 1]);
  if (hosts.length > 1) return 'Host given more than once';
  if (hosts.length === 0) return null; // HTTP/1.0 without Host: hostAllowed refuses it
  const match = /^(?:\[[^\]]*\]|[^:[\]]*)(?::(\d*))?$/.exec(hosts[0].trim());
  if (!match) return 'malformed Host';
  const given = match[1] === undefined || match[1] === '' ? 80 : Number(match[1]);
  return given === port ? null : 'Host names another port';
}

/**
 * A WebSocket upgrade's Origin must be our own page's origin (browsers always send it); a missing Origin means a
 * non-browser client, which still needs the token.
 */
export function originAllowed(originHeader: string | undefined, hostHeader: string | undefined): boolean {
  if (originHeader === undefined) return true;
  return originHeader === `http://${hostHeader}`;
}

/**
 * The Content-Security-Policy of the served page: scripts, styles and connections only from our own origin (plus
 * its WebSocket), images from our origin, blob: and data: URLs (image bytes arrive over the API), nothing framed,
 * no plugins, no base-URI or form tricks. Inline styles are allowed for the chart library's element styles.
 */
export function contentSecurityPolicy(wsOrigin?: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "font-src 'self' data:",
    `connect-src 'self'${wsOrigin ? ` ${wsOrigin}` : ''}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Headers sent with every served response. */
export function securityHeaders(wsOrigin?: string): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(wsOrigin),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}
