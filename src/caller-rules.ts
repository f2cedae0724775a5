/**
 * The caller rules of the pipeline: the `AuthInfo` of a token whose claims passed (its
 * `scp`/`scope`/`roles` shapes), `allowedClients`, `requirePermissions` and the `validateClaims`
 * rule. Each failure is a 401 `invalid_token`.
 */

import { type ChallengeContext, DEFAULT_CHALLENGE_CONTEXT } from './challenge.js'
import { InvalidTokenError } from './errors.js'
import { deepFreeze, ImmutableDate } from './immutable.js'
import type { ResolvedOptions } from './options.js'
import { remembered } from './remembered.js'
import { copyNames, parseScopes } from './scopes.js'
import type { AuthInfo, TokenBinding, TokenClaims, TokenHeader } from './types.js'
import { attachContext } from './verifier-context.js'

const NO_NAMES: readonly string[] = Object.freeze([])

/** The first of the values that is a string. */
function firstString(a: unknown, b: unknown, c: unknown, d: unknown): string | undefined {
  if (typeof a === 'string') return a
  if (typeof b === 'string') return b
  if (typeof c === 'string') return c
  return typeof d === 'string' ? d : undefined
}

/** Whether a token is an application's own (client credentials) rather than a user's. */
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

/** The binding a `cnf` claim states; the binding steps prove it before a token is accepted. */
function bindingOf(cnf: unknown): TokenBinding | undefined {
  if (typeof cnf !== 'object' || cnf === null) return undefined
  const { jkt } = cnf as { jkt?: unknown }
  if (typeof jkt === 'string') return Object.freeze({ method: 'dpop', jkt })
  const x5t = (cnf as Record<string, unknown>)['x5t#S256']
  if (typeof x5t === 'string') return Object.freeze({ method: 'certificate', x5tS256: x5t })
  return undefined
}

/**
 * An AuthInfo, made with `new` rather than an object literal. V8 counts, per object literal in
 * the source, how many of its objects outlive a young-generation collection; the token cache
 * keeps some AuthInfos, and once it has kept enough V8 may allocate every later one from that
 * literal straight in the old generation, where the many that die young (one-off tokens) are
 * costly to collect, and the young claims they point to survive with them. Objects made by
 * `new` carry no such count. Measured with one distinct-token `decide()` per process (RS256,
 * cache on): with a literal, some processes paid 3-4 µs of garbage collection per token and the
 * others 1 µs; with V8's pretenuring off (--no-allocation-site-pretenuring), or with this
 * constructor and decision.ts's, every process 1 µs. bench/tricks.ts measures it ("records").
 * Its prototype is Object.prototype, so an AuthInfo is a plain object to anyone who looks.
 */
function AuthRecord(
  this: Record<string, unknown>,
  token: string,
  header: TokenHeader,
  claims: TokenClaims,
  audience: readonly string[],
  scopes: readonly string[],
  roles: readonly string[],
  issuerName: string | undefined,
) {
  this.token = token
  this.header = header
  this.claims = claims
  this.subject = claims.sub
  this.issuer = claims.iss
  this.audience = audience
  this.scopes = scopes
  this.roles = roles
  this.clientId = firstString(claims.azp, claims.appid, claims.client_id, claims.cid)
  this.tenantId = typeof claims.tid === 'string' ? claims.tid : undefined
  this.appOnly = isAppOnly(claims, scopes)
  this.expiresAt = Object.freeze(new ImmutableDate(claims.exp * 1000))
  this.issuedAt =
    typeof claims.iat === 'number' ? Object.freeze(new ImmutableDate(claims.iat * 1000)) : undefined
  this.binding = bindingOf(claims.cnf)
  this.issuerName = issuerName
}
AuthRecord.prototype = Object.prototype
const AuthRecordOf = AuthRecord as unknown as new (
  ...args: Parameters<typeof AuthRecord>
) => AuthInfo

// The frozen lists of the `scp`/`scope`/`roles` and `aud` texts seen lately (remembered.ts).
const namesByText = new Map<string, readonly string[]>()
const audienceByText = new Map<string, readonly string[]>()

const splitNames = (text: string): readonly string[] => Object.freeze(parseScopes(text) as string[])
const oneName = (text: string): readonly string[] => Object.freeze([text])

