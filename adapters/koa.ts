/**
 * Koa 2 and 3 glue: reads every Authorization value from `ctx.req.rawHeaders`, lets the core
 * decide and puts the result on `ctx.state.auth`. Rejections are simply thrown: each is an
 * http-errors error, and Koa's default `ctx.onerror` answers with its `status`, `headers`
 * (`WWW-Authenticate`, RFC 6750 §3) and, when `expose` is true, its message. A custom error
 * middleware must copy `err.headers` onto the response.
 *
 * @module bearer-guard/koa
 */
import type { Middleware } from 'koa'
import type {
  AuthenticateOptions,
  AuthInfo,
  Guard,
  Validator,
  ValidatorOptions,
} from '../src/index.js'
import * as core from '../src/index.js'

export type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'

/** The `ctx.state` that {@link authenticate} provides. */
export interface BearerGuardState {
  auth: AuthInfo
}

/** The `ctx.state` of `authenticate(v, { credentialsRequired: false })`: anonymous requests pass. */
export interface OptionalBearerGuardState {
  auth?: AuthInfo
}

/**
 * Koa middleware that verifies the Bearer token (RFC 6750 §2.1) and sets `ctx.state.auth`. Takes
 * validator options, or an existing validator so one JWKS cache serves many routers. Options are
 * checked once, here, so a misspelt option throws a `TypeError` at startup. With
 * `{ credentialsRequired: false }` (default `true`), a request without Bearer credentials passes
 * with `ctx.state.auth` undefined, typed {@link OptionalBearerGuardState}; a bad token is still
 * refused.
 *
 * @example
 * ```ts
 * const app = new Koa().use(authenticate(validator))
 * app.use((ctx) => {
 *   ctx.body = { subject: ctx.state.auth.subject }
 * })
 * ```
 */
export function authenticate(
  optionsOrValidator: ValidatorOptions | Validator,
  options?: { credentialsRequired?: true },
): Middleware<BearerGuardState>
export function authenticate(
  optionsOrValidator: ValidatorOptions | Validator,
  options: AuthenticateOptions,
): Middleware<OptionalBearerGuardState>
export function authenticate(
  optionsOrValidator: ValidatorOptions | Validator,
  options: AuthenticateOptions = {},
): Middleware<OptionalBearerGuardState> {
  const validator = core.toValidator(optionsOrValidator)
  // A copy: changing the caller's object later must not change what this middleware accepts.
  const authOptions: AuthenticateOptions = { credentialsRequired: options.credentialsRequired }
  return async (ctx, next) => {
    const authorization = core.readAuthorization(ctx.req.rawHeaders)
    // A repeated token is answered at once, without awaiting a promise.
    ctx.state.auth =
      validator.lookup(authorization) ?? (await validator.authenticate(authorization, authOptions))
    await next()
  }
}

// After auth0's `toHandler`: a guard either returns or throws an http-errors error.
function toMiddleware(guard: Guard): Middleware<OptionalBearerGuardState> {
  return (ctx, next) => {
    guard(ctx.state.auth)
    return next()
  }
}

/**
 * Koa middleware that needs the token's scopes (`scp` or `scope`): all of them by default, any
 * of them with `{ match: 'any' }`. 403 `insufficient_scope` when lacking, 401 without auth.
 *
 * @example
 * ```ts
 * router.get('/files', requireScopes('Files.Read'), listFiles)
 * ```
 */
export function requireScopes(
  ...args: Parameters<typeof core.requireScopes>
): Middleware<OptionalBearerGuardState> {
  return toMiddleware(core.requireScopes(...args))
}

/**
 * Koa middleware that needs at least one of the scopes.
 *
 * @example
 * ```ts
 * router.get('/files', requireAnyScope('Files.Read', 'Files.ReadWrite'), listFiles)
 * ```
 */
export function requireAnyScope(
  ...args: Parameters<typeof core.requireAnyScope>
): Middleware<OptionalBearerGuardState> {
  return toMiddleware(core.requireAnyScope(...args))
}

/**
 * Koa middleware that needs the token's `roles`: all of them by default, any with
 * `{ match: 'any' }`. Scopes never count.
 *
 * @example
 * ```ts
 * router.delete('/orders/:id', requireRoles('Orders.Admin'), deleteOrder)
 * ```
 */
export function requireRoles(
  ...args: Parameters<typeof core.requireRoles>
): Middleware<OptionalBearerGuardState> {
  return toMiddleware(core.requireRoles(...args))
}

/**
 * Koa middleware that needs at least one of the roles.
 *
 * @example
 * ```ts
 * router.get('/reports', requireAnyRole('Reader', 'Writer'), listReports)
 * ```
 */
export function requireAnyRole(
  ...args: Parameters<typeof core.requireAnyRole>
): Middleware<OptionalBearerGuardState> {
  return toMiddleware(core.requireAnyRole(...args))
}

/**
 * Koa middleware that passes a delegated token with any of the scopes or an app-only token with
 * any of the roles (application permissions).
 *
 * @example
 * ```ts
 * router.get('/data', requireScopesOrRoles('Data.Read', 'Data.Read.All'), readData)
 * ```
 */
export function requireScopesOrRoles(
  ...args: Parameters<typeof core.requireScopesOrRoles>
): Middleware<OptionalBearerGuardState> {
  return toMiddleware(core.requireScopesOrRoles(...args))
}

/**
 * Koa middleware from a predicate over the verified token; `false` is a 403.
 *
 * @example
 * ```ts
 * router.get('/finance', requireClaims((auth) => auth.claims.department === 'finance'), handler)
 * ```
 */
export function requireClaims(
  ...args: Parameters<typeof core.requireClaims>
): Middleware<OptionalBearerGuardState> {
  return toMiddleware(core.requireClaims(...args))
}
