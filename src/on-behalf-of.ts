/**
 * The first tier of the Entra ID two-tier scenario: a web API that received a user's token
 * exchanges it On-Behalf-Of (OBO) for a token to a downstream API with MSAL for Node, calls that
 * API, and hands Entra ID's answers back to its own caller as bearer-guard rejections, so every
 * adapter answers them as it answers any other (after Microsoft.Identity.Web's token
 * acquisition and `ReplyForbiddenWithWwwAuthenticateHeader`):
 *
 * | Entra ID / downstream answer                               | the caller gets                                   |
 * | ---------------------------------------------------------- | ------------------------------------------------- |
 * | interaction required with claims (AADSTS50076, 50079...), caller declares `cp1` | 401 `insufficient_claims` with `claims` (base64) and `authorization_uri` |
 * | the same, caller without `cp1`                             | 403 `insufficient_scope`, `scopes`                |
 * | consent missing (AADSTS65001)                              | 403 `insufficient_scope`, `scopes`, `proposedAction="consent"` |
 * | expired or invalid assertion (AADSTS500133, 50013...)      | 401 `invalid_token`                               |
 * | unreachable, 5xx, throttled                                | 503 with `Retry-After`                            |
 * | this API's own credentials or request refused              | 502                                               |
 *
 * No Entra ID message (with its trace and correlation ids) reaches the caller: the MSAL error is
 * the rejection's `cause`, for logs.
 *
 * @module bearer-guard/msal
 */
import {
  type AuthenticationResult,
  ConfidentialClientApplication,
  type Configuration,
} from '@azure/msal-node'
import { hasClientCapability } from './auth-contexts.js'
import {
  type BearerGuardError,
  InsufficientClaimsError,
  InsufficientScopeError,
  InvalidTokenError,
  TokenExchangeError,
} from './errors.js'
import { notAuthenticated } from './scopes.js'
import type { AuthInfo } from './types.js'
import { rejectionFor } from './verifier-context.js'

export type { AuthInfo } from './types.js'

/** Options of {@link createOnBehalfOf}. */
export interface OnBehalfOfOptions {
  /**
   * MSAL for Node's configuration of this API's confidential client: `auth.clientId`, a
   * credential (`clientSecret`, `clientCertificate` or `clientAssertion`) and `auth.authority`.
   * One client is made per configuration object and shared: MSAL caches OBO tokens keyed by the
   * incoming token, so create this once, at startup.
   */
  msal: Configuration
  /**
   * Client capabilities declared to Entra ID (`auth.clientCapabilities`). Default `['cp1']`:
   * this API can handle claims challenges, so Entra ID and downstream APIs may send them.
   */
  clientCapabilities?: readonly string[]
  /** `Retry-After` of a 503, in seconds, when the identity provider cannot be reached. Default 5. */
  retryAfter?: number
  /** The `fetch` that {@link OnBehalfOf.fetch} calls downstream APIs with. Default the global one. */
  fetch?: typeof fetch
}

/** Options of {@link OnBehalfOf.acquireToken}. */
export interface AcquireTokenOptions {
  /** A claims request (JSON text) to satisfy, from a claims challenge; bypasses MSAL's cache. */
  claims?: string
}

/** Options of {@link OnBehalfOf.fetch}: the downstream scopes and the request's own init. */
export interface DownstreamRequestInit extends RequestInit {
  /** The downstream API's scopes (`api://orders/Orders.Read`). */
  scopes: readonly string[]
}

/** What {@link createOnBehalfOf} returns. */
export interface OnBehalfOf {
  /**
   * A downstream access token On-Behalf-Of the caller of `auth` (a validated request's
   * `AuthInfo`, whose raw token is the assertion). Rejects with a bearer-guard error (see the
   * module's table); an app-only caller is refused with 403, as OBO needs a user.
   */
  acquireToken(
    auth: AuthInfo | undefined,
    scopes: readonly string[],
    options?: AcquireTokenOptions,
  ): Promise<string>
  /**
   * Calls a downstream API with an OBO token. On a 401 `insufficient_claims` challenge from it,
   * gets a new token with those claims and retries once (give a body that can be sent twice: a
   * string, not a stream); a challenge that remains is handed back to the caller. Any other
   * response is returned as it is.
   */
  fetch(
    auth: AuthInfo | undefined,
    url: string | URL,
    init: DownstreamRequestInit,
  ): Promise<Response>
  /** The shared MSAL confidential client. */
  readonly client: ConfidentialClientApplication
}

const clients = new WeakMap<Configuration, ConfidentialClientApplication>()

