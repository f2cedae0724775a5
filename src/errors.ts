/**
 * The errors bearer-guard rejects requests with, one class for each outcome of RFC 6750 §3:
 *
 * | class                    | status | `WWW-Authenticate`                                        | `code`               |
 * | ------------------------ | ------ | --------------------------------------------------------- | -------------------- |
 * | `UnauthorizedError`      | 401    | `Bearer realm="…"` only: no credentials (§3.1)            | none                 |
 * | `InvalidRequestError`    | 400    | `…, error="invalid_request", error_description="…"`       | `invalid_request`    |
 * | `InvalidTokenError`      | 401    | `…, error="invalid_token", error_description="…"`         | `invalid_token`      |
 * | `InsufficientScopeError` | 403    | `…, error="insufficient_scope", …, scope="…"`             | `insufficient_scope` |
 * | `InsufficientClaimsError` | 401   | `…, error="insufficient_claims", claims="…"` (Entra ID)   | `insufficient_claims` |
 * | `InsufficientUserAuthenticationError` | 401 | `…, error="insufficient_user_authentication", acr_values="…", max_age="…"` (RFC 9470 §3) | `insufficient_user_authentication` |
 * | `KeysUnavailableError`   | 503    | none, `Retry-After` instead: not the client's fault       | none                 |
 * | `TokenExchangeError`     | 503 / 502 | none (`Retry-After` on a 503): an On-Behalf-Of exchange failed, not the client's fault | none |
 *
 * RFC 6750 §3.1: when a request carries no authentication information at all, the challenge
 * should carry no error code, so a client that has not tried yet is not told it failed.
 *
 * Every error is an http-errors compatible error (`createError.isHttpError(err)` holds; http-errors
 * itself is not a dependency, see the README) with `status`, `statusCode`, `expose`
 * (true below 500) and `headers`, so the default handlers of Express (finalhandler) and Koa
 * answer with the right status and headers. `err.stack` is only `name: message`: a rejection is
 * an expected outcome, not a bug, and Express's development-mode handler prints `err.stack` into
 * the response body. The underlying jose or network error, with its own stack, is `err.cause`.
 *
 * An error is data: its status, `code`, `reason`, the claim concerned, its description and the
 * parameters of its challenge. The pipeline's steps make errors without knowing the realm or the
 * schemes the validator accepts; {@link BearerGuardError.render} writes `WWW-Authenticate` for the
 * validator's {@link ChallengeContext} where the decision leaves the core (a bare error renders
 * with the default realm, so it is a complete answer wherever it is made).
 */
import {
  type ChallengeContext,
  type ChallengeData,
  DEFAULT_CHALLENGE_CONTEXT,
  renderChallenges,
} from './challenge.js'

/** Our snake_case detail of why a request was rejected. */
export type RejectionReason =
  | 'missing_token'
  | 'malformed_authorization'
  | 'multiple_authorization'
  | 'malformed_token'
  | 'token_too_large'
  | 'unsupported_algorithm'
  | 'unsupported_token_type'
  | 'unsupported_header'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'too_old'
  | 'missing_claim'
  | 'invalid_claim'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'wrong_tenant'
  | 'wrong_client'
  | 'wrong_token_version'
  | 'unproven_binding'
  | 'unbound_token'
  | 'missing_proof'
  | 'multiple_proofs'
  | 'malformed_proof'
  | 'unsupported_proof_algorithm'
  | 'bad_proof_key'
  | 'bad_proof_signature'
  | 'wrong_proof_method'
  | 'wrong_proof_uri'
  | 'stale_proof'
  | 'proof_in_future'
  | 'wrong_proof_token'
  | 'wrong_proof_key'
  | 'replayed_proof'
  | 'missing_nonce'
  | 'stale_nonce'
  | 'unknown_origin'
  | 'replay_store_unavailable'
  | 'missing_certificate'
  | 'wrong_certificate'
  | 'no_permissions'
  | 'missing_scope'
  | 'missing_role'
  | 'missing_auth_context'
  | 'weak_authentication'
  | 'stale_authentication'
  | 'app_only_caller'
  | 'assertion_rejected'
  | 'downstream_consent_required'
  | 'downstream_interaction_required'
  | 'token_exchange_unavailable'
  | 'token_exchange_refused'
  | 'not_authenticated'
  | 'keys_unavailable'

