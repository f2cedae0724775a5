/**
 * One table of requests and their exact answers, shared by the Express and Koa adapter tests so
 * the two adapters cannot drift apart. Each adapter suite builds the routes of `ROUTES` with its
 * own `authenticate` and guards, then runs every case over real HTTP with `checkCase`.
 */
import { inspect } from 'node:util'
import request, { type Response } from 'supertest'
import { expect, vi } from 'vitest'
import { createValidator, type Validator } from '../../src/index.js'
import { type JwksServer, startJwksServer } from './jwks-server.js'
import { attackerKey, otherRsaKey } from './keys.js'
import { AUDIENCE, defaultClaims, ISSUER, mintToken, NOW, unsigned } from './tokens.js'

/** The adapter functions a route may use as its guard, whatever the framework. */
export interface GuardFactories<M> {
  requireScopes(...names: string[]): M
  requireRoles(...names: string[]): M
  requireScopesOrRoles(scopes: string | string[], roles?: string | string[]): M
  requireAuthContext(id: string): M
  requireStepUp(options: { acrValues?: string | string[]; maxAge?: number }): M
}

/** How one route of the test app is protected. */
export interface RouteSpec {
  /** The validator `authenticate` uses; `undefined` means no `authenticate` on this route. */
  validator?: 'main' | 'cold'
  /** Passed to `authenticate` as `{ credentialsRequired: false }`. */
  optional?: true
  /** A guard after `authenticate`, built with the adapter's own factories. */
  guard?: <M>(adapter: GuardFactories<M>) => M
}

/**
 * The routes every adapter test app serves. Each answers 200 with `{ subject }` (the `sub` of the
 * token, or `null` for an anonymous request) once its middleware lets the request through.
 */
export type RoutePath =
  | '/me'
  | '/files'
  | '/files/delete'
  | '/admin'
  | '/data'
  | '/guard-only'
  | '/optional'
  | '/cold'
  | '/auth-context'
  | '/step-up'

export const ROUTES: Readonly<Record<RoutePath, RouteSpec>> = {
  '/me': { validator: 'main' },
  '/files': { validator: 'main', guard: (a) => a.requireScopes('Files.Read') },
  '/files/delete': { validator: 'main', guard: (a) => a.requireScopes('Files.Delete') },
  '/admin': { validator: 'main', guard: (a) => a.requireRoles('Orders.Admin') },
  '/data': {
    validator: 'main',
    guard: (a) => a.requireScopesOrRoles('Data.Read', 'Data.Read.All'),
  },
  '/guard-only': { guard: (a) => a.requireScopes('Files.Read') },
  '/optional': { validator: 'main', optional: true },
  '/cold': { validator: 'cold' },
  '/auth-context': { validator: 'main', guard: (a) => a.requireAuthContext('c1') },
  '/step-up': {
    validator: 'main',
    guard: (a) => a.requireStepUp({ acrValues: ['urn:example:mfa'], maxAge: 300 }),
  },
}

/** The validators and JWKS servers behind `ROUTES`. */
export interface CaseEnv {
  /** Serves `rsaKey` and `ecKey`. */
  readonly jwks: JwksServer
  /** In `'down'` mode from the start: `cold` never gets a key. */
  readonly downJwks: JwksServer
  readonly validators: { readonly main: Validator; readonly cold: Validator }
  close(): Promise<void>
}

/**
 * Starts the JWKS servers and creates the two validators `ROUTES` refers to.
 *
 * @example
 * ```ts
 * let env: CaseEnv
 * beforeAll(async () => { env = await startCaseEnv() })
 * afterAll(() => env.close())
 * ```
 */
export async function startCaseEnv(): Promise<CaseEnv> {
  const [jwks, downJwks] = await Promise.all([startJwksServer(), startJwksServer()])
  downJwks.setMode('down')
  const options = { issuer: ISSUER, audience: AUDIENCE }
  return {
    jwks,
    downJwks,
    validators: {
      main: createValidator({ ...options, jwksUri: jwks.jwksUri }),
      cold: createValidator({ ...options, jwksUri: downJwks.jwksUri }),
    },
    async close() {
      await Promise.all([jwks.close(), downJwks.close()])
    },
  }
}

