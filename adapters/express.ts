/**
 * Express 4 and 5 glue: reads every Authorization value from `req.rawHeaders`, lets the core
 * decide, puts the result on `req.auth` and hands rejections to `next(err)`. Every rejection is
 * an http-errors error with `status` and `headers`, so Express's default handler (finalhandler)
 * already answers with the right status and `WWW-Authenticate` (RFC 6750 §3). A custom error
 * handler must copy `err.headers` onto the response.
 *
 * @module bearer-guard/express
 */
import type { RequestHandler } from 'express'
import type {
  AuthenticateOptions,
  AuthInfo,
  Guard,
  Validator,
  ValidatorOptions,
} from '../src/index.js'
import * as core from '../src/index.js'

export type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'

declare global {
  namespace Express {
    interface Request {
      /** The verified token, set by `authenticate()`; `undefined` for an anonymous request. */
      auth?: AuthInfo
    }
  }
}

/**
 * Express middleware that verifies the Bearer token (RFC 6750 §2.1) and sets `req.auth`. Takes
 * validator options, or an existing validator so one JWKS cache serves many routers. Options are
 * checked once, here, so a misspelt option throws a `TypeError` at startup. With
 * `{ credentialsRequired: false }` (default `true`), a request without Bearer credentials passes
 * with `req.auth` undefined; a bad token is still refused.
 *
 * @example
 * ```ts
 * app.use(authenticate({ issuer: 'https://issuer.example/', audience: 'api://orders', jwksUri }))
 * app.get('/me', (req, res) => res.json({ subject: req.auth?.subject }))
 * ```
 */
export function authenticate(
  optionsOrValidator: ValidatorOptions | Validator,
  options: AuthenticateOptions = {},
): RequestHandler {
  const validator = core.toValidator(optionsOrValidator)
  // A copy: changing the caller's object later must not change what this middleware accepts.
  const authOptions: AuthenticateOptions = { credentialsRequired: options.credentialsRequired }
  return (req, _res, next) => {
    const authorization = core.readAuthorization(req.rawHeaders)
    // A repeated token is answered at once: no promise, no extra tick.
    const cached = validator.lookup(authorization)
    if (cached !== undefined) {
      req.auth = cached
      next()
      return
    }
    validator.authenticate(authorization, authOptions).then((auth) => {
      req.auth = auth
      next()
    }, next)
  }
}

// After auth0's `toHandler`: a guard either returns or throws an http-errors error.
function toMiddleware(guard: Guard): RequestHandler {
  return (req, _res, next) => {
    try {
      guard(req.auth)
    } catch (err) {
      next(err)
      return
    }
    next()
  }
}

/**
 * Express middleware that needs the token's scopes (`scp` or `scope`): all of them by default,
 * any of them with `{ match: 'any' }`. 403 `insufficient_scope` when lacking, 401 without auth.
 *
 * @example
 * ```ts
 * app.get('/files', requireScopes('Files.Read'), listFiles)
 * ```
 */
export function requireScopes(...args: Parameters<typeof core.requireScopes>): RequestHandler {
  return toMiddleware(core.requireScopes(...args))
}

/**
 * Express middleware that needs at least one of the scopes.
 *
 * @example
 * ```ts
 * app.get('/files', requireAnyScope('Files.Read', 'Files.ReadWrite'), listFiles)
 * ```
 */
export function requireAnyScope(...args: Parameters<typeof core.requireAnyScope>): RequestHandler {
  return toMiddleware(core.requireAnyScope(...args))
}

/**
 * Express middleware that needs the token's `roles`: all of them by default, any with
 * `{ match: 'any' }`. Scopes never count.
 *
 * @example
 * ```ts
 * app.delete('/orders/:id', requireRoles('Orders.Admin'), deleteOrder)
 * ```
 */
export function requireRoles(...args: Parameters<typeof core.requireRoles>): RequestHandler {
  return toMiddleware(core.requireRoles(...args))
}

/**
 * Express middleware that needs at least one of the roles.
 *
 * @example
 * ```ts
 * app.get('/reports', requireAnyRole('Reader', 'Writer'), listReports)
 * ```
 */
export function requireAnyRole(...args: Parameters<typeof core.requireAnyRole>): RequestHandler {
  return toMiddleware(core.requireAnyRole(...args))
}

/**
 * Express middleware that passes a delegated token with any of the scopes or an app-only token
 * with any of the roles (application permissions).
 *
 * @example
 * ```ts
 * app.get('/data', requireScopesOrRoles('Data.Read', 'Data.Read.All'), readData)
 * ```
 */
export function requireScopesOrRoles(
  ...args: Parameters<typeof core.requireScopesOrRoles>
): RequestHandler {
  return toMiddleware(core.requireScopesOrRoles(...args))
}

/**
 * Express middleware from a predicate over the verified token; `false` is a 403.
 *
 * @example
 * ```ts
 * app.get('/finance', requireClaims((auth) => auth.claims.department === 'finance'), handler)
 * ```
 */
export function requireClaims(...args: Parameters<typeof core.requireClaims>): RequestHandler {
  return toMiddleware(core.requireClaims(...args))
}
