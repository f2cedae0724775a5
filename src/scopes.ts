import { InsufficientScopeError, UnauthorizedError } from './errors.js'
import { checkGuardNames } from './options.js'
import type { Guard } from './types.js'
import { rejectionFor } from './verifier-context.js'

/** How a guard combines its names: every one of them (`all`, the default) or at least one (`any`). */
export interface GuardOptions {
  match?: 'all' | 'any'
}

/** The arguments guards take: names one by one, or one list with {@link GuardOptions}. */
export type GuardArgs = string[] | [names: string | readonly string[], options?: GuardOptions]

/**
 * Drops empty and repeated names from a list of its own, in place, keeping the first of each.
 * No array is made: lists that end up cached stay apart from V8's allocation-site statistics
 * (see readAuthInfo).
 */
function compact(names: string[]): string[] {
  // A linear scan is cheapest for the usual handful; a Set keeps a hostile list linear.
  const seen = names.length > 16 ? new Set<string>() : undefined
  let kept = 0
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string
    if (name === '') continue
    if (seen === undefined) {
      let repeated = false
      for (let j = 0; j < kept; j++) {
        if (names[j] === name) {
          repeated = true
          break
        }
      }
      if (repeated) continue
    } else {
      if (seen.has(name)) continue
      seen.add(name)
    }
    names[kept++] = name
  }
  if (kept !== names.length) names.length = kept
  return names
}

/** A plain copy of a list (no `Symbol.species`, no iterator: a subclass gives a plain array). */
export function copyNames(names: readonly string[]): string[] {
  const copy = new Array<string>(names.length)
  for (let i = 0; i < names.length; i++) copy[i] = names[i] as string
  return copy
}

/**
 * Parses a `scope` or `scp` claim into its scope tokens: a space-separated string (RFC 6749
 * §3.3, RFC 8693 §4.2) or an array of strings (as Okta sends). Empty tokens and repeats are dropped.
 * Returns `undefined` when the value has any other shape.
 *
 * @example
 * ```ts
 * parseScopes('Files.Read  Files.Write') // ['Files.Read', 'Files.Write']
 * parseScopes(['a', 'b']) // ['a', 'b']
 * parseScopes(42) // undefined
 * ```
 */
export function parseScopes(value: unknown): string[] | undefined {
  if (typeof value === 'string') return compact(value.split(' '))
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item !== 'string') return undefined
    return compact(copyNames(value as string[]))
  }
  return undefined
}

/** Reads the names and options out of a guard's arguments and checks them once. */
export function readGuardArgs(
  what: string,
  args: readonly unknown[],
): { names: string[]; any: boolean } {
  const [first, second] = args
  if (
    args.length <= 2 &&
    (Array.isArray(first) || (args.length === 2 && typeof second === 'object'))
  ) {
    const names = typeof first === 'string' ? [first] : (first as unknown[])
    const options = (second ?? {}) as GuardOptions
    if (
      typeof options !== 'object' ||
      options === null ||
      (options.match !== undefined && options.match !== 'all' && options.match !== 'any')
    ) {
      throw new TypeError(`${what}: "match" option must be "all" or "any"`)
    }
    return { names: [...checkGuardNames(what, names)], any: options.match === 'any' }
  }
  return { names: [...checkGuardNames(what, args)], any: false }
}

/** The 401 a guard throws when no authentication ran or the request was anonymous. */
export function notAuthenticated(): UnauthorizedError {
  return new UnauthorizedError({ reason: 'not_authenticated' }, 'Authentication required')
}

/** Whether `have` contains every (or, with `any`, at least one) of `need`. */
export function hasNames(have: readonly string[], need: readonly string[], any: boolean): boolean {
  if (any) {
    for (const name of need) if (have.includes(name)) return true
    return false
  }
  for (const name of need) if (!have.includes(name)) return false
  return true
}

// "api://{clientId}/Files.Read" or "https://contoso.com/orders/Files.Read": a resource URI, then the scope.
const QUALIFIED_SCOPE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/.+\/([^/]+)$/

/**
 * The token scopes that satisfy each required scope: the name itself and, for a name qualified
 * with a resource URI (`api://{clientId}/Files.Read`), its bare form as well (`Files.Read`),
 * which is how Entra ID writes `scp`. The token's audience has already been checked to be this
 * API, so its bare scope names are this API's.
 */
export function scopeAlternatives(names: readonly string[]): string[][] {
  return names.map((name) => {
    const bare = QUALIFIED_SCOPE.exec(name)?.[1]
    return bare === undefined ? [name] : [name, bare]
  })
}

/** Whether the scopes satisfy every (or, with `any`, at least one) list of alternatives. */
export function hasScopes(
  have: readonly string[],
  need: readonly string[][],
  any: boolean,
): boolean {
  for (const alternatives of need) {
    let found = false
    for (const name of alternatives) {
      if (have.includes(name)) {
        found = true
        break
      }
    }
    if (found === any) return any
  }
  return !any
}

/**
 * A guard that passes when the token carries the scopes (from `scp` or `scope`): all of them by
 * default, at least one with `{ match: 'any' }`. Matching is exact and case-sensitive; `roles`
 * never count. A scope given with its resource URI (`api://{clientId}/Files.Read`) also matches
 * the bare name (`Files.Read`) that Entra ID puts in `scp`. A failure is a 403
 * `insufficient_scope` naming the scopes (RFC 6750 §3.1).
 *
 * @example
 * ```ts
 * requireScopes('Files.Read', 'Files.Write')
 * requireScopes(['Files.Read', 'Files.ReadWrite'], { match: 'any' })
 * ```
 */
export function requireScopes(...args: GuardArgs): Guard {
  const { names, any } = readGuardArgs('requireScopes', args)
  const alternatives = scopeAlternatives(names)
  const description = any
    ? 'the token has none of the scopes this resource accepts'
    : 'the token lacks a scope this resource requires'
  return (auth) => {
    if (auth === undefined) throw notAuthenticated()
    if (hasScopes(auth.scopes, alternatives, any)) return
    throw rejectionFor(
      auth,
      new InsufficientScopeError(description, {
        reason: 'missing_scope',
        scopes: names,
      }),
    )
  }
}

/**
 * A guard that passes when the token carries at least one of the scopes.
 * Same as `requireScopes(names, { match: 'any' })`.
 *
 * @example
 * ```ts
 * requireAnyScope('Files.Read', 'Files.ReadWrite')
 * ```
 */
export function requireAnyScope(...names: string[]): Guard {
  return requireScopes(names, { match: 'any' })
}
