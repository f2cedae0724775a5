/**
 * Entra ID Conditional Access authentication contexts (`acrs`) and client capabilities
 * (`xms_cc`): a route that needs an authentication context answers a token without it with a
 * claims challenge when the client can handle one, and with a 403 when it cannot (Microsoft's
 * "Claims challenges, claims requests and client capabilities").
 */

import { InsufficientClaimsError, InsufficientScopeError } from './errors.js'
import { notAuthenticated } from './scopes.js'
import type { AuthInfo, Guard, TokenClaims } from './types.js'
import { rejectionFor } from './verifier-context.js'

// Entra ID's authentication context ids are c1 to c99; any short token is accepted here.
const AUTH_CONTEXT_ID = /^[A-Za-z0-9._-]{1,64}$/

/** The strings of a claim that is a string (space-separated) or an array of strings. */
function claimValues(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((item) => item !== '')
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string')
  return []
}

/**
 * Whether the token says its client declared a capability in `xms_cc` (a string or an array;
 * compared case-insensitively). `cp1` means the client can handle claims challenges.
 *
 * @example
 * ```ts
 * hasClientCapability(auth) // true when xms_cc holds "cp1"
 * ```
 */
export function hasClientCapability(
  auth: AuthInfo | { claims: TokenClaims },
  capability = 'cp1',
): boolean {
  const wanted = capability.toLowerCase()
  return claimValues(auth.claims.xms_cc).some((value) => value.toLowerCase() === wanted)
}

/**
 * The claims request that asks Entra ID for an authentication context:
 * `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`.
 *
 * @example
 * ```ts
 * authContextClaims('c1') // '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'
 * ```
 */
export function authContextClaims(id: string): string {
  return JSON.stringify({ access_token: { acrs: { essential: true, value: id } } })
}

/**
 * A guard for a route that needs an Entra ID Conditional Access authentication context
 * (`c1`...`c99`) in the token's `acrs` claim. Without it, a client that declared the `cp1`
 * capability (`xms_cc`) gets a 401 `insufficient_claims` challenge whose `claims` asks for the
 * context, so it can get a new token and retry; any other client gets a 403
 * `insufficient_scope`, since it cannot answer a claims challenge. With `azureAd()` the
 * challenge also names the tenant's `authorization_uri`.
 *
 * @example
 * ```ts
 * requireAuthContext('c1')
 * ```
 */
export function requireAuthContext(id: string): Guard {
  if (typeof id !== 'string' || !AUTH_CONTEXT_ID.test(id)) {
    throw new TypeError(
      'requireAuthContext needs an authentication context id (c1 to c99) of letters, digits, ".", "_" or "-"',
    )
  }
  const claims = authContextClaims(id)
  const description = `this resource requires the authentication context ${id}`
  return (auth) => {
    if (auth === undefined) throw notAuthenticated()
    if (claimValues(auth.claims.acrs).includes(id)) return
    if (hasClientCapability(auth)) {
      throw rejectionFor(
        auth,
        new InsufficientClaimsError(description, { reason: 'missing_auth_context', claims }),
      )
    }
    throw rejectionFor(
      auth,
      new InsufficientScopeError(
        `${description}, and the client cannot handle claims challenges (no cp1 in xms_cc)`,
        { reason: 'missing_auth_context' },
      ),
    )
  }
}