/** Fields every bearer-guard error has besides its message. */
export interface BearerGuardErrorOptions {
  reason: RejectionReason
  /**
   * The realm of the challenge. Steps of the pipeline leave it out: the validator renders the
   * challenge for its own realm when the decision leaves the core. Default `"api"`.
   */
  realm?: string
  cause?: unknown
  /** The claim or header parameter the rejection is about (`exp`, `aud`, `alg`, ...), when one is. */
  claim?: string
  /** Extension parameters of the challenge (`claims`, `acr_values`, `max_age`, ...). */
  params?: Readonly<Record<string, string>>
  /** A fuller description for logs (`onEvent`), when the public one leaves details out. */
  detail?: string
  /** The scheme whose challenge carries the error when several are accepted (`DPoP`). */
  scheme?: string
}

/** The default protection space named in challenges. */
export const DEFAULT_REALM = 'api'

// Lower-case names read through to the canonical ones, from a prototype: readable as
// `headers['www-authenticate']` (the http-errors convention) without being an own key, so that
// nothing that copies the headers (Express, Koa, Fastify, Fetch's Headers) sends them twice.
const HEADER_ALIASES: object = Object.create(Object.prototype, {
  'www-authenticate': {
    get(this: Record<string, string>) {
      return this['WWW-Authenticate']
    },
  },
  'retry-after': {
    get(this: Record<string, string>) {
      return this['Retry-After']
    },
  },
})

const contexts = new Map<string, ChallengeContext>()

/** The context of a bare error: Bearer only, in `realm`. */
function contextOf(realm: string | undefined): ChallengeContext {
  if (realm === undefined || realm === DEFAULT_REALM) return DEFAULT_CHALLENGE_CONTEXT
  let context = contexts.get(realm)
  if (context === undefined) {
    context = Object.freeze({ realm, schemes: DEFAULT_CHALLENGE_CONTEXT.schemes })
    // Bounded: errors made by hand with ever new realms must not grow memory.
    if (contexts.size < 64) contexts.set(realm, context)
  }
  return context
}

/**
 * The base class of every error bearer-guard throws for a request: an `Error` with the fields of
 * an http-errors error (`status`, `statusCode`, `expose`, `headers`), so http-errors'
 * `isHttpError` and every framework's error handling recognise it.
 */
export class BearerGuardError extends Error {
  declare readonly status: number
  declare readonly statusCode: number
  declare readonly expose: boolean
  /** Response headers: `WWW-Authenticate` (also readable as `www-authenticate`) or `Retry-After`. */
  readonly headers: Record<string, string>
  /** The RFC 6750 error code, when there is one. */
  readonly code: string | undefined
  /** Our snake_case detail. */
  readonly reason: RejectionReason
  /** The claim or header parameter concerned, when there is one. */
  declare readonly claim?: string
  /** Extension parameters of the challenge, when there are any. */
  declare readonly params?: Readonly<Record<string, string>>
  /** A fuller description for logs, when the public message leaves details out. Never sent. */
  declare readonly detail?: string
  /** The scheme of the request (`Bearer`, `DPoP`), whose challenge carries the error. */
  declare scheme?: string

  constructor(
    status: number,
    message: string,
    code: string | undefined,
    options: BearerGuardErrorOptions,
  ) {
    // No stack trace is captured: `stack` becomes `name: message` below anyway, and capturing
    // and formatting one was about half the cost of rejecting a token (bench/).
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      super(message, options.cause === undefined ? undefined : { cause: options.cause })
    } finally {
      Error.stackTraceLimit = limit
    }
    this.headers = Object.create(HEADER_ALIASES)
    this.code = code
    this.reason = options.reason
    // Not enumerable: the JSON of an error stays what it was (status, expose, headers, code...).
    if (options.claim !== undefined) hide(this, 'claim', options.claim)
    if (options.params !== undefined) hide(this, 'params', Object.freeze({ ...options.params }))
    if (options.detail !== undefined) hide(this, 'detail', options.detail)
    if (options.scheme !== undefined) hide(this, 'scheme', options.scheme)
    // What http-errors' createError(status, err) sets, in its order (the JSON of an error is
    // unchanged): `isHttpError` recognises an Error with a boolean `expose` and `status` equal to
    // `statusCode`, and the frameworks read these three and `headers`.
    const self = this as { expose: boolean; status: number; statusCode: number }
    self.expose = status < 500
    self.status = status
    self.statusCode = status
    Object.defineProperty(this, 'name', {
      value: new.target.name,
      enumerable: false,
      configurable: true,
    })
    Object.defineProperty(this, 'stack', {
      value: `${new.target.name}: ${message}`,
      enumerable: false,
      configurable: true,
      writable: true,
    })
  }

  /** What the challenge of this rejection says; `undefined` when it sends none (503). */
  challenge(): ChallengeData | undefined {
    return {
      error: this.code,
      description: this.code === undefined ? undefined : this.message,
      params: this.params,
      scheme: this.scheme,
    }
  }

  /**
   * Writes the response headers for a validator's challenge context: `WWW-Authenticate` with its
   * realm and schemes. Called where the decision leaves the core; returns the error.
   */
  render(context: ChallengeContext, scheme?: string): this {
    if (scheme !== undefined && this.scheme === undefined) hide(this, 'scheme', scheme)
    const data = this.challenge()
    if (data !== undefined) this.headers['WWW-Authenticate'] = renderChallenges(data, context)
    return this
  }
}

