/**
 * Trick 2's plain alternative: src/caller-rules.ts's `readAuthInfo` building the AuthInfo with an
 * object literal instead of `new AuthRecord(...)` (a function constructor with
 * `prototype = Object.prototype`, there to keep V8 from pretenuring the literal once the token
 * cache retains many of them). Same fields, same order, same freezing.
 */
import { attachContext } from '../../src/auth-context.js'
import type { ChallengeContext } from '../../src/challenge.js'
import { InvalidTokenError } from '../../src/errors.js'
import { deepFreeze, ImmutableDate } from '../../src/immutable.js'
import { copyNames, parseScopes } from '../../src/scopes.js'
import type { AuthInfo, TokenClaims, TokenHeader } from '../../src/types.js'

const NO_NAMES: readonly string[] = Object.freeze([])

function firstString(a: unknown, b: unknown, c: unknown, d: unknown): string | undefined {
  if (typeof a === 'string') return a
  if (typeof b === 'string') return b
  if (typeof c === 'string') return c
  return typeof d === 'string' ? d : undefined
}

function isAppOnly(claims: TokenClaims, scopes: readonly string[]): boolean {
  const { idtyp } = claims
  if (idtyp === 'app') return true
  if (idtyp === 'user') return false
  return (
    scopes.length === 0 &&
    (claims.gty === 'client-credentials' ||
      (typeof claims.oid === 'string' && claims.oid === claims.sub))
  )
}

function namesOf(value: unknown): readonly string[] | undefined {
  return value === undefined ? NO_NAMES : parseScopes(value)
}

/** src/caller-rules.ts's `readAuthInfo`, the AuthInfo made by an object literal. */
export function readAuthInfoLiteral(
  token: string,
  header: TokenHeader,
  claims: TokenClaims,
  context: ChallengeContext,
): AuthInfo {
  const scp = namesOf(claims.scp)
  const scope = namesOf(claims.scope)
  const roles = namesOf(claims.roles)
  if (scp === undefined || scope === undefined || roles === undefined) {
    throw new InvalidTokenError('the token scp, scope or roles claim has the wrong shape', {
      reason: 'invalid_claim',
    })
  }
  const scopes =
    scope.length === 0
      ? scp
      : scp.length === 0
        ? scope
        : (parseScopes(scp.concat(scope)) as string[])
  const aud: unknown = claims.aud
  const audience =
    typeof aud === 'string' ? Array.of(aud) : Array.isArray(aud) ? copyNames(aud) : []
  const frozenScopes = Object.freeze(scopes)
  const auth: AuthInfo = {
    token,
    header: deepFreeze(header),
    claims: deepFreeze(claims),
    subject: claims.sub,
    issuer: claims.iss,
    audience: Object.freeze(audience),
    scopes: frozenScopes,
    roles: Object.freeze(roles),
    clientId: firstString(claims.azp, claims.appid, claims.client_id, claims.cid),
    tenantId: typeof claims.tid === 'string' ? claims.tid : undefined,
    appOnly: isAppOnly(claims, frozenScopes),
    expiresAt: Object.freeze(new ImmutableDate(claims.exp * 1000)),
    issuedAt:
      typeof claims.iat === 'number'
        ? Object.freeze(new ImmutableDate(claims.iat * 1000))
        : undefined,
  }
  attachContext(auth, context)
  return Object.freeze(auth)
}
