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
import type {
  AuthenticateOptions,
  AuthInfo,
  Guard,
  Validator,
  ValidatorOptions,
} from '../src/index.js'
import * as core from '../src/index.js'

export type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'

/** What {@link authenticate} returns: checks one request, resolving to its `AuthInfo` or a Response to send. */
export type Authenticator<Result = AuthInfo> = (
  request: Pick<Request, 'headers'>,
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
  return (request) =>
    validator
      .authenticate(request.headers.get('authorization') ?? undefined, authOptions)
      .catch(toResponse)
}

function toFetchGuard(guard: Guard): FetchGuard {
  return (auth) => {
    try {
      guard(auth)
    } catch (error) {
      return toResponse(error)
    }
    return undefined
  }
}

/**
 * A guard that needs the token's scopes (`scp` or `scope`): all of them by default, any of them
 * with `{ match: 'any' }`. Returns a 403 `insufficient_scope` Response when lacking, 401 without auth.
 *
 * @example
 * ```ts
 * const denied = requireScopes('Files.Read')(auth)
 * if (denied) return denied
 * ```
 */
export function requireScopes(...args: Parameters<typeof core.requireScopes>): FetchGuard {
  return toFetchGuard(core.requireScopes(...args))
}

/**
 * A guard that needs at least one of the scopes.
 *
 * @example
 * ```ts
 * const canRead = requireAnyScope('Files.Read', 'Files.ReadWrite')
 * ```
 */
export function requireAnyScope(...args: Parameters<typeof core.requireAnyScope>): FetchGuard {
  return toFetchGuard(core.requireAnyScope(...args))
}

/**
 * A guard that needs the token's `roles`: all of them by default, any with `{ match: 'any' }`.
 * Scopes never count.
 *
 * @example
 * ```ts
 * const adminOnly = requireRoles('Orders.Admin')
 * ```
 */
export function requireRoles(...args: Parameters<typeof core.requireRoles>): FetchGuard {
  return toFetchGuard(core.requireRoles(...args))
}

/**
 * A guard that needs at least one of the roles.
 *
 * @example
 * ```ts
 * const staff = requireAnyRole('Reader', 'Writer')
 * ```
 */
export function requireAnyRole(...args: Parameters<typeof core.requireAnyRole>): FetchGuard {
  return toFetchGuard(core.requireAnyRole(...args))
}

/**
 * A guard that passes a delegated token with any of the scopes or an app-only token with any of
 * the roles (application permissions).
 *
 * @example
 * ```ts
 * const canReadData = requireScopesOrRoles('Data.Read', 'Data.Read.All')
 * ```
 */
export function requireScopesOrRoles(
  ...args: Parameters<typeof core.requireScopesOrRoles>
): FetchGuard {
  return toFetchGuard(core.requireScopesOrRoles(...args))
}

/**
 * A guard from a predicate over the verified token; `false` gives a 403 Response.
 *
 * @example
 * ```ts
 * const finance = requireClaims((auth) => auth.claims.department === 'finance')
 * ```
 */
export function requireClaims(...args: Parameters<typeof core.requireClaims>): FetchGuard {
  return toFetchGuard(core.requireClaims(...args))
}