/** One request and the exact answer both adapters must give. */
export interface AdapterCase {
  /** States the behaviour, as a test name. */
  name: string
  path: RoutePath
  /** The credentials, minted at `NOW`; a valid token unless set. */
  token?: () => Promise<string>
  /** Raw request headers, in order; repeated names are sent as separate header lines. */
  headers: (token: string) => Array<[name: string, value: string]>
  status: number
  /** The exact `WWW-Authenticate`, or `undefined` when the response must not carry one. */
  wwwAuthenticate: string | undefined
  /** The exact `Retry-After`, when the response must carry one. */
  retryAfter?: string
  /** The JSON body of a 200. */
  body?: { subject: string | null }
}

const bearer = (token: string): Array<[string, string]> => [['Authorization', `Bearer ${token}`]]
const none = (): Array<[string, string]> => []

const REALM_ONLY = 'Bearer realm="api"'
const invalidRequest = (description: string) =>
  `Bearer realm="api", error="invalid_request", error_description="${description}"`
const invalidToken = (description: string) =>
  `Bearer realm="api", error="invalid_token", error_description="${description}"`
const insufficientScope = (description: string, scope?: string) =>
  `Bearer realm="api", error="insufficient_scope", error_description="${description}"${
    scope === undefined ? '' : `, scope="${scope}"`
  }`

// base64 of {"access_token":{"acrs":{"essential":true,"value":"c1"}}}, as Microsoft's samples have it.
const C1_CLAIMS = 'eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19'
const insufficientUserAuthentication = (description: string) =>
  `Bearer realm="api", error="insufficient_user_authentication", error_description="${description}", acr_values="urn:example:mfa", max_age="300"`

const USER = { subject: 'user-123' }
const ANONYMOUS = { subject: null }
const expired = () => mintToken({ claims: { exp: NOW - 3600, iat: NOW - 7200, nbf: NOW - 7200 } })
// An Entra ID app-only (client credentials) token: no scp, application permissions in roles.
const appOnly = (roles: string[]) =>
  mintToken({ claims: { scp: undefined, roles, idtyp: 'app', sub: 'daemon-1' } })