// AADSTS codes for an assertion Entra ID will not exchange: expired (500133), bad signature or
// audience (50013), malformed (50027), revoked or reset sessions (50173, 50132, 50133, 70043).
const ASSERTION_CODES = new Set(['500133', '50013', '50027', '50173', '50132', '50133', '70043'])
// This API's own request or credentials refused: configuration, not the caller's fault.
const REFUSED_CODES = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_scope',
  'invalid_resource',
  'invalid_request',
  'unsupported_grant_type',
  'invalid_instance',
])
const INTERACTION_CODES = new Set(['interaction_required', 'login_required', 'consent_required'])
const INTERACTION_SUBERRORS = new Set([
  'basic_action',
  'additional_action',
  'message_only',
  'user_password_expired',
  'consent_required',
])
// A claims request is small; Entra ID's are a few hundred bytes.
const MAX_CLAIMS_LENGTH = 8_192

interface MsalErrorLike {
  errorCode?: unknown
  subError?: unknown
  errorNo?: unknown
  claims?: unknown
  status?: unknown
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : ''
}

/** A claims request (JSON text of an object), or `undefined` when `value` is not one. */
function claimsRequest(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_CLAIMS_LENGTH) return undefined
  try {
    const parsed: unknown = JSON.parse(value)
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? value
      : undefined
  } catch {
    return undefined
  }
}

/** The answer for a claims request the caller must satisfy: a claims challenge, or 403. */
function claimsRejection(
  auth: AuthInfo,
  claims: string,
  scopes: readonly string[],
  cause: unknown,
): BearerGuardError {
  const description = 'the user must satisfy a Conditional Access policy of a downstream API'
  if (hasClientCapability(auth)) {
    return new InsufficientClaimsError(description, {
      reason: 'downstream_interaction_required',
      claims,
      cause,
    })
  }
  return new InsufficientScopeError(
    `${description}, and the client cannot handle claims challenges (no cp1 in xms_cc)`,
    { reason: 'downstream_interaction_required', params: { scopes: scopes.join(',') }, cause },
  )
}

/**
 * The bearer-guard rejection for an MSAL error of an On-Behalf-Of exchange (see the module's
 * table), rendered for the validator that verified `auth`. Never carries Entra ID's message.
 *
 * @example
 * ```ts
 * try {
 *   await msal.acquireTokenOnBehalfOf({ oboAssertion: auth.token, scopes })
 * } catch (error) {
 *   throw rejectionForMsalError(auth, error, scopes)
 * }
 * ```
 */
export function rejectionForMsalError(
  auth: AuthInfo,
  error: unknown,
  scopes: readonly string[],
  retryAfter = 5,
): BearerGuardError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as MsalErrorLike
  const code = text(e.errorCode)
  const sub = text(e.subError)
  const number = text(e.errorNo)
  const status = typeof e.status === 'number' ? e.status : undefined
  let rejection: BearerGuardError
  if (number === '65001' || sub === 'consent_required' || code === 'consent_required') {
    rejection = new InsufficientScopeError(
      'the user or an administrator has not consented to the permissions this API needs downstream',
      {
        reason: 'downstream_consent_required',
        params: { scopes: scopes.join(','), proposedAction: 'consent' },
        cause: error,
      },
    )
  } else if (claimsRequest(e.claims) !== undefined) {
    rejection = claimsRejection(auth, e.claims as string, scopes, error)
  } else if (ASSERTION_CODES.has(number)) {
    rejection = new InvalidTokenError(
      number === '500133'
        ? 'the token expired before it could be exchanged for a downstream API'
        : 'the token cannot be exchanged for a downstream API: get a new token',
      { reason: 'assertion_rejected', cause: error },
    )
  } else if (INTERACTION_CODES.has(code) || INTERACTION_SUBERRORS.has(sub)) {
    rejection = new InsufficientScopeError(
      'the user must sign in again interactively for a downstream API',
      {
        reason: 'downstream_interaction_required',
        params: { scopes: scopes.join(',') },
        cause: error,
      },
    )
  } else if (
    REFUSED_CODES.has(code) ||
    code === 'invalid_grant' ||
    (status !== undefined && status >= 400 && status < 500 && status !== 429)
  ) {
    rejection = new TokenExchangeError(502, { reason: 'token_exchange_refused', cause: error })
  } else {
    // Unreachable, 5xx, throttled (429, or MSAL's own throttling), or anything unforeseen:
    // transient as far as the caller can tell, and never a 500.
    rejection = new TokenExchangeError(503, {
      reason: 'token_exchange_unavailable',
      retryAfter,
      cause: error,
    })
  }
  return rejectionFor(auth, rejection)
}

/** The claims request of a downstream 401 `insufficient_claims` challenge, if it is one. */
export function claimsFromChallenge(header: string | null | undefined): string | undefined {
  if (typeof header !== 'string' || header.length > 4 * MAX_CLAIMS_LENGTH) return undefined
  if (!/(?:^|[\s,])error="insufficient_claims"/i.test(header)) return undefined
  const encoded = /(?:^|[\s,])claims="([A-Za-z0-9+/_-]+={0,2})"/i.exec(header)?.[1]
  if (encoded === undefined) return undefined
  const standard = encoded.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')
  let binary: string
  try {
    binary = atob(standard + '='.repeat((4 - (standard.length % 4)) % 4))
  } catch {
    return undefined
  }
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0))
  let decoded: string
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
  return claimsRequest(decoded)
}

