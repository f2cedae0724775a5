/**
 * Koa 2 and 3 glue: hands the request (`ctx.req`, every header line as sent) to the core, which
 * decides, and puts the result on `ctx.state.auth`. Rejections are simply thrown: each is an
 * http-errors compatible error, and Koa's default `ctx.onerror` answers with its `status`, `headers`
 * (`WWW-Authenticate`, RFC 6750 §3) and, when `expose` is true, its message. A custom error
 * middleware must copy `err.headers` onto the response.
 *
 * @module bearer-guard/koa
 */
import type { Middleware } from 'koa'
import type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'
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
    // ctx.originalUrl: the request target as sent, whatever a mounted app made of `url`.
    const pending = validator.decide(ctx.req, authOptions, ctx.originalUrl)
    // A repeated token is decided at once, without awaiting a promise.
    const decision = pending instanceof Promise ? await pending : pending
    if (decision.headers !== undefined) ctx.set(decision.headers)
    if (decision.error !== undefined) throw decision.error
    ctx.state.auth = decision.auth
    await next()
  }
}

const guards = core.createGuards<Middleware<OptionalBearerGuardState>>((guard) => (ctx, next) => {
  const denied = core.checkGuard(guard, ctx.state.auth)
  if (denied !== undefined) throw denied
  return next()
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
 * Koa middleware that serves the validator's RFC 9728 protected-resource metadata at
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
): Middleware {
  const respond = core.createResourceMetadataResponder(core.toValidator(optionsOrValidator))
  return (ctx, next) => {
    const answer = respond(ctx.method, ctx.originalUrl)
    if (answer === undefined) return next()
    ctx.status = answer.status
    ctx.set(answer.headers)
    // Koa sends no body for HEAD, 204, and a 405 whose body is left unset gets its status text.
    if (answer.body !== undefined) ctx.body = answer.body
    return Promise.resolve()
  }
}