/** Every row of DESIGN.md's error table, plus the successes around it. */
export const CASES: readonly AdapterCase[] = [
  {
    name: 'answers 401 with a bare realm challenge when there is no Authorization header',
    path: '/me',
    headers: none,
    status: 401,
    wwwAuthenticate: REALM_ONLY,
  },
  {
    name: 'answers 401 without an error code for another scheme (Basic)',
    path: '/me',
    headers: () => [['Authorization', 'Basic dXNlcjpwYXNz']],
    status: 401,
    wwwAuthenticate: REALM_ONLY,
  },
  {
    name: 'treats a scheme that merely starts with Bearer as another scheme',
    path: '/me',
    headers: (token) => [['Authorization', `Bearerx ${token}`]],
    status: 401,
    wwwAuthenticate: REALM_ONLY,
  },
  {
    name: 'answers 400 invalid_request for the Bearer scheme without a token',
    path: '/me',
    headers: () => [['Authorization', 'Bearer']],
    status: 400,
    wwwAuthenticate: invalidRequest('Bearer scheme without a token'),
  },
  {
    name: 'answers 400 invalid_request for Bearer followed only by spaces',
    path: '/me',
    headers: () => [['Authorization', 'Bearer    ']],
    status: 400,
    wwwAuthenticate: invalidRequest('Bearer scheme without a token'),
  },
  {
    name: 'answers 400 invalid_request when two Authorization headers are sent',
    path: '/me',
    headers: (token) => [...bearer(token), ...bearer(token)],
    status: 400,
    wwwAuthenticate: invalidRequest('more than one Authorization header was sent'),
  },
  {
    name: 'answers 400 invalid_request when a Basic header comes with a Bearer one',
    path: '/me',
    headers: (token) => [['Authorization', 'Basic dXNlcjpwYXNz'], ...bearer(token)],
    status: 400,
    wwwAuthenticate: invalidRequest('more than one Authorization header was sent'),
  },
  {
    name: 'answers 400 invalid_request for characters outside b64token after Bearer',
    path: '/me',
    token: async () => 'abc$def<script>',
    headers: bearer,
    status: 400,
    wwwAuthenticate: invalidRequest(
      'the Bearer credentials must be a single token of base64url characters',
    ),
  },
  {
    name: 'answers 400 invalid_request for two tokens after Bearer',
    path: '/me',
    headers: (token) => [['Authorization', `Bearer ${token} ${token}`]],
    status: 400,
    wwwAuthenticate: invalidRequest(
      'the Bearer credentials must be a single token of base64url characters',
    ),
  },
  {
    name: 'answers 400 invalid_request for a tab after Bearer',
    path: '/me',
    headers: (token) => [['Authorization', `Bearer\t${token}`]],
    status: 400,
    wwwAuthenticate: invalidRequest('the Bearer scheme must be followed by spaces, not tabs'),
  },
  {
    name: 'accepts a valid token and exposes the AuthInfo',
    path: '/me',
    headers: bearer,
    status: 200,
    wwwAuthenticate: undefined,
    body: USER,
  },
  {
    name: 'accepts the scheme in lower case',
    path: '/me',
    headers: (token) => [['Authorization', `bearer ${token}`]],
    status: 200,
    wwwAuthenticate: undefined,
    body: USER,
  },
  {
    name: 'accepts the scheme in upper case',
    path: '/me',
    headers: (token) => [['Authorization', `BEARER ${token}`]],
    status: 200,
    wwwAuthenticate: undefined,
    body: USER,
  },
  {
    name: 'accepts several spaces after the scheme',
    path: '/me',
    headers: (token) => [['Authorization', `Bearer    ${token}`]],
    status: 200,
    wwwAuthenticate: undefined,
    body: USER,
  },
  {
    name: 'accepts a lower-case header name',
    path: '/me',
    headers: (token) => [['authorization', `Bearer ${token}`]],
    status: 200,
    wwwAuthenticate: undefined,
    body: USER,
  },
  {
    name: 'answers 401 invalid_token for an expired token',
    path: '/me',
    token: expired,
    headers: bearer,
    status: 401,
    wwwAuthenticate: invalidToken('the token expired 60 min ago'),
  },
  {
    name: 'answers 401 invalid_token for a token meant for another audience',
    path: '/me',
    token: () => mintToken({ claims: { aud: 'api://someone-else' } }),
    headers: bearer,
    status: 401,
    wwwAuthenticate: invalidToken('the token audience (aud) is not this API'),
  },
  {
    name: 'answers 401 invalid_token for a token from another issuer',
    path: '/me',
    token: () => mintToken({ claims: { iss: 'https://evil.example/' } }),
    headers: bearer,
    status: 401,
    wwwAuthenticate: invalidToken('the token issuer (iss) is not the expected issuer'),
  },
  {
    name: 'answers 401 invalid_token for a bad signature (right kid, wrong key)',
    path: '/me',
    token: () => mintToken({ key: attackerKey }),
    headers: bearer,
    status: 401,
    wwwAuthenticate: invalidToken('the token signature is invalid'),
  },
  {
    name: 'answers 401 invalid_token for a token signed by an unknown kid',
    path: '/me',
    token: () => mintToken({ key: otherRsaKey }),
    headers: bearer,
    status: 401,
    wwwAuthenticate: invalidToken('no key of the issuer matches the kid and alg of the token'),
  },
  {
    name: 'answers 401 invalid_token for an unsigned alg none token',
    path: '/me',
    token: async () => unsigned({ alg: 'none', typ: 'JWT' }, { ...defaultClaims }),
    headers: bearer,
    status: 401,
    wwwAuthenticate: invalidToken(
      'the token is unsigned (empty signature): this API accepts signed tokens only',
    ),
  },
  {
    name: 'answers 401 invalid_token for alg none with a signature segment',
    path: '/me',
    token: async () => unsigned({ alg: 'none', typ: 'JWT' }, { ...defaultClaims }, 'AAAA'),
    headers: bearer,
    status: 401,
    wwwAuthenticate: invalidToken('the token is signed with an algorithm this API does not accept'),
  },
  {
    name: 'lets a token with the required scope through the scope guard',
    path: '/files',
    headers: bearer,
    status: 200,
    wwwAuthenticate: undefined,
    body: USER,
  },
  {
    name: 'answers 403 insufficient_scope naming the scope a route requires',
    path: '/files/delete',
    headers: bearer,
    status: 403,
    wwwAuthenticate: insufficientScope(
      'the token lacks a scope this resource requires',
      'Files.Delete',
    ),
  },
  {
    name: 'answers 403 insufficient_scope when a role guard finds no such role',
    path: '/admin',
    token: () => mintToken({ claims: { roles: ['Orders.Reader'] } }),
    headers: bearer,
    status: 403,
    wwwAuthenticate: insufficientScope(
      'the token lacks a role this resource accepts: Orders.Admin',
    ),
  },
  {
    name: 'does not count a scope named like the role in the role guard',
    path: '/admin',
    token: () => mintToken({ claims: { scp: 'Orders.Admin' } }),
    headers: bearer,
    status: 403,
    wwwAuthenticate: insufficientScope(
      'the token lacks a role this resource accepts: Orders.Admin',
    ),
  },
  {
    name: 'lets a token with the role through the role guard',
    path: '/admin',
    token: () => mintToken({ claims: { roles: ['Orders.Admin'] } }),
    headers: bearer,
    status: 200,
    wwwAuthenticate: undefined,
    body: USER,
  },
  {
    name: 'lets a delegated token with the scope through the scopes-or-roles guard',
    path: '/data',
    token: () => mintToken({ claims: { scp: 'Data.Read' } }),
    headers: bearer,
    status: 200,
    wwwAuthenticate: undefined,
    body: USER,
  },
  {
    name: 'lets an app-only token with the application permission through the scopes-or-roles guard',
    path: '/data',
    token: () => appOnly(['Data.Read.All']),
    headers: bearer,
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: 'daemon-1' },
  },
  {
    name: 'answers 403 from the scopes-or-roles guard when neither the scope nor the role is held',
    path: '/data',
    headers: bearer,
    status: 403,
    wwwAuthenticate: insufficientScope(
      'the token has none of the delegated scopes or application permissions this resource accepts',
      'Data.Read',
    ),
  },
  {
    name: 'answers 403 from the scopes-or-roles guard for an app-only token without the permission',
    path: '/data',
    token: () => appOnly(['Other.Read.All']),
    headers: bearer,
    status: 403,
    wwwAuthenticate: insufficientScope(
      'the token has none of the delegated scopes or application permissions this resource accepts',
      'Data.Read',
    ),
  },
  {
    name: 'answers 401 when a guard is reached without authenticate',
    path: '/guard-only',
    headers: bearer,
    status: 401,
    wwwAuthenticate: REALM_ONLY,
  },
  {
    name: 'answers 401 insufficient_claims asking for the authentication context when the client declares cp1',
    path: '/auth-context',
    token: () => mintToken({ claims: { xms_cc: ['cp1'] } }),
    headers: bearer,
    status: 401,
    wwwAuthenticate: `Bearer realm="", error="insufficient_claims", claims="${C1_CLAIMS}"`,
  },
  {
    name: 'reads xms_cc as a string and compares cp1 case-insensitively',
    path: '/auth-context',
    token: () => mintToken({ claims: { xms_cc: 'CP1', acrs: ['c2'] } }),
    headers: bearer,
    status: 401,
    wwwAuthenticate: `Bearer realm="", error="insufficient_claims", claims="${C1_CLAIMS}"`,
  },
  {
    name: 'answers 403 when the authentication context is missing and the client cannot handle claims challenges',
    path: '/auth-context',
    headers: bearer,
    status: 403,
    wwwAuthenticate: insufficientScope(
      'this resource requires the authentication context c1, and the client cannot handle claims challenges (no cp1 in xms_cc)',
    ),
  },
  {
    name: 'lets a token whose acrs holds the authentication context through',
    path: '/auth-context',
    token: () => mintToken({ claims: { xms_cc: ['cp1'], acrs: ['c1', 'c3'] } }),
    headers: bearer,
    status: 200,
    wwwAuthenticate: undefined,
    body: USER,
  },
  {
    name: 'answers an expired token on an authentication-context route with invalid_token, not a claims challenge',
    path: '/auth-context',
    token: () =>
      mintToken({ claims: { exp: NOW - 3600, iat: NOW - 7200, nbf: NOW - 7200, xms_cc: ['cp1'] } }),
    headers: bearer,
    status: 401,
    wwwAuthenticate: invalidToken('the token expired 60 min ago'),
  },
  {
    name: 'lets a recent authentication at the required acr through the step-up guard',
    path: '/step-up',
    token: () => mintToken({ claims: { acr: 'urn:example:mfa', auth_time: NOW - 60 } }),
    headers: bearer,
    status: 200,
    wwwAuthenticate: undefined,
    body: USER,
  },
  {
    name: 'answers 401 insufficient_user_authentication with acr_values and max_age for another acr',
    path: '/step-up',
    token: () => mintToken({ claims: { acr: 'urn:example:pwd', auth_time: NOW - 60 } }),
    headers: bearer,
    status: 401,
    wwwAuthenticate: insufficientUserAuthentication('a different authentication level is required'),
  },
  {
    name: 'answers 401 insufficient_user_authentication for an authentication older than max_age',
    path: '/step-up',
    token: () => mintToken({ claims: { acr: 'urn:example:mfa', auth_time: NOW - 301 } }),
    headers: bearer,
    status: 401,
    wwwAuthenticate: insufficientUserAuthentication('a more recent authentication is required'),
  },
  {
    name: 'answers 401 insufficient_user_authentication for a token without auth_time under max_age',
    path: '/step-up',
    token: () => mintToken({ claims: { acr: 'urn:example:mfa' } }),
    headers: bearer,
    status: 401,
    wwwAuthenticate: insufficientUserAuthentication('a more recent authentication is required'),
  },
  {
    name: 'answers 503 with Retry-After and no challenge when the keys cannot be had',
    path: '/cold',
    headers: bearer,
    status: 503,
    wwwAuthenticate: undefined,
    retryAfter: '5',
  },
  {
    name: 'lets an anonymous request through when credentials are optional',
    path: '/optional',
    headers: none,
    status: 200,
    wwwAuthenticate: undefined,
    body: ANONYMOUS,
  },
  {
    name: 'treats another scheme as anonymous when credentials are optional',
    path: '/optional',
    headers: () => [['Authorization', 'Basic dXNlcjpwYXNz']],
    status: 200,
    wwwAuthenticate: undefined,
    body: ANONYMOUS,
  },
  {
    name: 'still verifies a token when credentials are optional',
    path: '/optional',
    headers: bearer,
    status: 200,
    wwwAuthenticate: undefined,
    body: USER,
  },
  {
    name: 'still refuses a bad token when credentials are optional',
    path: '/optional',
    token: expired,
    headers: bearer,
    status: 401,
    wwwAuthenticate: invalidToken('the token expired 60 min ago'),
  },
  {
    name: 'still refuses a malformed header when credentials are optional',
    path: '/optional',
    headers: () => [['Authorization', 'Bearer']],
    status: 400,
    wwwAuthenticate: invalidRequest('Bearer scheme without a token'),
  },
]