function checkScopes(scopes: unknown): readonly string[] {
  if (
    !Array.isArray(scopes) ||
    scopes.length === 0 ||
    !scopes.every((scope) => typeof scope === 'string' && scope !== '')
  ) {
    throw new TypeError('"scopes" must be a non-empty array of downstream scopes')
  }
  return scopes
}

/**
 * Creates the On-Behalf-Of helper of a first-tier API: one MSAL confidential client per
 * configuration (declaring `cp1` unless told otherwise), `acquireToken` for a downstream token
 * and `fetch` for a downstream call with claims-challenge handling. Needs `@azure/msal-node`.
 *
 * @example
 * ```ts
 * const obo = createOnBehalfOf({
 *   msal: { auth: { clientId, clientSecret, authority: `https://login.microsoftonline.com/${tenant}` } },
 * })
 * app.get('/orders', authenticate(validator), async (req, res, next) => {
 *   try {
 *     const answer = await obo.fetch(req.auth, 'https://orders.example/orders', {
 *       scopes: ['api://orders/Orders.Read'],
 *     })
 *     res.status(answer.status).json(await answer.json())
 *   } catch (error) {
 *     next(error) // 401 claims challenge, 403, 503...: answered like any other rejection
 *   }
 * })
 * ```
 */
export function createOnBehalfOf(options: OnBehalfOfOptions): OnBehalfOf {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createOnBehalfOf options must be an object')
  }
  const { msal } = options
  if (typeof msal !== 'object' || msal === null || typeof msal.auth?.clientId !== 'string') {
    throw new TypeError('"msal" option must be an MSAL configuration with auth.clientId')
  }
  const capabilities = options.clientCapabilities ?? ['cp1']
  if (!Array.isArray(capabilities) || !capabilities.every((c) => typeof c === 'string')) {
    throw new TypeError('"clientCapabilities" option must be an array of strings')
  }
  const retryAfter = options.retryAfter ?? 5
  if (typeof retryAfter !== 'number' || !Number.isFinite(retryAfter) || retryAfter < 1) {
    throw new TypeError('"retryAfter" option must be a number of seconds, 1 or more')
  }
  const fetcher = options.fetch ?? globalThis.fetch
  if (typeof fetcher !== 'function') throw new TypeError('"fetch" option must be a function')

  let client = clients.get(msal)
  if (client === undefined) {
    client = new ConfidentialClientApplication({
      ...msal,
      auth: { ...msal.auth, clientCapabilities: [...capabilities] },
    })
    clients.set(msal, client)
  }
  const shared = client

  async function acquireToken(
    auth: AuthInfo | undefined,
    scopes: readonly string[],
    acquireOptions: AcquireTokenOptions = {},
  ): Promise<string> {
    checkScopes(scopes)
    if (auth === undefined) throw notAuthenticated()
    if (auth.appOnly) {
      throw rejectionFor(
        auth,
        new InsufficientScopeError(
          'this resource calls a downstream API on behalf of a user: an app-only token cannot be exchanged',
          { reason: 'app_only_caller' },
        ),
      )
    }
    const claims = acquireOptions.claims
    let result: AuthenticationResult | null
    try {
      result = await shared.acquireTokenOnBehalfOf({
        oboAssertion: auth.token,
        scopes: [...scopes],
        // Claims bypass the cache: a cached token is the one that did not satisfy them.
        ...(claims === undefined ? {} : { claims, skipCache: true }),
      })
    } catch (error) {
      throw rejectionForMsalError(auth, error, scopes, retryAfter)
    }
    if (result === null || typeof result.accessToken !== 'string' || result.accessToken === '') {
      throw rejectionForMsalError(
        auth,
        new Error('MSAL returned no access token'),
        scopes,
        retryAfter,
      )
    }
    return result.accessToken
  }

  async function call(
    auth: AuthInfo | undefined,
    url: string | URL,
    init: DownstreamRequestInit,
  ): Promise<Response> {
    const { scopes, ...requestInit } = init
    const send = (token: string) => {
      const headers = new Headers(requestInit.headers)
      headers.set('authorization', `Bearer ${token}`)
      return fetcher(url, { ...requestInit, headers })
    }
    const first = await send(await acquireToken(auth, scopes))
    if (first.status !== 401) return first
    const claims = claimsFromChallenge(first.headers.get('www-authenticate'))
    if (claims === undefined) return first
    // Drained, so the connection can be reused; the retry gets a token with the claims.
    await first.body?.cancel()
    const second = await send(await acquireToken(auth, scopes, { claims }))
    if (second.status !== 401) return second
    const remaining = claimsFromChallenge(second.headers.get('www-authenticate'))
    if (remaining === undefined) return second
    await second.body?.cancel()
    throw rejectionFor(auth, claimsRejection(auth as AuthInfo, remaining, scopes, undefined))
  }

  return Object.freeze({ acquireToken, fetch: call, client: shared })
}