// A registered symbol on the prototype: the ESM and CommonJS builds each carry their own copy of
// these classes, and an error made by one must still be recognised by the other in one process
// (a validator from `import`, an adapter from `require`). Costs nothing per error.
const BRAND = Symbol.for('bearer-guard.error')
Object.defineProperty(BearerGuardError.prototype, BRAND, { value: true })
const ordinaryHasInstance = Function.prototype[Symbol.hasInstance]

/** Whether `value` is an error of the class named `name` from another build of bearer-guard. */
function isBranded(value: unknown, name: string | undefined): boolean {
  if (typeof value !== 'object' || value === null) return false
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false
  if (name === undefined) return true
  for (
    let proto = Object.getPrototypeOf(value);
    proto !== null;
    proto = Object.getPrototypeOf(proto)
  ) {
    if (
      Object.hasOwn(proto, 'constructor') &&
      (proto.constructor as { name?: string }).name === name
    ) {
      return true
    }
  }
  return false
}

Object.defineProperty(BearerGuardError, Symbol.hasInstance, {
  value(this: abstract new (...args: never[]) => unknown, value: unknown): boolean {
    if (ordinaryHasInstance.call(this, value)) return true
    return isBranded(value, this === BearerGuardError ? undefined : this.name)
  },
})

function hide(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: false, configurable: true })
}

/** 401 without an error code: the request carried no Bearer credentials (RFC 6750 §3.1). */
export class UnauthorizedError extends BearerGuardError {
  constructor(options: BearerGuardErrorOptions, message = 'Authentication required') {
    super(401, message, undefined, options)
    this.render(contextOf(options.realm))
  }
}

/** 400 `invalid_request`: a malformed Authorization header or credentials sent more than once. */
export class InvalidRequestError extends BearerGuardError {
  constructor(description: string, options: BearerGuardErrorOptions) {
    super(400, description, 'invalid_request', options)
    this.render(contextOf(options.realm))
  }
}

/** 401 `invalid_token`: the token is malformed, expired, forged or meant for someone else. */
export class InvalidTokenError extends BearerGuardError {
  constructor(description: string, options: BearerGuardErrorOptions) {
    super(401, description, 'invalid_token', options)
    this.render(contextOf(options.realm))
  }
}

/** 403 `insufficient_scope`: a valid token without the scope or role the route needs. */
export class InsufficientScopeError extends BearerGuardError {
  /** The scopes that would have satisfied the guard, when it was a scope guard. */
  readonly scopes: readonly string[]

  constructor(
    description: string,
    options: BearerGuardErrorOptions & { scopes?: readonly string[] },
  ) {
    super(403, description, 'insufficient_scope', options)
    this.scopes = options.scopes ?? []
    this.render(contextOf(options.realm))
  }

  override challenge(): ChallengeData {
    return {
      error: this.code,
      description: this.message,
      scope: this.scopes,
      params: this.params,
      scheme: this.scheme,
    }
  }
}

/**
 * 503: no signing key can be had (the issuer is unreachable and nothing usable is cached).
 * Not a 401, because a 401 tells clients to throw away tokens that are in fact good.
 */
export class KeysUnavailableError extends BearerGuardError {
  constructor(retryAfterSeconds: number, options: BearerGuardErrorOptions) {
    super(503, 'Signing keys are temporarily unavailable', undefined, options)
    this.headers['Retry-After'] = String(Math.max(1, Math.ceil(retryAfterSeconds)))
  }

  override challenge(): undefined {
    return undefined
  }
}

/**
 * Encodes a claims request (a JSON text) as a claims challenge carries it: standard base64 with
 * padding, as Microsoft's samples encode it.
 *
 * @example
 * ```ts
 * encodeClaims('{"access_token":{"acrs":{"essential":true,"value":"c1"}}}')
 * // 'eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19'
 * ```
 */