/**
 * Groups raw header pairs by name as superagent's `set()` wants them: a repeated name becomes an
 * array, which Node sends as separate header lines.
 */
export function toHeaderObject(
  headers: ReadonlyArray<readonly [string, string]>,
): Record<string, string | string[]> {
  const grouped: Record<string, string | string[]> = {}
  for (const [name, value] of headers) {
    const previous = grouped[name]
    grouped[name] =
      previous === undefined
        ? value
        : Array.isArray(previous)
          ? [...previous, value]
          : [previous, value]
  }
  return grouped
}

/** A Node stack frame, as a default error handler would print it. */
export const STACK_FRAME = /^\s*at .+:\d+:\d+\)?$/m

/**
 * Asserts the answer of one case: the status, the exact `WWW-Authenticate` (or its absence),
 * `Retry-After`, the body of a 200, and that the body never echoes the token or a stack trace.
 */
export function checkCase(res: Response, testCase: AdapterCase, token: string): void {
  expect(res.status).toBe(testCase.status)
  expect(res.headers['www-authenticate']).toBe(testCase.wwwAuthenticate)
  if (testCase.retryAfter !== undefined)
    expect(res.headers['retry-after']).toBe(testCase.retryAfter)
  if (testCase.body !== undefined) expect(res.body).toEqual(testCase.body)
  expect(res.text).not.toContain(token)
  expect(res.text).not.toMatch(STACK_FRAME)
}

