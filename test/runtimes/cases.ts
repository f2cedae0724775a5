/**
 * The runtime case table: one list of requests and their exact answers, run against the built
 * Fetch and Hono adapters on every runtime of runtimes.ts. Tokens are minted here, in the test
 * process, with real keys and the real clock (the runtimes have no fake one), just before each
 * request.
 */
import type { JwksServer } from '../helpers/jwks-server.js'
import { ecKey, otherRsaKey } from '../helpers/keys.js'
import { mintToken } from '../helpers/tokens.js'

/** The two routes every adapter serves: its own JWKS server, or one that is down. */
export type RouteName = 'me' | 'cold'

/** What a case may use: the JWKS server behind the adapter's `me` route. */
export interface CaseContext {
  readonly jwks: JwksServer
}

/** One request and the exact answer every runtime and adapter must give. */
export interface RuntimeCase {
  /** States the behaviour, as a test name. */
  name: string
  route: RouteName
  /** Prepares the JWKS server (rotation) and returns the Authorization header, if any. */
  authorization(context: CaseContext): Promise<string | undefined>
  status: number
  /** The exact `WWW-Authenticate`, or `null` when the response must not carry one. */
  wwwAuthenticate: string | null
  /** The exact `Retry-After`, or `null` when the response must not carry one. */
  retryAfter: string | null
  /** The exact body of a 200 (JSON) or 503 (empty); 4xx bodies only must not echo the token. */
  body?: string
  /** How many more times the JWKS server is asked during the request, when that matters. */
  jwksFetches?: number
}

/** Claims valid now, for `mintToken`. */
function validNow(offsetSeconds = 0): Record<string, number> {
  const now = Math.floor(Date.now() / 1000) + offsetSeconds
  return { iat: now, nbf: now, exp: now + 3600 }
}

/** A token whose signature has one character changed, in the middle (still base64url). */
export function tamper(token: string): string {
  const at = token.lastIndexOf('.') + 40
  const replacement = token[at] === 'A' ? 'B' : 'A'
  return `${token.slice(0, at)}${replacement}${token.slice(at + 1)}`
}

const REALM_ONLY = 'Bearer realm="api"'
const invalidToken = (description: string) =>
  `Bearer realm="api", error="invalid_token", error_description="${description}"`

export const RUNTIME_CASES: readonly RuntimeCase[] = [
  {
    name: 'no Authorization header: 401 with a bare realm challenge',
    route: 'me',
    authorization: async () => undefined,
    status: 401,
    wwwAuthenticate: REALM_ONLY,
    retryAfter: null,
  },
  {
    name: 'garbage credentials: 401 invalid_token',
    route: 'me',
    authorization: async () => 'Bearer garbage',
    status: 401,
    wwwAuthenticate: invalidToken(
      'the token is not a JWS in compact serialization (three segments)',
    ),
    retryAfter: null,
  },
  {
    name: 'a valid token: 200 with its subject',
    route: 'me',
    authorization: async () => `Bearer ${await mintToken({ claims: validNow() })}`,
    status: 200,
    wwwAuthenticate: null,
    retryAfter: null,
    body: '{"subject":"user-123"}',
  },
  {
    name: 'an expired token: 401 invalid_token saying how long ago',
    route: 'me',
    authorization: async () => `Bearer ${await mintToken({ claims: validNow(-7200) })}`,
    status: 401,
    wwwAuthenticate: invalidToken('the token expired 60 min ago'),
    retryAfter: null,
  },
  {
    name: 'a tampered signature: 401 invalid_token',
    route: 'me',
    authorization: async () => `Bearer ${tamper(await mintToken({ claims: validNow() }))}`,
    status: 401,
    wwwAuthenticate: invalidToken('the token signature is invalid'),
    retryAfter: null,
  },
  {
    name: 'JWKS outage with nothing cached: 503 with Retry-After and no challenge',
    route: 'cold',
    authorization: async () => `Bearer ${await mintToken({ claims: validNow() })}`,
    status: 503,
    wwwAuthenticate: null,
    retryAfter: '5',
    body: '',
  },
  {
    name: 'key rotation: a token signed by a key the JWKS has just published: 200 after one fetch',
    route: 'me',
    async authorization({ jwks }) {
      jwks.setKeys([ecKey, otherRsaKey])
      return `Bearer ${await mintToken({ key: otherRsaKey, claims: validNow() })}`
    },
    status: 200,
    wwwAuthenticate: null,
    retryAfter: null,
    body: '{"subject":"user-123"}',
    jwksFetches: 1,
  },
]