export function encodeClaims(claims: string): string {
  const bytes = new TextEncoder().encode(claims)
  let binary = ''
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i] as number)
  return btoa(binary)
}

/**
 * 401 `insufficient_claims`: Entra ID's claims challenge. The token is valid, but a
 * Conditional Access requirement (an authentication context, MFA) is not met, and the client
 * declared it can answer (`xms_cc` holds `cp1`): it gets a new token with the claims request in
 * `claims` (base64) and retries. Microsoft's "Claims challenges, claims requests and client
 * capabilities" defines the challenge; it carries no `error_description`, like Entra ID's.
 */
export class InsufficientClaimsError extends BearerGuardError {
  /** The claims request, as JSON text (the challenge carries it base64-encoded). */
  readonly claims: string

  constructor(description: string, options: BearerGuardErrorOptions & { claims: string }) {
    super(401, description, 'insufficient_claims', {
      ...options,
      params: { claims: encodeClaims(options.claims), ...options.params },
    })
    this.claims = options.claims
    this.render(contextOf(options.realm))
  }

  override challenge(): ChallengeData {
    // Microsoft's claims challenge: an empty realm ("claims challenges, claims requests and
    // client capabilities"), which its client libraries expect.
    return { realm: '', error: this.code, params: this.params }
  }
}

/**
 * 401 `insufficient_user_authentication` (RFC 9470 §3): the token is valid, but the user's
 * authentication is too weak (`acr`) or too old (`auth_time`). The challenge names what would do
 * in `acr_values` and `max_age`, so the client can ask the authorization server for it.
 */
export class InsufficientUserAuthenticationError extends BearerGuardError {
  constructor(description: string, options: BearerGuardErrorOptions) {
    super(401, description, 'insufficient_user_authentication', options)
    this.render(contextOf(options.realm))
  }
}

/**
 * 503 (with `Retry-After`) or 502: an On-Behalf-Of exchange failed for a reason that is not the
 * client's: the identity provider is unreachable, failing or throttling (503), or it refused
 * this API's own request, a configuration problem (502). Never a challenge; the message is
 * generic and `expose` is false, and the MSAL error is the `cause`, for logs only.
 */
export class TokenExchangeError extends BearerGuardError {
  constructor(
    status: 502 | 503,
    options: BearerGuardErrorOptions & { retryAfter?: number | undefined },
  ) {
    super(
      status,
      status === 503
        ? 'The identity provider is temporarily unavailable'
        : 'The identity provider refused to issue a token for a downstream API',
      undefined,
      options,
    )
    if (status === 503) {
      this.headers['Retry-After'] = String(Math.max(1, Math.ceil(options.retryAfter ?? 5)))
    }
  }

  override challenge(): undefined {
    return undefined
  }
}

/** The context of a bare DPoP error: DPoP only, in `realm`. */
function dpopContextOf(realm: string | undefined): ChallengeContext {
  return Object.freeze({ realm: realm ?? DEFAULT_REALM, schemes: DPOP_ONLY })
}
const DPOP_ONLY = Object.freeze([Object.freeze({ name: 'DPoP' })])

/**
 * 401 `invalid_dpop_proof` (RFC 9449 §7.1): the DPoP proof of the request is missing, malformed,
 * badly signed, for another request, too old, replayed, or made with another key than the one
 * the token is bound to.
 */
export class InvalidDpopProofError extends BearerGuardError {
  constructor(description: string, options: BearerGuardErrorOptions) {
    super(401, description, 'invalid_dpop_proof', { scheme: 'DPoP', ...options })
    this.render(dpopContextOf(options.realm))
  }
}

/**
 * 401 `use_dpop_nonce` (RFC 9449 §8, §9): the proof must carry the nonce the server provides in
 * the `DPoP-Nonce` header of this answer; the client retries with it.
 */
export class UseDpopNonceError extends BearerGuardError {
  constructor(description: string, options: BearerGuardErrorOptions) {
    super(401, description, 'use_dpop_nonce', { scheme: 'DPoP', ...options })
    this.render(dpopContextOf(options.realm))
  }
}

/**
 * 503: a service the decision needs (the DPoP replay store) cannot be asked now. Not a 401: the
 * client did nothing wrong; `Retry-After` is set.
 */
export class ServiceUnavailableError extends BearerGuardError {
  constructor(description: string, retryAfterSeconds: number, options: BearerGuardErrorOptions) {
    super(503, description, undefined, options)
    this.headers['Retry-After'] = String(Math.max(1, Math.ceil(retryAfterSeconds)))
  }

  override challenge(): undefined {
    return undefined
  }
}
