/**
 * Fastify 5 glue: reads every Authorization value from `request.raw.rawHeaders`, lets the core
 * decide and puts the result on `request.auth`. Hooks are async and simply reject: each rejection
 * is an http-errors error, and Fastify's default error handler answers with its `statusCode` and
 * copies its `headers` (`WWW-Authenticate`, RFC 6750 §3, or `Retry-After`) onto the reply. A
 * custom error handler (`setErrorHandler`) must copy `error.headers` too.
 *
 * @module bearer-guard/fastify
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type {
  AuthenticateOptions,
  AuthInfo,
  Guard,
  Validator,
  ValidatorOptions,
} from '../src/index.js'
import * as core from '../src/index.js'

export type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token, set by `authenticate()`; `undefined` for an anonymous request. */
    auth?: AuthInfo
  }
}

/**
 * An async Fastify hook. Use it as `onRequest` (before the body is read) or `preHandler`, on the
 * whole instance with `addHook` or on one route.
 */
export type BearerGuardHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/** Options of the {@link bearerGuard} plugin: a validator, or validator options, and `credentialsRequired`. */
export type BearerGuardPluginOptions = AuthenticateOptions &
  ({ validator: Validator } | (ValidatorOptions & { validator?: undefined }))

/**
 * A Fastify hook that verifies the Bearer token (RFC 6750 §2.1) and sets `request.auth`. Takes
 * validator options, or an existing validator so one JWKS cache serves every plugin and route.
 * Options are checked once, here, so a misspelt option throws a `TypeError` at startup. With
 * `{ credentialsRequired: false }` (default `true`), a request without Bearer credentials passes
 * with `request.auth` undefined; a bad token is still refused.
 *
 * @example
 * ```ts
 * app.get('/me', { onRequest: authenticate(validator) }, async (request) => ({
 *   subject: request.auth?.subject,
 * }))
 * ```
 */
export function authenticate(
  optionsOrValidator: ValidatorOptions | Validator,
  options: AuthenticateOptions = {},
): BearerGuardHook {
  const validator = core.toValidator(optionsOrValidator)
  // A copy: changing the caller's object later must not change what this hook accepts.
  const authOptions: AuthenticateOptions = { credentialsRequired: options.credentialsRequired }
  return async (request) => {
    request.auth = await validator.authenticate(
      core.readAuthorization(request.raw.rawHeaders),
      authOptions,
    )
  }
}

// Async, so a bad option rejects `register()` and `ready()` instead of throwing past them.
const plugin: FastifyPluginAsync<BearerGuardPluginOptions> = async (fastify, pluginOptions) => {
  const { validator, credentialsRequired, ...validatorOptions } = pluginOptions
  // Declared once, so every request object keeps one shape (Fastify's decorator advice).
  if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', undefined)
  const optionsOrValidator = validator ?? (validatorOptions as ValidatorOptions)
  fastify.addHook('onRequest', authenticate(optionsOrValidator, { credentialsRequired }))
}

/**
 * The Fastify plugin: adds {@link authenticate} as an `onRequest` hook to the instance it is
 * registered on (fastify-plugin: no encapsulation of its own), so every route there, and in its
 * child plugins, needs a Bearer token. Register it inside a plugin to protect only that plugin.
 * A bad option rejects `register()` (and `ready()`) with a `TypeError`.
 *
 * @example
 * ```ts
 * await app.register(bearerGuard, { issuer, audience, jwksUri })
 * await app.register(bearerGuard, { validator, credentialsRequired: false })
 * ```
 */
export const bearerGuard = fp(plugin, { fastify: '5.x', name: 'bearer-guard' })

// After auth0's `toHandler`: a guard either returns or throws an http-errors error.
function toHook(guard: Guard): BearerGuardHook {
  return async (request) => guard(request.auth)
}

/**
 * A `preHandler` hook that needs the token's scopes (`scp` or `scope`): all of them by default,
 * any of them with `{ match: 'any' }`. 403 `insufficient_scope` when lacking, 401 without auth.
 *
 * @example
 * ```ts
 * app.get('/files', { preHandler: requireScopes('Files.Read') }, listFiles)
 * ```
 */
export function requireScopes(...args: Parameters<typeof core.requireScopes>): BearerGuardHook {
  return toHook(core.requireScopes(...args))
}

/**
 * A `preHandler` hook that needs at least one of the scopes.
 *
 * @example
 * ```ts
 * app.get('/files', { preHandler: requireAnyScope('Files.Read', 'Files.ReadWrite') }, listFiles)
 * ```
 */
export function requireAnyScope(...args: Parameters<typeof core.requireAnyScope>): BearerGuardHook {
  return toHook(core.requireAnyScope(...args))
}

/**
 * A `preHandler` hook that needs the token's `roles`: all of them by default, any with
 * `{ match: 'any' }`. Scopes never count.
 *
 * @example
 * ```ts
 * app.delete('/orders/:id', { preHandler: requireRoles('Orders.Admin') }, deleteOrder)
 * ```
 */
export function requireRoles(...args: Parameters<typeof core.requireRoles>): BearerGuardHook {
  return toHook(core.requireRoles(...args))
}

/**
 * A `preHandler` hook that needs at least one of the roles.
 *
 * @example
 * ```ts
 * app.get('/reports', { preHandler: requireAnyRole('Reader', 'Writer') }, listReports)
 * ```
 */
export function requireAnyRole(...args: Parameters<typeof core.requireAnyRole>): BearerGuardHook {
  return toHook(core.requireAnyRole(...args))
}

/**
 * A `preHandler` hook that passes a delegated token with any of the scopes or an app-only token
 * with any of the roles (application permissions).
 *
 * @example
 * ```ts
 * app.get('/data', { preHandler: requireScopesOrRoles('Data.Read', 'Data.Read.All') }, readData)
 * ```
 */
export function requireScopesOrRoles(
  ...args: Parameters<typeof core.requireScopesOrRoles>
): BearerGuardHook {
  return toHook(core.requireScopesOrRoles(...args))
}

/**
 * A `preHandler` hook from a predicate over the verified token; `false` is a 403.
 *
 * @example
 * ```ts
 * app.get('/finance', { preHandler: requireClaims((auth) => auth.tenantId === tid) }, handler)
 * ```
 */
export function requireClaims(...args: Parameters<typeof core.requireClaims>): BearerGuardHook {
  return toHook(core.requireClaims(...args))
}
