import { attachContext } from './auth-context.js'
import {
  type AuthorizationInput,
  missingCredentials,
  parseAuthorization,
  peekBearerToken,
} from './authorization.js'
import { type ChallengeContext, DEFAULT_CHALLENGE_CONTEXT } from './challenge.js'
import { type Accepted, ANONYMOUS, type Decision, type Rejected } from './decision.js'
import { BearerGuardError, DEFAULT_REALM, InvalidTokenError } from './errors.js'
import { emitEvent } from './events.js'
import { deepFreeze, ImmutableDate } from './immutable.js'
import {
  createRemoteKeySource,
  createStaticKeySource,
  type KeySource,
  type VerificationKey,
} from './jwks.js'
import { type ResolvedOptions, resolveOptions, type ValidatorOptions } from './options.js'
import { type RequestLike, readHeader } from './request.js'
import { copyNames, parseScopes } from './scopes.js'
import { checkClaims, checkHeader, checkSignature, type ParsedToken, parseToken } from './token.js'
import { createTokenCache } from './token-cache.js'
import type { AuthInfo, TokenClaims, TokenHeader } from './types.js'

/** Options of {@link Validator.authenticate}. */
export interface AuthenticateOptions {
  /** When false, a request without Bearer credentials yields `undefined` instead of a 401. A bad token is still rejected. Default true. */
  credentialsRequired?: boolean
}

/**
 * Verifies bearer tokens. Create one per protected API and share it: every route and request
 * uses its one key cache.
 */
export interface Validator {
  /**
   * Verifies a token and returns what it says about the caller, or rejects with a
   * {@link BearerGuardError}: 401 `invalid_token` for any token that fails, 503 when no key can be had.
   */
  verify(token: string): Promise<AuthInfo>
  /**
   * Reads the Authorization header (one value, or every value a request carried) and verifies
   * its Bearer token. No Bearer credentials: 401 without error code (RFC 6750 §3.1); malformed
   * or repeated credentials: 400 `invalid_request`.
   */
  authenticate(
    authorization: AuthorizationInput,
    options?: { credentialsRequired?: true },
  ): Promise<AuthInfo>
  /** With `{ credentialsRequired: false }`: `undefined` for a request without Bearer credentials. */
  authenticate(
    authorization: AuthorizationInput,
    options: AuthenticateOptions,
  ): Promise<AuthInfo | undefined>
  /**
   * The answer for credentials whose token was verified before and is still valid (a hit of the
   * verified-token cache), synchronously; `undefined` otherwise, and then {@link authenticate}
   * decides. Adapters call it first, so a repeated token costs no promise.
   *
   * @example
   * ```ts
   * const auth = validator.lookup(header) ?? (await validator.authenticate(header))
   * ```
   */
  lookup(authorization: AuthorizationInput): AuthInfo | undefined
  /**
   * Judges a request as it is: a Node request (Express's `req`, Koa's `ctx.req`, Fastify's
   * `request.raw`) or a Fetch-API `Request`. Every adapter calls this. The decision is
   * synchronous whenever nothing needs waiting for (a token verified before, a request refused
   * before any key is needed, keys already loaded), a promise otherwise. The promise rejects only
   * for an error that is not a rejection (a throwing issuer predicate, say).
   *
   * @example
   * ```ts
   * const decision = validator.decide(req)
   * const { auth, error } = decision instanceof Promise ? await decision : decision
   * if (error) throw error // 401, 400, 403 or 503, with its headers
   * ```
   */
  decide(request: RequestLike, options?: AuthenticateOptions): Decision | Promise<Decision>
  /** The realm, schemes and parameters every challenge of this validator carries. */
  readonly challengeContext: ChallengeContext
  /** Loads the signing keys now, so the first requests do not wait; rejects with a 503 error when they cannot be had. */
  warmUp(): Promise<void>
  /** The realm named in this validator's challenges. */
  readonly realm: string
  /** The validated options. */
  readonly options: ResolvedOptions
}

