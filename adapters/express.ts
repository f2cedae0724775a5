/**
 * Express 4 and 5 glue: hands the request to the core (`validator.decide`), puts the caller on
 * `req.auth` and hands rejections to `next(err)`. Every rejection is an http-errors compatible error with
 * `status` and `headers`, so Express's default handler (finalhandler) already answers with the
 * right status and `WWW-Authenticate` (RFC 6750 §3). A custom error handler must copy
 * `err.headers` onto the response.
 *
 * @module bearer-guard/express
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express'
import type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'
import * as core from '../src/index.js'
import { nodeMetadataHandler } from './node-metadata.js'

export type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'

declare global {
  namespace Express {
    interface Request {
      /** The verified token, set by `authenticate()`; `undefined` for an anonymous request. */
      auth?: AuthInfo
    }
  }
}

function apply(req: Request, res: Response, next: NextFunction, decision: core.Decision): void {
  if (decision.headers !== undefined) res.set(decision.headers)
  if (decision.error !== undefined) {
    next(decision.error)
    return
  }
  req.auth = decision.auth
  next()
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
  return (req, res, next) => {
    // A repeated token is decided at once: no promise, no extra tick.
    core.whenDecided(
      validator.decide(req, authOptions),
      (decision) => apply(req, res, next, decision),
      next,
    )
  }
}

const guards = core.createGuards<RequestHandler>((guard) => (req, _res, next) => {
  next(core.checkGuard(guard, req.auth))
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
 * An Express error handler for bearer-guard's rejections: it answers with the error's status, its
 * headers (`WWW-Authenticate`, `Retry-After`) and a small JSON body (`{ error,
 * error_description }`), logs nothing, and hands every other error to the next handler. Express's
 * own handler would print each rejection's stack to stderr, and render HTML in development.
 * Register it after the routes.
 *
 * @example
 * ```ts
 * app.use(authenticate(options))
 * app.get('/files', requireScopes('Files.Read'), listFiles)
 * app.use(errorHandler())
 * ```
 */
export function errorHandler(): ErrorRequestHandler {
  return (err, _req, res, next) => {
    const answer = core.errorAnswer(err)
    if (answer === undefined || res.headersSent) {
      next(err)
      return
    }
    res.status(answer.status).set(answer.headers).json(answer.body)
  }
}

/**
 * Express middleware that serves the validator's RFC 9728 protected-resource metadata at
 * `/.well-known/oauth-protected-resource` and its path-suffixed form (§3.1): GET and HEAD get
 * the JSON document, OPTIONS a CORS answer, other methods 405; any other path goes to `next()`.
 * Register it before `authenticate` (the metadata is public). Needs the `resourceMetadata` option.
 *
 * @example
 * ```ts
 * app.use(protectedResourceMetadata(validator))
 * app.use(authenticate(validator))
 * ```
 */
export function protectedResourceMetadata(
  optionsOrValidator: ValidatorOptions | Validator,
): RequestHandler {
  return nodeMetadataHandler(optionsOrValidator)
}
