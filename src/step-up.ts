/**
 * OAuth 2.0 Step Up Authentication Challenge (RFC 9470), for any issuer: a route that needs a
 * stronger (`acr`) or more recent (`auth_time`) user authentication than the token shows answers
 * 401 `insufficient_user_authentication` naming `acr_values` and `max_age` (§3), so the client
 * can ask the authorization server for them and retry.
 */

import { isScopeToken } from './challenge.js'
import { InsufficientUserAuthenticationError } from './errors.js'
import { notAuthenticated } from './scopes.js'
import type { Guard } from './types.js'
import { rejectionFor } from './verifier-context.js'

/** What {@link requireStepUp} needs; at least one of the two. */
export interface StepUpOptions {
  /** Accepted authentication context class references: the token's `acr` must be one of them. */
  acrValues?: string | readonly string[]
  /** Greatest age of the user's authentication (`now - auth_time`), in seconds. */
  maxAge?: number
}

/**
 * A guard that passes when the user's authentication is strong enough (`acr` is one of
 * `acrValues`) and recent enough (`auth_time` at most `maxAge` seconds ago; a token without
 * `auth_time` fails). Otherwise a 401 `insufficient_user_authentication` whose challenge carries
 * `acr_values` and `max_age` (RFC 9470 §3); 401 without authentication.
 *
 * @example
 * ```ts
 * requireStepUp({ acrValues: ['urn:example:mfa'], maxAge: 300 })
 * ```
 */
export function requireStepUp(options: StepUpOptions): Guard {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('requireStepUp needs options { acrValues, maxAge }')
  }
  const { acrValues, maxAge } = options
  const acrs =
    acrValues === undefined
      ? undefined
      : typeof acrValues === 'string'
        ? [acrValues]
        : [...acrValues]
  if (
    acrs !== undefined &&
    (acrs.length === 0 || !acrs.every((v) => typeof v === 'string' && isScopeToken(v)))
  ) {
    throw new TypeError(
      '"acrValues" option of requireStepUp must be a non-empty string or array of strings without spaces, quotes or backslashes',
    )
  }
  if (maxAge !== undefined && (!Number.isSafeInteger(maxAge) || maxAge < 0)) {
    throw new TypeError(
      '"maxAge" option of requireStepUp must be a whole number of seconds, 0 or more',
    )
  }
  if (acrs === undefined && maxAge === undefined) {
    throw new TypeError('requireStepUp needs "acrValues", "maxAge" or both')
  }
  const params: Record<string, string> = {}
  if (acrs !== undefined) params.acr_values = acrs.join(' ')
  if (maxAge !== undefined) params.max_age = String(maxAge)
  Object.freeze(params)
  return (auth, now = Math.floor(Date.now() / 1000)) => {
    if (auth === undefined) throw notAuthenticated()
    const { acr, auth_time: authTime } = auth.claims
    if (acrs !== undefined && (typeof acr !== 'string' || !acrs.includes(acr))) {
      throw rejectionFor(
        auth,
        new InsufficientUserAuthenticationError('a different authentication level is required', {
          reason: 'weak_authentication',
          claim: 'acr',
          params,
        }),
      )
    }
    if (maxAge !== undefined) {
      const fresh =
        typeof authTime === 'number' && Number.isFinite(authTime) && now - authTime <= maxAge
      if (!fresh) {
        throw rejectionFor(
          auth,
          new InsufficientUserAuthenticationError('a more recent authentication is required', {
            reason: 'stale_authentication',
            claim: 'auth_time',
            params,
          }),
        )
      }
    }
  }
}
