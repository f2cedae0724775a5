/**
 * Hono 4 glue, on any runtime: reads the Authorization header of the Fetch `Request`, lets the
 * core decide and puts the result in `c.get('auth')`. A rejection is thrown as Hono's
 * `HTTPException`, with the error as its `cause` and, as its `res`, the Response of
 * `bearer-guard/fetch` (`toResponse`): Hono's default error handler sends that Response with its
 * exact status and headers (`WWW-Authenticate`, RFC 6750 §3, or `Retry-After`), and an
 * `app.onError` handler can answer with `err.getResponse()` or read `err.cause`.
 *
 * As with every Fetch runtime, repeated Authorization headers reach the core joined by ", "
 * (see `bearer-guard/fetch`).
 *
 * @module bearer-guard/hono
 */
import type { MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'
import * as core from '../src/index.js'
import { protectedResourceMetadata as metadataResponder, toResponse } from './fetch.js'

export type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'

/** The Hono `Env` that {@link authenticate} provides: `c.get('auth')` is the `AuthInfo`. */
export type BearerGuardEnv = { Variables: { auth: AuthInfo } }

/** The `Env` of `authenticate(v, { credentialsRequired: false })`: anonymous requests pass. */
export type OptionalBearerGuardEnv = { Variables: { auth: AuthInfo | undefined } }

/** What every guard is: Hono middleware that reads `c.get('auth')`, or finds it absent (401). */
export type GuardMiddleware = MiddlewareHandler<OptionalBearerGuardEnv>

type Status = ConstructorParameters<typeof HTTPException>[0]

/** A bearer-guard error as Hono's HTTPException; any other error is left as it is. */
function toHTTPException(error: unknown): unknown {
  if (!(error instanceof core.BearerGuardError)) return error
  return new HTTPException(error.status as Status, {
    res: toResponse(error),
    message: error.message,
    cause: error,
  })
}

/**
 * Hono middleware that verifies the Bearer token (RFC 6750 §2.1) and sets `c.get('auth')`. Takes
 * validator options, or an existing validator so one JWKS cache serves every route. Options are
 * checked once, here, so a misspelt option throws a `TypeError` at startup. With
 * `{ credentialsRequired: false }` (default `true`), a request without Bearer credentials passes
 * with `auth` undefined, typed {@link OptionalBearerGuardEnv}; a bad token is still refused.
 *
 * @example
 * ```ts
 * const app = new Hono<BearerGuardEnv>()
 * app.use('/api/*', authenticate(validator))
 * app.get('/api/me', (c) => c.json({ subject: c.get('auth').subject }))
 * ```
 */
export function authenticate(
  optionsOrValidator: ValidatorOptions | Validator,
  options?: { credentialsRequired?: true },
): MiddlewareHandler<BearerGuardEnv>
export function authenticate(
  optionsOrValidator: ValidatorOptions | Validator,
  options: AuthenticateOptions,
): MiddlewareHandler<OptionalBearerGuardEnv>
export function authenticate(
  optionsOrValidator: ValidatorOptions | Validator,
  options: AuthenticateOptions = {},
): MiddlewareHandler<BearerGuardEnv> | MiddlewareHandler<OptionalBearerGuardEnv> {
  const validator = core.toValidator(optionsOrValidator)
  // A copy: changing the caller's object later must not change what this middleware accepts.
  const authOptions: AuthenticateOptions = { credentialsRequired: options.credentialsRequired }
  const middleware: MiddlewareHandler<OptionalBearerGuardEnv> = async (c, next) => {
    const pending = validator.decide(c.req.raw, authOptions)
    // A repeated token is decided at once, without awaiting a promise.
    const decision = pending instanceof Promise ? await pending : pending
    if (decision.headers !== undefined) {
      for (const name of Object.keys(decision.headers)) c.header(name, decision.headers[name])
    }
    if (decision.error !== undefined) throw toHTTPException(decision.error)
    c.set('auth', decision.auth)
    await next()
  }
  return middleware
}

const guards = core.createGuards<GuardMiddleware>((guard) => async (c, next) => {
  const denied = core.checkGuard(guard, c.get('auth'))
  if (denied !== undefined) throw toHTTPException(denied)
  await next()
})

/** {@inheritDoc bearer-guard!GuardFactories#requireScopes} */
export const requireScopes = guards.requireScopes
/** {@inheritDoc bearer-guard!GuardFactories#requireAnyScope} */
export const requireAnyScope = guards.requireAnyScope
/** {@inheritDoc bearer-guard!GuardFactories#requireRoles} */
export const requireRoles = guards.requireRoles
/** {@inheritDoc bearer-guard!GuardFactories#requireAnyRole} */
export const requireAnyRole = guards.requireAnyRole
/** {@inheritDoc bearer-guard!GuardFactories#requireScopesOrRoles} */
export const requireScopesOrRoles = guards.requireScopesOrRoles
/** {@inheritDoc bearer-guard!GuardFactories#requireClaims} */
export const requireClaims = guards.requireClaims
/** {@inheritDoc bearer-guard!GuardFactories#requireAuthContext} */
export const requireAuthContext = guards.requireAuthContext
/** {@inheritDoc bearer-guard!GuardFactories#requireStepUp} */
export const requireStepUp = guards.requireStepUp

/**
 * Hono middleware that serves the validator's RFC 9728 protected-resource metadata at
 * `/.well-known/oauth-protected-resource` and its path-suffixed form (§3.1): GET and HEAD get
 * the JSON document, OPTIONS a CORS answer, other methods 405; any other path goes to `next()`.
 * Register it before `authenticate` (the metadata is public). Needs the `resourceMetadata` option.
 *
 * @example
 * ```ts
 * app.use(protectedResourceMetadata(validator))
 * app.use('/api/*', authenticate(validator))
 * ```
 */
export function protectedResourceMetadata(
  optionsOrValidator: ValidatorOptions | Validator,
): MiddlewareHandler {
  const respond = metadataResponder(optionsOrValidator)
  return async (c, next) => {
    const response = respond(c.req.raw)
    if (response !== undefined) return response
    await next()
  }
}