/**
 * Sends the request of one case to `app` (an Express app, or a Koa app's `callback()`), checks
 * the answer with {@link checkCase} and returns the token it sent.
 *
 * @example
 * ```ts
 * it.each(CASES)('$name', (testCase) => runCase(app, testCase))
 * ```
 */
export async function runCase(
  app: Parameters<typeof request>[0],
  testCase: AdapterCase,
): Promise<string> {
  const token = await (testCase.token ?? mintToken)()
  const res = await request(app)
    .get(testCase.path)
    .set(toHeaderObject(testCase.headers(token)))
  checkCase(res, testCase, token)
  return token
}

/**
 * Captures `console.error` (where Express's and Koa's default handlers log errors) so a suite
 * can assert that no logged error carries a token.
 *
 * @example
 * ```ts
 * const log = captureErrorLog()
 * afterAll(() => log.restore())
 * expect(await log.text()).not.toContain(token)
 * ```
 */
export function captureErrorLog(): { text(): Promise<string>; restore(): void } {
  const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
  return {
    async text() {
      // finalhandler logs from a setImmediate callback, after the response went out.
      await new Promise((resolve) => setImmediate(resolve))
      return spy.mock.calls.map((args) => inspect(args, { depth: 10 })).join('\n')
    },
    restore() {
      spy.mockRestore()
    },
  }
}
