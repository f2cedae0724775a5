import { InsufficientScopeError } from './errors.js'
import {
  type GuardArgs,
  hasNames,
  hasScopes,
  notAuthenticated,
  readGuardArgs,
  scopeAlternatives,
} from './scopes.js'
import type { Guard } from './types.js'
import { rejectionFor } from './verifier-context.js'

/**
 * A guard that passes when the token's `roles` claim carries the roles (app roles, or an
 * application's permissions in an app-only token): all of them by default, at least one with
 * `{ match: 'any' }`. Scopes never count. A failure is a 403 `insufficient_scope`.
 *
 * @example
 * ```ts
 * requireRoles('Orders.Admin')
 * requireRoles(['Data.Read.All', 'Data.ReadWrite.All'], { match: 'any' })
 * ```
 */
export function requireRoles(...args: GuardArgs): Guard {
  const { names, any } = readGuardArgs('requireRoles', args)
  const description = `the token lacks ${any ? 'every role' : 'a role'} this resource accepts: ${names.join(any ? ' or ' : ' and ')}`
  return (auth) => {
    if (auth === undefined) throw notAuthenticated()
    if (hasNames(auth.roles, names, any)) return
    throw rejectionFor(auth, new InsufficientScopeError(description, { reason: 'missing_role' }))
  }
}

/**
 * A guard that passes when the token carries at least one of the roles.
 * Same as `requireRoles(names, { match: 'any' })`.
 *
 * @example
 * ```ts
 * requireAnyRole('Reader', 'Writer')
 * ```
 */
export function requireAnyRole(...names: string[]): Guard {
  return requireRoles(names, { match: 'any' })
}

/**
 * A guard for APIs that serve both users and daemons, like Microsoft.Identity.Web's
 * RequiredScopeOrAppPermission: a delegated token passes on any of `scopes` (from `scp` or
 * `scope`), an app-only token on any of `roles` (its application permissions).
 *
 * Roles count only for app-only tokens: in a delegated token `roles` holds the user's app roles,
 * which are not the permissions this guard is about. Scopes count for any token, so an issuer
 * that puts an application's grants in `scope` (Auth0, Okta client credentials) works too; an
 * Entra ID app-only token carries no `scp`, so a scope name that sits in its `roles` never passes.
 *
 * @example
 * ```ts
 * requireScopesOrRoles('Data.Read', 'Data.Read.All')
 * requireScopesOrRoles({ scopes: ['Data.Read'], roles: ['Data.Read.All'] })
 * ```
 */
export function requireScopesOrRoles(
  scopes: string | readonly string[] | { scopes?: readonly string[]; roles?: readonly string[] },
  roles?: string | readonly string[],
): Guard {
  if (typeof scopes !== 'string' && (typeof scopes !== 'object' || scopes === null)) {
    throw new TypeError(
      'requireScopesOrRoles needs scope names, a list of them, or { scopes, roles } as its first argument',
    )
  }
  const listOf = (value: unknown) => (typeof value === 'string' ? [value] : value)
  const given = scopes as { scopes?: unknown; roles?: unknown }
  const spec =
    typeof scopes === 'object' && !Array.isArray(scopes)
      ? ({ scopes: listOf(given.scopes), roles: listOf(given.roles) } as {
          scopes?: readonly string[]
          roles?: readonly string[]
        })
      : {
          scopes: typeof scopes === 'string' ? [scopes] : (scopes as readonly string[]),
          roles: typeof roles === 'string' ? [roles] : roles,
        }
  for (const [what, value] of [
    ['scopes', spec.scopes],
    ['roles', spec.roles],
  ] as const) {
    if (value !== undefined && !Array.isArray(value)) {
      throw new TypeError(`requireScopesOrRoles: "${what}" must be a name or a list of names`)
    }
  }
  const scopeNames =
    spec.scopes === undefined || spec.scopes.length === 0
      ? []
      : readGuardArgs('requireScopesOrRoles', [spec.scopes]).names
  const roleNames =
    spec.roles === undefined || spec.roles.length === 0
      ? []
      : readGuardArgs('requireScopesOrRoles', [spec.roles]).names
  const scopeOptions = scopeAlternatives(scopeNames)
  if (scopeNames.length === 0 && roleNames.length === 0) {
    throw new TypeError('requireScopesOrRoles needs at least one scope or role')
  }
  return (auth) => {
    if (auth === undefined) throw notAuthenticated()
    if (scopeOptions.length > 0 && hasScopes(auth.scopes, scopeOptions, true)) return
    if (auth.appOnly && hasNames(auth.roles, roleNames, true)) return
    throw rejectionFor(
      auth,
      new InsufficientScopeError(
        'the token has none of the delegated scopes or application permissions this resource accepts',
        { reason: 'missing_scope', scopes: scopeNames },
      ),
    )
  }
}
