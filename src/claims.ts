import { InsufficientScopeError } from './errors.js'
import { notAuthenticated } from './scopes.js'
import type { AuthInfo, Guard } from './types.js'
import { rejectionFor } from './verifier-context.js'

/**
 * A guard from a predicate over the verified token, for rules scopes and roles cannot say
 * (a tenant, a group, a custom claim). A `false` is a 403 `insufficient_scope` with
 * `description` (keep it free of request data; it is sanitised all the same).
 *
 * @example
 * ```ts
 * requireClaims((auth) => auth.claims.department === 'finance', 'finance staff only')
 * ```
 */
export function requireClaims(
  predicate: (auth: AuthInfo) => boolean,
  description = 'the token does not meet the requirements of this resource',
): Guard {
  if (typeof predicate !== 'function')
    throw new TypeError('requireClaims needs a predicate function')
  return (auth) => {
    if (auth === undefined) throw notAuthenticated()
    if (predicate(auth) === true) return
    throw rejectionFor(auth, new InsufficientScopeError(description, { reason: 'invalid_claim' }))
  }
}