/** A claim read as a frozen list of names, or `undefined` when it has the wrong shape. */
function namesOf(value: unknown): readonly string[] | undefined {
  if (value === undefined) return NO_NAMES
  if (typeof value === 'string') return remembered(namesByText, value, splitNames)
  const names = parseScopes(value)
  return names === undefined ? undefined : Object.freeze(names)
}

/** The `aud` claim as a frozen list (the validator checked it before; inspect may not have). */
function audienceOf(aud: unknown): readonly string[] {
  if (typeof aud === 'string') return remembered(audienceByText, aud, oneName)
  return Object.freeze(Array.isArray(aud) ? copyNames(aud) : [])
}

/**
 * Builds the {@link AuthInfo} of a token whose claims passed their checks, immutable all the way
 * down (header, claims and every nested value, the lists, the dates); a `scp`,
 * `scope` or `roles` claim of the wrong shape is a 401 `invalid_token`.
 */
export function readAuthInfo(
  token: string,
  header: TokenHeader,
  claims: TokenClaims,
  context: ChallengeContext = DEFAULT_CHALLENGE_CONTEXT,
  issuerName?: string,
): AuthInfo {
  const scp = namesOf(claims.scp)
  const scope = namesOf(claims.scope)
  const roles = namesOf(claims.roles)
  if (scp === undefined || scope === undefined || roles === undefined) {
    throw new InvalidTokenError(
      'the token scp, scope or roles claim must be a string or an array of strings',
      { reason: 'invalid_claim' },
    )
  }
  const scopes =
    scope.length === 0
      ? scp
      : scp.length === 0
        ? scope
        : Object.freeze(parseScopes(scp.concat(scope)) as string[])
  const audience = audienceOf(claims.aud)
  return authInfoOf(token, header, claims, audience, scopes, roles, context, issuerName)
}

/**
 * The {@link AuthInfo} of a token from its lists (frozen already); its header and claims are
 * frozen all the way down here. A frozen header is one parseAccessToken froze (token.ts), all the
 * way down, and maybe shared with other tokens. readAuthInfo's second half; bench/tricks.ts
 * builds AuthInfos from lists of its own with it.
 */
export function authInfoOf(
  token: string,
  header: TokenHeader,
  claims: TokenClaims,
  audience: readonly string[],
  scopes: readonly string[],
  roles: readonly string[],
  context: ChallengeContext,
  issuerName: string | undefined,
): AuthInfo {
  const auth = new AuthRecordOf(
    token,
    Object.isFrozen(header) ? header : deepFreeze(header),
    deepFreeze(claims),
    audience,
    scopes,
    roles,
    issuerName,
  )
  attachContext(auth, context)
  return Object.freeze(auth)
}

/** `allowedClients`: the calling application must be on the list, when there is one. */
export function checkAllowedClient(auth: AuthInfo, options: ResolvedOptions): void {
  if (options.allowedClients === undefined) return
  if (auth.clientId === undefined || !options.allowedClients.has(auth.clientId)) {
    throw new InvalidTokenError(
      'the calling application (azp, appid) is not allowed to call this API',
      { reason: 'wrong_client', claim: 'azp' },
    )
  }
}

/** `requirePermissions`: the token must carry a scope or a role, when the option is on. */
export function checkPermissions(auth: AuthInfo, options: ResolvedOptions): void {
  if (options.requirePermissions && auth.scopes.length === 0 && auth.roles.length === 0) {
    throw new InvalidTokenError(
      'the token carries neither scopes (scp) nor application permissions (roles)',
      { reason: 'no_permissions' },
    )
  }
}

/** The `validateClaims` rule, when there is one. */
export function checkClaimsRule(auth: AuthInfo, options: ResolvedOptions): void {
  if (options.validateClaims === undefined) return
  const problem = options.validateClaims(auth.claims, auth.header)
  if (problem !== undefined) {
    throw new InvalidTokenError(problem.description, { reason: problem.reason })
  }
}

/**
 * The checks on the caller that run after the claims: `allowedClients`, `requirePermissions`
 * and the `validateClaims` rule. Each failure is a 401 `invalid_token`.
 */
export function checkCaller(auth: AuthInfo, options: ResolvedOptions): void {
  checkAllowedClient(auth, options)
  checkPermissions(auth, options)
  checkClaimsRule(auth, options)
}