// A registered symbol, not a WeakSet: a validator made by the CommonJS build must still be
// recognised by an adapter loaded as ESM (and the other way round) in one process.
const VALIDATOR = Symbol.for('bearer-guard.validator')
const fromOptions = new WeakMap<object, Validator>()

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

/**
 * An AuthInfo, made with `new` rather than an object literal: V8 counts how many objects from
 * each literal outlive a young-generation collection, and once the token cache has kept a few
 * hundred, it would allocate every later AuthInfo straight in the old generation, where
 * short-lived ones are costly to collect (measured: 15 % more CPU per token). Its prototype is
 * Object.prototype, so it is a plain object to anyone who looks.
 */
function AuthRecord(
  this: Record<string, unknown>,
  token: string,
  header: TokenHeader,
  claims: TokenClaims,
  audience: readonly string[],
  scopes: readonly string[],
  roles: readonly string[],
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
}
AuthRecord.prototype = Object.prototype
const NewAuthInfo = AuthRecord as unknown as new (
  ...args: Parameters<typeof AuthRecord>
) => AuthInfo

/** A claim read as a list of names, or `undefined` when it has the wrong shape. */
function namesOf(value: unknown): readonly string[] | undefined {
  return value === undefined ? NO_NAMES : parseScopes(value)
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
        : (parseScopes(scp.concat(scope)) as string[])
  // The validator checked aud before; inspectToken reads the claims whatever their checks said.
  const aud: unknown = claims.aud
  const audience =
    typeof aud === 'string' ? Array.of(aud) : Array.isArray(aud) ? copyNames(aud) : []
  const auth = new NewAuthInfo(
    token,
    deepFreeze(header),
    deepFreeze(claims),
    Object.freeze(audience),
    Object.freeze(scopes),
    Object.freeze(roles),
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

function createKeySource(options: ResolvedOptions): KeySource {
  const source = options.keySource
  return source.kind === 'static'
    ? createStaticKeySource(options, source.jwks)
    : createRemoteKeySource(options, source)
}

/** The challenge context of a validator's options: its realm, Bearer only for now. */
export function challengeContextOf(options: ResolvedOptions): ChallengeContext {
  if (options.realm === DEFAULT_REALM) return DEFAULT_CHALLENGE_CONTEXT
  return Object.freeze({ realm: options.realm, schemes: DEFAULT_CHALLENGE_CONTEXT.schemes })
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

/**
 * Creates a validator: checks the options at once (a `TypeError` names any bad option) and
 * prepares the key source. No network request happens until the first token or `warmUp()`.
 *
 * @example
 * ```ts
 * const validator = createValidator({
 *   issuer: 'https://login.microsoftonline.com/{tenant}/v2.0',
 *   audience: 'api://orders',
 *   jwksUri: 'https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys',
 * })
 * const auth = await validator.authenticate(req.headers.authorization)
 * ```
 */
export function createValidator(options: ValidatorOptions): Validator {
  const resolved = resolveOptions(options)
  const { clockTolerance, maxTokenAge, signingKeyIssuer } = resolved
  const context = challengeContextOf(resolved)
  const keySource = createKeySource(resolved)
  const cache =
    resolved.tokenCacheEntries > 0 ? createTokenCache(resolved.tokenCacheEntries) : undefined

  function explain(error: unknown, claims: TokenClaims): unknown {
    if (!(error instanceof InvalidTokenError) || resolved.describeRejection === undefined)
      return error
    const description = resolved.describeRejection(error.reason, claims)
    if (description === undefined || description === error.message) return error
    return new InvalidTokenError(description, {
      reason: error.reason,
      claim: error.claim,
      cause: error.cause ?? error,
    })
  }

  /** The last steps, once a key is at hand: key issuer, signature, then the cache. */
  function finish(
    token: string,
    parsed: ParsedToken,
    auth: AuthInfo,
    key: VerificationKey,
  ): Accepted {
    const { claims } = parsed
    if (signingKeyIssuer !== undefined && typeof key.entry.jwk.issuer === 'string') {
      if (!signingKeyIssuer(key.entry.jwk.issuer, claims)) {
        throw new InvalidTokenError('the signing key of the token belongs to another issuer', {
          reason: 'wrong_issuer',
          claim: 'iss',
        })
      }
    }
    if (!checkSignature(token, parsed, key.verifier)) {
      throw new InvalidTokenError('the token signature is invalid', { reason: 'bad_signature' })
    }
    const accepted: Accepted = { auth, error: undefined, headers: undefined }
    if (cache !== undefined) {
      const { nbf, iat, exp } = claims
      const notBefore = Math.max(nbf ?? Number.NEGATIVE_INFINITY, iat ?? Number.NEGATIVE_INFINITY)
      const expires =
        maxTokenAge === undefined
          ? exp
          : Math.min(exp, (iat as number) + maxTokenAge + clockTolerance)
      cache.set(token, accepted, key.entry, notBefore - clockTolerance, expires)
    }
    return accepted
  }

  /** The rest of a verification that has to wait: for the issuer check, or for the keys. */
  async function finishAsync(
    token: string,
    parsed: ParsedToken,
    pending: Promise<void> | undefined,
    checked: AuthInfo | undefined,
  ): Promise<Accepted> {
    let auth = checked
    if (auth === undefined) {
      try {
        await pending
        auth = readAuthInfo(token, parsed.header, parsed.claims, context)
        checkCaller(auth, resolved)
      } catch (error) {
        throw explain(error, parsed.claims)
      }
    }
    const key = keySource.peek(parsed.header) ?? (await keySource.getKey(parsed.header))
    return finish(token, parsed, auth, key)
  }

  /**
   * Verifies a token that is not in the cache, synchronously whenever nothing needs waiting
   * for (keys already loaded and a synchronous issuer check); throws or rejects with the error.
   */
  function verifyToken(token: string, now: number): Accepted | Promise<Accepted> {
    const parsed = parseToken(token, resolved)
    checkHeader(parsed.header, resolved)
    let pending: Promise<void> | undefined
    let auth: AuthInfo
    try {
      pending = checkClaims(parsed.claims, resolved, now)
      if (pending !== undefined) return finishAsync(token, parsed, pending, undefined)
      auth = readAuthInfo(token, parsed.header, parsed.claims, context)
      checkCaller(auth, resolved)
    } catch (error) {
      throw explain(error, parsed.claims)
    }
    const key = keySource.peek(parsed.header)
    if (key === undefined) return finishAsync(token, parsed, undefined, auth)
    return finish(token, parsed, auth, key)
  }

  /**
   * Where a rejection leaves the core: the challenge is rendered for this validator's context
   * and the event reported. Anything but a bearer-guard error is thrown on as it is.
   */
  function rejected(error: unknown, report = true): Rejected {
    if (!(error instanceof BearerGuardError)) throw error
    if (context !== DEFAULT_CHALLENGE_CONTEXT) error.render(context)
    if (report && resolved.onEvent !== undefined) {
      emitEvent(resolved.onEvent, {
        type: 'token_rejected',
        status: error.status,
        reason: error.reason,
        description: error.message,
      })
    }
    return { auth: undefined, error, headers: undefined }
  }

  /** The decision about a token: from the cache, or verified (synchronously when it can be). */
  function decideToken(token: string, now: number): Decision | Promise<Decision> {
    let result: Accepted | Promise<Accepted>
    try {
      result = verifyToken(token, now)
    } catch (error) {
      // Never a synchronous throw: an error that is not a rejection rejects the promise.
      return error instanceof BearerGuardError ? rejected(error) : Promise.reject(error)
    }
    return result instanceof Promise ? result.catch((error) => rejected(error)) : result
  }

  function decideCredentials(
    authorization: AuthorizationInput,
    credentialsRequired: boolean,
    now: number,
  ): Decision | Promise<Decision> {
    if (cache !== undefined) {
      // A token verified before is found without parsing the header strictly: a hit is the exact
      // string that passed every check, so strict parsing would give the same token.
      const candidate = peekBearerToken(authorization)
      const hit = candidate === undefined ? undefined : cache.get(candidate, now)
      if (hit !== undefined) return hit
    }
    let token: string | undefined
    try {
      token = parseAuthorization(authorization)
    } catch (error) {
      return rejected(error)
    }
    if (token !== undefined) return decideToken(token, now)
    // No credentials is not a rejected token: no event (RFC 6750 §3.1, no error code either).
    return credentialsRequired ? rejected(missingCredentials(), false) : ANONYMOUS
  }

  const settle = (decision: Decision | Promise<Decision>): Promise<AuthInfo> =>
    decision instanceof Promise ? decision.then(outcome) : outcomeAsPromise(decision)

  const validator = {
    realm: resolved.realm,
    options: resolved,
    challengeContext: context,
    decide(request: RequestLike, authOptions?: AuthenticateOptions) {
      return decideCredentials(
        readHeader(request, 'authorization'),
        authOptions?.credentialsRequired !== false,
        nowSeconds(),
      )
    },
    verify(token: string) {
      const now = nowSeconds()
      if (cache !== undefined && typeof token === 'string') {
        const hit = cache.get(token, now)
        if (hit !== undefined) return Promise.resolve(hit.auth)
      }
      return settle(decideToken(token, now))
    },
    lookup(authorization: AuthorizationInput) {
      if (cache === undefined) return undefined
      const candidate = peekBearerToken(authorization)
      return candidate === undefined ? undefined : cache.get(candidate, nowSeconds())?.auth
    },
    authenticate(authorization: AuthorizationInput, authOptions?: AuthenticateOptions) {
      return settle(
        decideCredentials(authorization, authOptions?.credentialsRequired !== false, nowSeconds()),
      )
    },
    warmUp() {
      return keySource.warmUp()
    },
  } as Validator
  // Not enumerable: a copy made with spread is not a validator.
  Object.defineProperty(validator, VALIDATOR, { value: true })
  return Object.freeze(validator)
}

/** The AuthInfo of a decision, or its error thrown: what `verify` and `authenticate` resolve to. */
function outcome(decision: Decision): AuthInfo {
  if (decision.error !== undefined) throw decision.error
  return decision.auth as AuthInfo
}

function outcomeAsPromise(decision: Decision): Promise<AuthInfo> {
  return decision.error !== undefined
    ? Promise.reject(decision.error)
    : Promise.resolve(decision.auth as AuthInfo)
}

/**
 * Whether `value` is a validator made by {@link createValidator}.
 *
 * @example
 * ```ts
 * isValidator(createValidator(options)) // true
 * ```
 */
export function isValidator(value: unknown): value is Validator {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [VALIDATOR]?: unknown })[VALIDATOR] === true
  )
}

/**
 * Returns the validator itself, or a new one made from options: what adapters call with the
 * argument of `authenticate(optionsOrValidator)`, once, when the middleware is created.
 *
 * @example
 * ```ts
 * const validator = toValidator(optionsOrValidator)
 * ```
 */
export function toValidator(optionsOrValidator: ValidatorOptions | Validator): Validator {
  if (isValidator(optionsOrValidator)) return optionsOrValidator
  if (typeof optionsOrValidator !== 'object' || optionsOrValidator === null) {
    return createValidator(optionsOrValidator)
  }
  // The same options object gives the same validator, so middleware created again and again
  // from one options object shares one key cache instead of fetching keys each time.
  let validator = fromOptions.get(optionsOrValidator)
  if (validator === undefined) {
    validator = createValidator(optionsOrValidator)
    fromOptions.set(optionsOrValidator, validator)
  }
  return validator
}
