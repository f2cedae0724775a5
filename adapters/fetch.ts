/**
 * Glue for any runtime built on the Fetch API (Hono, Next.js route handlers, Bun, Deno,
 * Cloudflare Workers): the result of authentication is either the `AuthInfo` or a ready
 * `Response`, and so is every guard. The Response carries the error's status and headers
 * (`WWW-Authenticate`, RFC 6750 §3, or `Retry-After`) and, as its `text/plain` body, the public
 * message of a 4xx; a 5xx body is empty (`expose` is false). No stack, no token.
 *
 * The Fetch API joins repeated headers with ", " (`Headers.get`), so credentials sent twice reach
 * the core as one value. A joined `Bearer a, Bearer b` is not a b64token and is refused with 400
 * `invalid_request`; a joined value that starts with another scheme (`Basic ..., Bearer ...`)
 * counts as no Bearer credentials.
 *
 * @module bearer-guard/fetch
 */
import type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'
import * as core from '../src/index.js'

export type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'

/** What {@link authenticate} returns: checks one request, resolving to its `AuthInfo` or a Response to send. */
export type Authenticator<Result = AuthInfo> = (
  request: core.FetchRequestLike,
) => Promise<Result | Response>

/** A guard over the result of authentication: `undefined` when the caller may proceed, else the Response to send. */
export type FetchGuard = (auth: AuthInfo | undefined) => Response | undefined

/**
 * The Response for a bearer-guard error: its status, its headers, and its message as a
 * `text/plain` body when `expose` is true (every 4xx), else no body. Any other error is rethrown.
 *
 * @example
 * ```ts
 * try {
 *   auth = await validator.verify(token)
 * } catch (error) {
 *   return toResponse(error)
 * }
 * ```
 */
export function toResponse(error: unknown): Response {
  if (!(error instanceof core.BearerGuardError)) throw error
  // Entries, not the object: `error.headers` also answers to a non-enumerable lower-case alias,
  // and Node's Headers (undici 6) copies non-enumerable keys too, which would repeat the value.
  const headers = new Headers(Object.entries(error.headers))
  if (error.expose) headers.set('content-type', 'text/plain; charset=utf-8')
  return new Response(error.expose ? error.message : null, { status: error.status, headers })
}

/**
 * Creates the function that verifies a request's Bearer token (RFC 6750 §2.1): it resolves to
 * the `AuthInfo`, or to a Response (401, 400, 503) to return as it is. Takes validator options,
 * or an existing validator so one JWKS cache serves every route; create it once, at module
 * level, not per request. With `{ credentialsRequired: false }` (default `true`), a request
 * without Bearer credentials resolves to `undefined`; a bad token still gets its Response.
 *
 * @example
 * ```ts
 * const authenticateRequest = authenticate({ issuer, audience, jwksUri })
 *
 * export async function GET(request: Request) {
 *   const auth = await authenticateRequest(request)
 *   if (auth instanceof Response) return auth
 *   return Response.json({ subject: auth.subject })
 * }
 * ```
 */
export function authenticate(
  optionsOrValidator: ValidatorOptions | Validator,
  options?: { credentialsRequired?: true },
): Authenticator
export function authenticate(
  optionsOrValidator: ValidatorOptions | Validator,
  options: AuthenticateOptions,
): Authenticator<AuthInfo | undefined>
export function authenticate(
  optionsOrValidator: ValidatorOptions | Validator,
  options: AuthenticateOptions = {},
): Authenticator<AuthInfo | undefined> {
  const validator = core.toValidator(optionsOrValidator)
  // A copy: changing the caller's object later must not change what this function accepts.
  const authOptions: AuthenticateOptions = { credentialsRequired: options.credentialsRequired }
  const answer = (
    request: core.FetchRequestLike,
    decision: core.Decision,
  ): AuthInfo | undefined | Response => {
    if (decision.error !== undefined)
      return withHeaders(toResponse(decision.error), decision.headers)
    if (decision.headers !== undefined) acceptedHeaders.set(request, decision.headers)
    return decision.auth
  }
  return async (request) => {
    const pending = validator.decide(request, authOptions)
    return answer(request, pending instanceof Promise ? await pending : pending)
  }
}

// The headers of an accepted decision (a rotated `DPoP-Nonce`), until the app's Response is made.
const acceptedHeaders = new WeakMap<object, Readonly<Record<string, string>>>()

/**
 * Adds to the app's Response the headers the decision about `request` carries when it was
 * accepted (a new `DPoP-Nonce` when nonces rotate, RFC 9449 §8.2); a rejection's Response has
 * them already. Returns the same Response.
 *
 * @example
 * ```ts
 * const auth = await authenticateRequest(request)
 * if (auth instanceof Response) return auth
 * return withDecisionHeaders(request, Response.json({ subject: auth.subject }))
 * ```
 */
export function withDecisionHeaders(request: core.FetchRequestLike, response: Response): Response {
  return withHeaders(response, acceptedHeaders.get(request))
}

/** A Response with the decision's own headers added (`DPoP-Nonce`). */
function withHeaders(response: Response, headers: Readonly<Record<string, string>> | undefined) {
  if (headers !== undefined)
    for (const name of Object.keys(headers)) response.headers.set(name, headers[name] as string)
  return response
}

const guards = core.createGuards<FetchGuard>((guard) => (auth) => {
  const denied = core.checkGuard(guard, auth)
  return denied === undefined ? undefined : toResponse(denied)
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

/** What {@link protectedResourceMetadata} returns: the Response for a metadata request, else `undefined`. */
export type MetadataResponder = (request: core.FetchRequestLike) => Response | undefined

/**
 * Creates the function that answers requests for the validator's RFC 9728 protected-resource
 * metadata (`/.well-known/oauth-protected-resource` and its path-suffixed form, §3.1): a
 * Response for those paths (GET and HEAD: the JSON document; OPTIONS: CORS; other methods: 405),
 * `undefined` for any other request. Needs the `resourceMetadata` option.
 *
 * @example
 * ```ts
 * const metadata = protectedResourceMetadata(validator)
 * export default { fetch: (request: Request) => metadata(request) ?? app(request) }
 * ```
 */
export function protectedResourceMetadata(
  optionsOrValidator: ValidatorOptions | Validator,
): MetadataResponder {
  const respond = core.createResourceMetadataResponder(core.toValidator(optionsOrValidator))
  return (request) => {
    const answer = respond(request.method, request.url)
    if (answer === undefined) return undefined
    return new Response(answer.body ?? null, {
      status: answer.status,
      headers: Object.entries(answer.headers),
    })
  }
}
