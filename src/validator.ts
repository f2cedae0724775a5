import {
  type AuthorizationInput,
  type Credentials,
  checkTokenCharacters,
  missingCredentials,
  parseCredentialsUnchecked,
  peekBearerToken,
  peekCredentials,
} from './authorization.js'
import {
  type ChallengeContext,
  type ChallengeScheme,
  DEFAULT_CHALLENGE_CONTEXT,
} from './challenge.js'
import { type Accepted, ANONYMOUS, acceptedFor, type Decision, type Rejected } from './decision.js'
import { hasValidationSubscribers, traceValidation, type ValidationMessage } from './diagnostics.js'
import {
  BearerGuardError,
  DEFAULT_REALM,
  InvalidRequestError,
  InvalidTokenError,
} from './errors.js'
import { emitEvent } from './events.js'
import { createKeySourceFor, type VerificationKey } from './jwks.js'
import { type ResolvedOptions, resolveOptions, type ValidatorOptions } from './options.js'
import { parsedToken } from './parsed-handover.js'
import {
  activeSteps,
  explainRejection,
  isExplained,
  type RequestContext,
  type Step,
  type StepGroup,
  type TokenState,
  withoutSecrets,
} from './pipeline.js'
import { type RequestLike, readHeader } from './request.js'
import { checkConfirmation, checkSignature, type ParsedToken } from './token.js'
import { createTokenCache } from './token-cache.js'
import type { AuthInfo, TokenClaims } from './types.js'

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
   * for an error that is not a rejection (a throwing issuer predicate, say). `target` is the
   * request target as the client sent it, for an adapter whose framework rewrites the request's
   * `url` for mounted routers (Koa's `ctx.originalUrl`); Express's `req.originalUrl` is read
   * from the request itself.
   *
   * @example
   * ```ts
   * const decision = validator.decide(req)
   * const { auth, error } = decision instanceof Promise ? await decision : decision
   * if (error) throw error // 401, 400, 403 or 503, with its headers
   * ```
   */
  decide(
    request: RequestLike,
    options?: AuthenticateOptions,
    target?: string,
  ): Decision | Promise<Decision>
  /** The realm, schemes and parameters every challenge of this validator carries. */
  readonly challengeContext: ChallengeContext
  /**
   * Loads the signing keys now, and performs every other lookup the validator needs (`prefetch`:
   * the Entra ID profile's tenant-domain resolution), so the first requests do not wait; rejects
   * with a 503 error, its `cause` the reason, when one cannot be done.
   */
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
const cacheProbes = new WeakMap<Validator, (token: string) => boolean>()

/**
 * Whether a validator's verified-token cache holds a Bearer token now (a probe that is not a
 * read: it renews nothing and counts as no hit); `false` for anything but a `createValidator`
 * result. The multi-issuer validator remembers an acceptance only while it is.
 *
 * @example
 * ```ts
 * const holds = cacheProbeOf(validator)
 * holds(token) // true once the cache took the token
 * ```
 */
export function cacheProbeOf(validator: Validator): (token: string) => boolean {
  return cacheProbes.get(validator) ?? (() => false)
}

/**
 * The challenge context of a validator's options: its realm, the schemes it accepts (Bearer
 * and, when DPoP is on, DPoP with its `algs`, RFC 9449 §7.1; DPoP alone when it is required), the
 * `authorization_uri` of its claims challenges, and RFC 9728's `resource_metadata`.
 */
export function challengeContextOf(options: ResolvedOptions): ChallengeContext {
  const { dpop, realm, authorizationUri, resourceMetadata } = options
  if (
    dpop === undefined &&
    realm === DEFAULT_REALM &&
    authorizationUri === undefined &&
    resourceMetadata === undefined
  ) {
    return DEFAULT_CHALLENGE_CONTEXT
  }
  let schemes = DEFAULT_CHALLENGE_CONTEXT.schemes
  if (dpop !== undefined) {
    const dpopScheme = Object.freeze({
      name: 'DPoP',
      params: Object.freeze({ algs: [...dpop.algorithms].join(' ') }),
    })
    schemes = Object.freeze(
      dpop.required ? [dpopScheme] : [schemes[0] as ChallengeScheme, dpopScheme],
    )
  }
  return Object.freeze({
    realm,
    schemes,
    // RFC 9728 §5.1: every challenge points at the metadata.
    ...(resourceMetadata === undefined
      ? {}
      : { params: Object.freeze({ resource_metadata: resourceMetadata.url }) }),
    ...(authorizationUri === undefined
      ? {}
      : {
          errorParams: Object.freeze({
            insufficient_claims: Object.freeze({ authorization_uri: authorizationUri }),
          }),
        }),
  })
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
  const { clockTolerance, maxTokenAge } = resolved
  const context = challengeContextOf(resolved)
  const keySource = createKeySourceFor(resolved)
  const cache =
    resolved.tokenCacheEntries > 0 ? createTokenCache(resolved.tokenCacheEntries) : undefined
  // Bound tokens (cnf) live in a cache of their own: a hit there runs the binding steps again,
  // and the Bearer cache, whose hits are answered at once, never holds one.
  const schemes = {
    dpop: resolved.dpop !== undefined,
    mtlsPop: resolved.certificateBinding !== undefined,
  }
  const acceptBearer = resolved.dpop?.required !== true
  const binding = schemes.dpop || schemes.mtlsPop
  const boundCache =
    binding && resolved.tokenCacheEntries > 0
      ? createTokenCache(resolved.tokenCacheEntries)
      : undefined

  // The issuer a validation's diagnostics message names before a token is accepted.
  const issuer = resolved.issuers?.size === 1 ? [...resolved.issuers][0] : undefined
  const steps = activeSteps(resolved)
  const bindingStart = steps.findIndex((step) => step.group === 'binding')
  const explain = (group: StepGroup, error: unknown, claims: TokenClaims) =>
    isExplained(group) ? explainRejection(error, claims, resolved) : error

  /** Every step passed: the decision, kept in the cache until the token's time is up. */
  function accept(state: TokenState): Accepted {
    const accepted = acceptedFor(state.auth as AuthInfo)
    const into = state.parsed.claims.cnf === undefined ? cache : boundCache
    if (into !== undefined) {
      const { nbf, iat, exp } = state.parsed.claims
      const notBefore = Math.max(nbf ?? Number.NEGATIVE_INFINITY, iat ?? Number.NEGATIVE_INFINITY)
      const expires =
        maxTokenAge === undefined
          ? exp
          : Math.min(exp, (iat as number) + maxTokenAge + clockTolerance)
      const key = state.key as VerificationKey
      into.set(state.token, accepted, key.entry, notBefore - clockTolerance, expires)
    }
    return state.headers === undefined ? accepted : withHeaders(accepted, state.headers)
  }

  /**
   * Runs the steps from `from` on, stopping at the first failure (thrown, or the promise
   * rejected); synchronous until a step has to wait. A pending issuer answer is awaited before
   * the caller rules, as the rules may rely on an accepted issuer. `cached`: the decision of a
   * token from the cache whose binding steps are run again, accepted as it was.
   */
  function runSteps(
    state: TokenState,
    from: number,
    cached?: Accepted,
  ): Accepted | Promise<Accepted> {
    for (let i = from; i < steps.length; i++) {
      const step = steps[i] as Step
      if (state.pending !== undefined && step.group !== 'claims') {
        const pending = state.pending
        state.pending = undefined
        return pending.then(
          () => runSteps(state, i, cached),
          (error) => unverifiedRejection('claims', error, state),
        )
      }
      let waiting: void | Promise<void>
      try {
        waiting = step.run(state)
      } catch (error) {
        if (step.group === 'key' || step.group === 'header') throw error
        return unverifiedRejection(step.group, error, state)
      }
      if (waiting !== undefined) {
        return waiting.then(
          () => runSteps(state, i + 1, cached),
          (error) =>
            step.group === 'key'
              ? Promise.reject(error)
              : unverifiedRejection(step.group, error, state),
        )
      }
    }
    if (cached === undefined) return accept(state)
    return state.headers === undefined ? cached : withHeaders(cached, state.headers)
  }

  /**
   * A claim or caller rejection, made before the signature was checked. What it may tell depends
   * on the signature (issue #13): a caller whose token does not verify learns no configuration
   * value (the `describeRejection` hints name the API's client id) and no clock offset ("expired
   * 20793 d ago"); a token that verifies gets the full description. The signature is checked only
   * when there is something to hide. For a hint, the key is fetched if need be, as for any token
   * (single flight, unknown kids at most once per cooldown); for the clock offset alone, only a
   * key already at hand is used, so that an expired token never causes a key fetch.
   */
  function unverifiedRejection(
    group: StepGroup,
    error: unknown,
    state: TokenState,
  ): Promise<never> {
    const full = explain(group, error, state.parsed.claims)
    if (!(error instanceof InvalidTokenError)) throw full
    const reduced = withoutSecrets(error)
    if (full === error && reduced === error) throw error
    // Without a hint, the public text is the step's own, less any clock offset.
    const unverified = full === error ? reduced : reduced === error ? error : reduced
    const answer = (key: VerificationKey | undefined): never | Promise<never> => {
      const valid = key !== undefined && checkSignature(state.token, state.parsed, key.verifier)
      if (typeof valid === 'boolean') throw valid ? full : unverified
      // WebCrypto (crypto-web.ts) answers with a promise.
      return valid.then((answer) => Promise.reject(answer === true ? full : unverified))
    }
    let key: VerificationKey | undefined
    try {
      key = keySource.peek(state.parsed.header)
    } catch {
      throw unverified
    }
    if (key !== undefined || full === error) return answer(key)
    return keySource.getKey(state.parsed.header).then(answer, () => Promise.reject(unverified))
  }

  /**
   * Verifies a token that is not in the cache, synchronously whenever nothing needs waiting
   * for (keys already loaded and a synchronous issuer check); throws or rejects with the error.
   */
  function verifyToken(
    token: string,
    now: number,
    scheme: Credentials['scheme'],
    request: RequestContext | undefined,
    fromHeader: boolean,
  ): Accepted | Promise<Accepted> {
    let parsed: ParsedToken
    try {
      parsed = parsedToken(token, resolved)
    } catch (error) {
      // A header's token whose characters were not checked (authorization.ts): outside
      // b64token is the header's fault (400), before anything the parse says of it.
      if (fromHeader) checkTokenCharacters(token, scheme)
      throw error
    }
    const state: TokenState = {
      token,
      parsed,
      now,
      options: resolved,
      context,
      keys: keySource,
      auth: undefined,
      key: undefined,
      pending: undefined,
      scheme,
      request,
      proof: undefined,
      headers: undefined,
    }
    return runSteps(state, 0)
  }

  /**
   * A bound token found in the cache: its signature and claims passed before, its binding is
   * proved again for this request (the scheme, the DPoP proof, the certificate).
   */
  function verifyBinding(
    cached: Accepted,
    token: string,
    now: number,
    scheme: Credentials['scheme'],
    request: RequestContext | undefined,
  ): Accepted | Promise<Accepted> {
    const auth = cached.auth as AuthInfo
    checkConfirmation(auth.claims, scheme, schemes.mtlsPop)
    const state: TokenState = {
      token,
      parsed: { header: auth.header, claims: auth.claims, signingInputEnd: -1 },
      now,
      options: resolved,
      context,
      keys: keySource,
      auth,
      key: undefined,
      pending: undefined,
      scheme,
      request,
      proof: undefined,
      headers: undefined,
    }
    return runSteps(state, bindingStart, cached)
  }

  /**
   * Where a rejection leaves the core: the challenge is rendered for this validator's context
   * and the event reported. Anything but a bearer-guard error is thrown on as it is.
   */
  function rejected(error: unknown, report = true, scheme?: Credentials['scheme']): Rejected {
    if (!(error instanceof BearerGuardError)) throw error
    // A malformed header (400, authorization.ts) is answered in every challenge alike, whichever
    // scheme it named: the character check of a token that did not parse comes here with one.
    const rendered = error instanceof InvalidRequestError ? undefined : scheme
    if (context !== DEFAULT_CHALLENGE_CONTEXT) error.render(context, rendered)
    // A DPoP step puts the current nonce in the error's headers (a framework's error handler
    // may clear what was set on the response before, as Koa's does, and sends the error's own);
    // the decision carries it too.
    const nonce = error.headers['DPoP-Nonce']
    const headers = nonce === undefined ? undefined : { 'DPoP-Nonce': nonce }
    if (report && resolved.onEvent !== undefined) {
      emitEvent(resolved.onEvent, {
        type: 'token_rejected',
        status: error.status,
        reason: error.reason,
        description: error.message,
        ...detailOf(error),
      })
    }
    return { auth: undefined, error, headers }
  }

  /**
   * The decision about a token: verified (synchronously when it can be), or, for a bound token
   * from the cache, its binding proved again.
   */
  function decideToken(
    token: string,
    now: number,
    scheme: Credentials['scheme'] = 'Bearer',
    request?: RequestContext,
    cached?: Accepted,
    trace?: ValidationMessage,
    fromHeader = false,
  ): Decision | Promise<Decision> {
    if (trace !== undefined) trace.cache = cached === undefined ? 'miss' : 'hit'
    let result: Accepted | Promise<Accepted>
    try {
      result =
        cached === undefined
          ? verifyToken(token, now, scheme, request, fromHeader)
          : verifyBinding(cached, token, now, scheme, request)
    } catch (error) {
      // A header whose token is outside b64token (400, checked only once the token did not
      // parse) was never a token to look up: traced as no cache lookup, as before the deferral.
      if (trace !== undefined && error instanceof InvalidRequestError) trace.cache = undefined
      // Never a synchronous throw: an error that is not a rejection rejects the promise.
      return error instanceof BearerGuardError
        ? rejected(error, true, scheme)
        : Promise.reject(error)
    }
    return result instanceof Promise
      ? result.catch((error) => rejected(error, true, scheme))
      : result
  }

  function decideCredentials(
    authorization: AuthorizationInput,
    credentialsRequired: boolean,
    now: number,
    request?: RequestContext,
    trace?: ValidationMessage,
  ): Decision | Promise<Decision> {
    if (cache !== undefined && acceptBearer) {
      // A token verified before is found without parsing the header strictly: a hit is the exact
      // string that passed every check, so strict parsing would give the same token. Bound
      // tokens are never in this cache.
      const candidate = peekBearerToken(authorization)
      const hit = candidate === undefined ? undefined : cache.get(candidate, now)
      if (hit !== undefined) {
        if (trace !== undefined) trace.cache = 'hit'
        return hit
      }
    }
    if (!binding) {
      let token: string | undefined
      try {
        token = parseCredentialsUnchecked(authorization, false)?.token
      } catch (error) {
        return rejected(error)
      }
      if (token !== undefined) {
        return decideToken(token, now, 'Bearer', request, undefined, trace, true)
      }
      // No credentials is not a rejected token: no event (RFC 6750 §3.1, no error code either).
      return credentialsRequired ? rejected(missingCredentials(), false) : ANONYMOUS
    }
    if (boundCache !== undefined) {
      // A bound token verified before, found as a Bearer one is: its binding is still proved.
      const peeked = peekCredentials(authorization, schemes)
      const hit = peeked === undefined ? undefined : boundCache.get(peeked.token, now)
      if (hit !== undefined && (peeked?.scheme !== 'Bearer' || acceptBearer)) {
        return decideToken(peeked?.token as string, now, peeked?.scheme, request, hit, trace)
      }
    }
    let credentials: Credentials | undefined
    try {
      credentials = parseCredentialsUnchecked(authorization, schemes)
      if (credentials?.scheme === 'Bearer' && !acceptBearer) {
        checkTokenCharacters(credentials.token, 'Bearer')
        credentials = undefined
      }
    } catch (error) {
      return rejected(error)
    }
    // With DPoP required, Bearer credentials are no credentials at all, as another scheme.
    if (credentials === undefined) {
      return credentialsRequired ? rejected(missingCredentials(), false) : ANONYMOUS
    }
    const { scheme, token } = credentials
    const cached = boundCache?.get(token, now)
    return decideToken(token, now, scheme, request, cached, trace, true)
  }

  // The three entry points' decisions, as named functions: without a subscriber to the validation
  // channel, a call allocates no closure for tracing (issue #14).
  function decideRequest(
    request: RequestLike,
    authOptions: AuthenticateOptions | undefined,
    target: string | undefined,
    trace?: ValidationMessage,
  ): Decision | Promise<Decision> {
    return decideCredentials(
      readHeader(request, 'authorization'),
      authOptions?.credentialsRequired !== false,
      nowSeconds(),
      binding ? { request, target } : undefined,
      trace,
    )
  }

  function decideVerify(token: string, trace?: ValidationMessage): Decision | Promise<Decision> {
    // A token on its own is a Bearer token: with DPoP required, as decide() treats a Bearer
    // header, no credentials at all.
    if (!acceptBearer) return rejected(missingCredentials(), false)
    const now = nowSeconds()
    if (cache !== undefined && typeof token === 'string') {
      const hit = cache.get(token, now)
      if (hit !== undefined) {
        if (trace !== undefined) trace.cache = 'hit'
        return hit
      }
    }
    return decideToken(token, now, 'Bearer', undefined, undefined, trace)
  }

  function decideHeader(
    authorization: AuthorizationInput,
    authOptions: AuthenticateOptions | undefined,
    trace?: ValidationMessage,
  ): Decision | Promise<Decision> {
    const required = authOptions?.credentialsRequired !== false
    return decideCredentials(authorization, required, nowSeconds(), undefined, trace)
  }

  const settle = (decision: Decision | Promise<Decision>): Promise<AuthInfo> =>
    decision instanceof Promise ? decision.then(outcome) : outcomeAsPromise(decision)

  const validator = {
    realm: resolved.realm,
    options: resolved,
    challengeContext: context,
    decide(request: RequestLike, authOptions?: AuthenticateOptions, target?: string) {
      return hasValidationSubscribers()
        ? traceValidation('decide', issuer, (trace) =>
            decideRequest(request, authOptions, target, trace),
          )
        : decideRequest(request, authOptions, target)
    },
    verify(token: string) {
      return settle(
        hasValidationSubscribers()
          ? traceValidation('verify', issuer, (trace) => decideVerify(token, trace))
          : decideVerify(token),
      )
    },
    lookup(authorization: AuthorizationInput) {
      if (cache === undefined || !acceptBearer) return undefined
      const candidate = peekBearerToken(authorization)
      return candidate === undefined ? undefined : cache.get(candidate, nowSeconds())?.auth
    },
    authenticate(authorization: AuthorizationInput, authOptions?: AuthenticateOptions) {
      return settle(
        hasValidationSubscribers()
          ? traceValidation('authenticate', issuer, (trace) =>
              decideHeader(authorization, authOptions, trace),
            )
          : decideHeader(authorization, authOptions),
      )
    },
    async warmUp() {
      await Promise.all([keySource.warmUp(), resolved.prefetch?.()])
    },
  } as Validator
  // Not enumerable: a copy made with spread is not a validator.
  Object.defineProperty(validator, VALIDATOR, { value: true })
  cacheProbes.set(validator, (token) => cache?.holds(token) === true)
  return Object.freeze(validator)
}

/**
 * What a rejection's event adds for logs: the full description a caller was not told, or why keys
 * could not be had (never sent to the client).
 */
function detailOf(error: BearerGuardError): { detail?: string } {
  if (error.detail !== undefined) return { detail: error.detail }
  if (error.status === 503 && error.cause instanceof Error) return { detail: error.cause.message }
  return {}
}

/** A copy of an accepted decision with this request's response headers (a new `DPoP-Nonce`). */
function withHeaders(accepted: Accepted, headers: Record<string, string>): Accepted {
  return { auth: accepted.auth, error: undefined, headers: Object.freeze({ ...headers }) }
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
