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
import type {
  AuthenticateOptions,
  AuthInfo,
  Guard,
  Validator,
  ValidatorOptions,
} from '../src/index.js'
import * as core from '../src/index.js'
import { toResponse } from './fetch.js'

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
    let auth: AuthInfo | undefined
    try {
      auth = await validator.authenticate(c.req.header('authorization'), authOptions)
    } catch (error) {
      throw toHTTPException(error)
    }
    c.set('auth', auth)
    await next()
  }
  return middleware
}

// After auth0's `toHandler`: a guard either returns or throws an http-errors error.
function toMiddleware(guard: Guard): GuardMiddleware {
  return async (c, next) => {
    try {
      guard(c.get('auth'))
    } catch (error) {
      throw toHTTPException(error)
    }
    await next()
  }
}

/**
 * Hono middleware that needs the token's scopes (`scp` or `scope`): all of them by default, any
 * of them with `{ match: 'any' }`. 403 `insufficient_scope` when lacking, 401 without auth.
 *
 * @example
 * ```ts
 * app.get('/files', requireScopes('Files.Read'), listFiles)
 * ```
 */
export function requireScopes(...args: Parameters<typeof core.requireScopes>): GuardMiddleware {
  return toMiddleware(core.requireScopes(...args))
}

/**
 * Hono middleware that needs at least one of the scopes.
 *
 * @example
 * ```ts
 * app.get('/files', requireAnyScope('Files.Read', 'Files.ReadWrite'), listFiles)
 * ```
 */
export function requireAnyScope(...args: Parameters<typeof core.requireAnyScope>): GuardMiddleware {
  return toMiddleware(core.requireAnyScope(...args))
}

/**
 * Hono middleware that needs the token's `roles`: all of them by default, any with
 * `{ match: 'any' }`. Scopes never count.
 *
 * @example
 * ```ts
 * app.delete('/orders/:id', requireRoles('Orders.Admin'), deleteOrder)
 * ```
 */
export function requireRoles(...args: Parameters<typeof core.requireRoles>): GuardMiddleware {
  return toMiddleware(core.requireRoles(...args))
}

/**
 * Hono middleware that needs at least one of the roles.
 *
 * @example
 * ```ts
 * app.get('/reports', requireAnyRole('Reader', 'Writer'), listReports)
 * ```
 */
export function requireAnyRole(...args: Parameters<typeof core.requireAnyRole>): GuardMiddleware {
  return toMiddleware(core.requireAnyRole(...args))
}

/**
 * Hono middleware that passes a delegated token with any of the scopes or an app-only token with
 * any of the roles (application permissions).
 *
 * @example
 * ```ts
 * app.get('/data', requireScopesOrRoles('Data.Read', 'Data.Read.All'), readData)
 * ```
 */
export function requireScopesOrRoles(
  ...args: Parameters<typeof core.requireScopesOrRoles>
): GuardMiddleware {
  return toMiddleware(core.requireScopesOrRoles(...args))
}

/**
 * Hono middleware from a predicate over the verified token; `false` is a 403.
 *
 * @example
 * ```ts
 * app.get('/finance', requireClaims((auth) => auth.claims.department === 'finance'), handler)
 * ```
 */
export function requireClaims(...args: Parameters<typeof core.requireClaims>): GuardMiddleware {
  return toMiddleware(core.requireClaims(...args))
}
