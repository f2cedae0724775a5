/**
 * The plain alternative to caller-rules.ts's tables of claim lists: every token's `scp`,
 * `scope`, `roles` and `aud` made into new frozen lists (split, copied, frozen), as before the
 * tables. The rest is the product's own (`authInfoOf`).
 */
import { authInfoOf } from '../../src/caller-rules.js'
import { DEFAULT_CHALLENGE_CONTEXT } from '../../src/challenge.js'
import { InvalidTokenError } from '../../src/errors.js'
import { copyNames, parseScopes } from '../../src/scopes.js'
import type { AuthInfo, TokenClaims, TokenHeader } from '../../src/types.js'

const NO_NAMES: readonly string[] = Object.freeze([])

function namesOf(value: unknown): readonly string[] | undefined {
  if (value === undefined) return NO_NAMES
  const names = parseScopes(value)
  return names === undefined ? undefined : Object.freeze(names)
}

/** caller-rules.ts's `readAuthInfo`, its lists made anew for every token. */
export function readAuthInfoFreshLists(
  token: string,
  header: TokenHeader,
  claims: TokenClaims,
): AuthInfo {
  const scp = namesOf(claims.scp)
  const scope = namesOf(claims.scope)
  const roles = namesOf(claims.roles)
  if (scp === undefined || scope === undefined || roles === undefined) {
    throw new InvalidTokenError('the token scp, scope or roles claim is malformed', {
      reason: 'invalid_claim',
    })
  }
  const scopes =
    scope.length === 0
      ? scp
      : scp.length === 0
        ? scope
        : Object.freeze(parseScopes(scp.concat(scope)) as string[])
  const aud: unknown = claims.aud
  const audience = Object.freeze(
    typeof aud === 'string' ? [aud] : Array.isArray(aud) ? copyNames(aud) : [],
  )
  const context = DEFAULT_CHALLENGE_CONTEXT
  return authInfoOf(token, header, claims, audience, scopes, roles, context, undefined)
}
