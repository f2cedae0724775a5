/**
 * Fastify 5 glue: reads every Authorization value from `request.raw.rawHeaders`, lets the core
 * decide and puts the result on `request.auth`. Hooks are async and simply reject: each rejection
 * is an http-errors compatible error, and Fastify's default error handler answers with its `statusCode` and
 * copies its `headers` (`WWW-Authenticate`, RFC 6750 §3, or `Retry-After`) onto the reply, but
 * logs each one (at `info` for a 4xx) when the logger is on; {@link errorHandler} answers them
 * without a log line. A custom error handler (`setErrorHandler`) must copy `error.headers` too.
 *
 * @module bearer-guard/fastify
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'
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
  return async (request, reply) => {
    const pending = validator.decide(request.raw, authOptions)
    // A repeated token is decided at once, without awaiting a promise.
    const decision = pending instanceof Promise ? await pending : pending
    if (decision.headers !== undefined) reply.headers(decision.headers)
    if (decision.error !== undefined) throw decision.error
    request.auth = decision.auth
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
 * registered on (no encapsulation of its own, as fastify-plugin would mark it), so every route there, and in its
 * child plugins, needs a Bearer token. Register it inside a plugin to protect only that plugin.
 * A bad option rejects `register()` (and `ready()`) with a `TypeError`.
 *
 * @example
 * ```ts
 * await app.register(bearerGuard, { issuer, audience, jwksUri })
 * await app.register(bearerGuard, { validator, credentialsRequired: false })
 * ```
 */
export const bearerGuard: FastifyPluginAsync<BearerGuardPluginOptions> = Object.assign(plugin, {
  // What fastify-plugin would set, without the dependency: no encapsulation, a name, Fastify 5.
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'bearer-guard',
  [Symbol.for('plugin-meta')]: { fastify: '5.x', name: 'bearer-guard' },
})

/**
 * A Fastify error handler (`app.setErrorHandler(errorHandler())`) for bearer-guard's rejections:
 * it answers with the status, the headers (`WWW-Authenticate`, `Retry-After`) and a small JSON
 * body (`{ error, error_description }`, the description only for a 4xx) and logs nothing, where
 * Fastify's default handler logs every rejection. Any other error is rethrown, so it reaches the
 * parent error handler (Fastify's default one, which logs it) as if this handler were not there.
 *
 * @example
 * ```ts
 * const app = Fastify({ logger: true })
 * app.setErrorHandler(errorHandler())
 * await app.register(bearerGuard, { validator })
 * ```
 */
export function errorHandler(): (
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) => FastifyReply {
  return (error, _request, reply) => {
    const answer = core.errorAnswer(error)
    if (answer === undefined) throw error
    return reply.code(answer.status).headers(answer.headers).send(answer.body)
  }
}

const guards = core.createGuards<BearerGuardHook>((guard) => async (request) => {
  const denied = core.checkGuard(guard, request.auth)
  if (denied !== undefined) throw denied
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
 * A Fastify plugin that serves the validator's RFC 9728 protected-resource metadata at
 * `/.well-known/oauth-protected-resource` and its path-suffixed form (§3.1), from an `onRequest`
 * hook: GET and HEAD get the JSON document, OPTIONS a CORS answer, other methods 405. Register it
 * before `bearerGuard` (the metadata is public; hooks run in order). Needs the `resourceMetadata`
 * option.
 *
 * @example
 * ```ts
 * await app.register(protectedResourceMetadata(validator))
 * await app.register(bearerGuard, { validator })
 * ```
 */
export function protectedResourceMetadata(
  optionsOrValidator: ValidatorOptions | Validator,
): FastifyPluginAsync {
  const respond = core.createResourceMetadataResponder(core.toValidator(optionsOrValidator))
  const metadataPlugin: FastifyPluginAsync = async (fastify) => {
    fastify.addHook('onRequest', async (request, reply) => {
      const answer = respond(request.method, request.url)
      if (answer === undefined) return
      return reply.code(answer.status).headers(answer.headers).send(answer.body)
    })
  }
  return Object.assign(metadataPlugin, {
    // Not encapsulated, so the hook sees every route's requests and unknown paths.
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'bearer-guard-resource-metadata',
  })
}
