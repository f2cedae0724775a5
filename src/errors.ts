/**
 * The errors bearer-guard rejects requests with, one class for each outcome of RFC 6750 §3:
 *
 * | class                    | status | `WWW-Authenticate`                                        | `code`               |
 * | ------------------------ | ------ | --------------------------------------------------------- | -------------------- |
 * | `UnauthorizedError`      | 401    | `Bearer realm="…"` only: no credentials (§3.1)            | none                 |
 * | `InvalidRequestError`    | 400    | `…, error="invalid_request", error_description="…"`       | `invalid_request`    |
 * | `InvalidTokenError`      | 401    | `…, error="invalid_token", error_description="…"`         | `invalid_token`      |
 * | `InsufficientScopeError` | 403    | `…, error="insufficient_scope", …, scope="…"`             | `insufficient_scope` |
 * | `KeysUnavailableError`   | 503    | none, `Retry-After` instead: not the client's fault       | none                 |
 *
 * RFC 6750 §3.1: when a request carries no authentication information at all, the challenge
 * should carry no error code, so a client that has not tried yet is not told it failed.
 *
 * Every error is an http-errors error (`createError.isHttpError(err)` and
 * `err instanceof createError.HttpError` both hold) with `status`, `statusCode`, `expose`
 * (true below 500) and `headers`, so the default handlers of Express (finalhandler) and Koa
 * answer with the right status and headers. `err.stack` is only `name: message`: a rejection is
 * an expected outcome, not a bug, and Express's development-mode handler prints `err.stack` into
 * the response body. The underlying jose or network error, with its own stack, is `err.cause`.
 */
import createError from 'http-errors'
import { formatChallenge } from './challenge.js'

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
  | 'no_permissions'
  | 'missing_scope'
  | 'missing_role'
  | 'not_authenticated'
  | 'keys_unavailable'

/** Fields every bearer-guard error has besides its message. */
export interface BearerGuardErrorOptions {
  reason: RejectionReason
  realm: string
  cause?: unknown
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

function setHeader(headers: Record<string, string>, name: string, value: string): void {
  headers[name] = value
}

/**
 * The base class of every error bearer-guard throws for a request. Its prototype chain runs
 * through http-errors' `HttpError`, so both `instanceof` and `isHttpError` recognise it.
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
    createError(status, this)
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
}
Object.setPrototypeOf(BearerGuardError.prototype, createError.HttpError.prototype)

/** 401 without an error code: the request carried no Bearer credentials (RFC 6750 §3.1). */
export class UnauthorizedError extends BearerGuardError {
  constructor(options: BearerGuardErrorOptions, message = 'Authentication required') {
    super(401, message, undefined, options)
    setHeader(this.headers, 'WWW-Authenticate', formatChallenge({ realm: options.realm }))
  }
}

/** 400 `invalid_request`: a malformed Authorization header or credentials sent more than once. */
export class InvalidRequestError extends BearerGuardError {
  constructor(description: string, options: BearerGuardErrorOptions) {
    super(400, description, 'invalid_request', options)
    setHeader(
      this.headers,
      'WWW-Authenticate',
      formatChallenge({ realm: options.realm, error: 'invalid_request', description }),
    )
  }
}

/** 401 `invalid_token`: the token is malformed, expired, forged or meant for someone else. */
export class InvalidTokenError extends BearerGuardError {
  constructor(description: string, options: BearerGuardErrorOptions) {
    super(401, description, 'invalid_token', options)
    setHeader(
      this.headers,
      'WWW-Authenticate',
      formatChallenge({ realm: options.realm, error: 'invalid_token', description }),
    )
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
    setHeader(
      this.headers,
      'WWW-Authenticate',
      formatChallenge({
        realm: options.realm,
        error: 'insufficient_scope',
        description,
        scope: options.scopes,
      }),
    )
  }
}

/**
 * 503: no signing key can be had (the issuer is unreachable and nothing usable is cached).
 * Not a 401, because a 401 tells clients to throw away tokens that are in fact good.
 */
export class KeysUnavailableError extends BearerGuardError {
  constructor(retryAfterSeconds: number, options: BearerGuardErrorOptions) {
    super(503, 'Signing keys are temporarily unavailable', undefined, options)
    setHeader(this.headers, 'Retry-After', String(Math.max(1, Math.ceil(retryAfterSeconds))))
  }
}
