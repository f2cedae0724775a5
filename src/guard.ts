/**
 * Route guards reach every framework through one small wrapper per framework (after auth0's
 * `toHandler`): the guard factories (`requireScopes`, `requireRoles`, ...) and their TSDoc are
 * declared once, in the core, and {@link createGuards} hands an adapter the same eight names
 * wrapped in its own middleware type.
 *
 * A guard's rejection answers with the challenge context of the validator that produced the
 * `AuthInfo` (its realm and schemes): see verifier-context.ts.
 */
import { requireAuthContext } from './auth-contexts.js'
import { requireClaims } from './claims.js'
import { BearerGuardError } from './errors.js'
import { requireAnyRole, requireRoles, requireScopesOrRoles } from './roles.js'
import { requireAnyScope, requireScopes } from './scopes.js'
import { requireStepUp } from './step-up.js'
import type { AuthInfo, Guard } from './types.js'

/**
 * Runs a guard: `undefined` when the caller may proceed, else the rejection (401 without
 * authentication, 403 `insufficient_scope`), its challenge in the terms of the validator that
 * verified the token. An error that is not a rejection (a throwing predicate) is thrown on.
 *
 * @example
 * ```ts
 * const denied = checkGuard(requireScopes('Files.Read'), req.auth)
 * if (denied) return next(denied)
 * ```
 */
export function checkGuard(guard: Guard, auth: AuthInfo | undefined): BearerGuardError | undefined {
  try {
    guard(auth)
  } catch (error) {
    if (!(error instanceof BearerGuardError)) throw error
    return error
  }
  return undefined
}

/**
 * The guard factories, each returning a framework's middleware `M`. TSDoc is written once,
 * here; every adapter exports these eight names from {@link createGuards}.
 */
export interface GuardFactories<M> {
  /**
   * Needs the token's scopes (`scp` or `scope`): all of them by default, any of them with
   * `{ match: 'any' }`. A scope given with its resource URI (`api://{clientId}/Files.Read`) also
   * matches the bare name Entra ID puts in `scp`. 403 `insufficient_scope` naming the scopes when
   * lacking (RFC 6750 §3.1), 401 without authentication. `roles` never count.
   *
   * @example
   * ```ts
   * app.get('/files', requireScopes('Files.Read'), listFiles)
   * app.get('/files', requireScopes(['Files.Read', 'Files.ReadWrite'], { match: 'any' }), listFiles)
   * ```
   */
  requireScopes(...args: Parameters<typeof requireScopes>): M
  /**
   * Needs at least one of the scopes: `requireScopes(names, { match: 'any' })`.
   *
   * @example
   * ```ts
   * app.get('/files', requireAnyScope('Files.Read', 'Files.ReadWrite'), listFiles)
   * ```
   */
  requireAnyScope(...names: Parameters<typeof requireAnyScope>): M
  /**
   * Needs the token's `roles` (app roles, or an application's permissions in an app-only token):
   * all of them by default, any with `{ match: 'any' }`. Scopes never count. 403 when lacking.
   *
   * @example
   * ```ts
   * app.delete('/orders/:id', requireRoles('Orders.Admin'), deleteOrder)
   * ```
   */
  requireRoles(...args: Parameters<typeof requireRoles>): M
  /**
   * Needs at least one of the roles: `requireRoles(names, { match: 'any' })`.
   *
   * @example
   * ```ts
   * app.get('/reports', requireAnyRole('Reader', 'Writer'), listReports)
   * ```
   */
  requireAnyRole(...names: Parameters<typeof requireAnyRole>): M
  /**
   * Passes a delegated token with any of the scopes, or an app-only token with any of the roles
   * (application permissions), like Microsoft.Identity.Web's RequiredScopeOrAppPermission.
   *
   * @example
   * ```ts
   * app.get('/data', requireScopesOrRoles('Data.Read', 'Data.Read.All'), readData)
   * ```
   */
  requireScopesOrRoles(...args: Parameters<typeof requireScopesOrRoles>): M
  /**
   * Passes when a predicate over the verified token returns `true`; otherwise 403 with the
   * description given (keep it free of request data).
   *
   * @example
   * ```ts
   * app.get('/finance', requireClaims((auth) => auth.claims.department === 'finance'), handler)
   * ```
   */
  requireClaims(...args: Parameters<typeof requireClaims>): M
  /**
   * Needs an Entra ID Conditional Access authentication context (`c1`...`c99`) in the token's
   * `acrs`. Without it, a client that declared the `cp1` capability (`xms_cc`) gets 401
   * `insufficient_claims` with `claims` asking for the context (base64 of
   * `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`), and, with `azureAd()`, the
   * tenant's `authorization_uri`; any other client gets 403 `insufficient_scope`, as it cannot
   * answer a claims challenge.
   *
   * @example
   * ```ts
   * app.post('/payments', requireAuthContext('c1'), pay)
   * ```
   */
  requireAuthContext(...args: Parameters<typeof requireAuthContext>): M
  /**
   * RFC 9470 step-up for any issuer: needs `acr` to be one of `acrValues` and/or `auth_time` at
   * most `maxAge` seconds ago; otherwise 401 `insufficient_user_authentication` with
   * `acr_values` and `max_age` in the challenge (§3).
   *
   * @example
   * ```ts
   * app.post('/transfer', requireStepUp({ acrValues: ['urn:example:mfa'], maxAge: 300 }), transfer)
   * ```
   */
  requireStepUp(...args: Parameters<typeof requireStepUp>): M
}

/**
 * The eight guard factories wrapped for a framework by `wrap`, the one function an adapter writes
 * (it runs {@link checkGuard} and hands a rejection to the framework).
 *
 * @example
 * ```ts
 * export const { requireScopes, requireRoles } = createGuards((guard) => (req, _res, next) =>
 *   next(checkGuard(guard, req.auth)))
 * ```
 */
export function createGuards<M>(wrap: (guard: Guard) => M): GuardFactories<M> {
  return {
    requireScopes: (...args) => wrap(requireScopes(...args)),
    requireAnyScope: (...names) => wrap(requireAnyScope(...names)),
    requireRoles: (...args) => wrap(requireRoles(...args)),
    requireAnyRole: (...names) => wrap(requireAnyRole(...names)),
    requireScopesOrRoles: (...args) => wrap(requireScopesOrRoles(...args)),
    requireClaims: (...args) => wrap(requireClaims(...args)),
    requireAuthContext: (...args) => wrap(requireAuthContext(...args)),
    requireStepUp: (...args) => wrap(requireStepUp(...args)),
  }
}
