import { type AuthorizationInput, missingCredentials, parseAuthorization } from './authorization.js'
import { BearerGuardError, InvalidTokenError } from './errors.js'
import { emitEvent } from './events.js'
import { createRemoteKeySource, createStaticKeySource, type KeySource } from './jwks.js'
import { type ResolvedOptions, resolveOptions, type ValidatorOptions } from './options.js'
import { setRealm } from './realm.js'
import { parseScopes } from './scopes.js'
import { checkClaims, checkHeader, parseToken } from './token.js'
import type { AuthInfo, TokenClaims, TokenHeader } from './types.js'
import { verifySignature } from './verify.js'

/** Options of {@link Validator.authenticate}. */
export interface AuthenticateOptions {
  /** When false, a request without Bearer credentials yields `undefined` instead of a 401. A bad token is still rejected. Default true. */
  credentialsRequired?: boolean
}

/**
 * Verifies bearer tokens. Create one per protected API and share it: every route and request
 * uses its one key cache.
 */
export interface Validator {
  /**
   * Verifies a token and returns what it says about the caller, or rejects with a
   * {@link BearerGuardError}: 401 `invalid_token` for any token that fails, 503 when no key can be had.
   */
  verify(token: string): Promise<AuthInfo>
  /**
   * Reads the Authorization header (one value, or every value a request carried) and verifies
   * its Bearer token. No Bearer credentials: 401 without error code (RFC 6750 §3.1); malformed
   * or repeated credentials: 400 `invalid_request`.
   */
  authenticate(
    authorization: AuthorizationInput,
    options?: { credentialsRequired?: true },
  ): Promise<AuthInfo>
  authenticate(
    authorization: AuthorizationInput,
    options: AuthenticateOptions,
  ): Promise<AuthInfo | undefined>
  /** Loads the signing keys now, so the first requests do not wait; rejects with a 503 error when they cannot be had. */
  warmUp(): Promise<void>
  /** The realm named in this validator's challenges. */
  readonly realm: string
  /** The validated options. */
  readonly options: ResolvedOptions
}

const validators = new WeakSet<object>()

function readAuthInfo(
  token: string,
  header: TokenHeader,
  claims: TokenClaims,
  realm: string,
): AuthInfo {
  const scp = claims.scp === undefined ? [] : parseScopes(claims.scp)
  const scope = claims.scope === undefined ? [] : parseScopes(claims.scope)
  const roles = claims.roles === undefined ? [] : parseScopes(claims.roles)
  if (scp === undefined || scope === undefined || roles === undefined) {
    throw new InvalidTokenError(
      'the token scp, scope or roles claim must be a string or an array of strings',
      {
        reason: 'invalid_claim',
        realm,
      },
    )
  }
  const scopes =
    scope.length === 0 ? scp : scp.length === 0 ? scope : [...new Set([...scp, ...scope])]
  const clientId = [claims.azp, claims.appid, claims.client_id, claims.cid].find(
    (value): value is string => typeof value === 'string',
  )
  const idtyp = claims.idtyp
  const appOnly =
    idtyp === 'app'
      ? true
      : idtyp === 'user'
        ? false
        : scopes.length === 0 &&
          (claims.gty === 'client-credentials' ||
            (typeof claims.oid === 'string' && claims.oid === claims.sub))
  const auth: AuthInfo = {
    token,
    header: Object.freeze(header),
    claims: Object.freeze(claims),
    subject: claims.sub,
    issuer: claims.iss,
    audience: Object.freeze(typeof claims.aud === 'string' ? [claims.aud] : [...claims.aud]),
    scopes: Object.freeze(scopes),
    roles: Object.freeze(roles),
    clientId,
    tenantId: typeof claims.tid === 'string' ? claims.tid : undefined,
    appOnly,
    expiresAt: new Date(claims.exp * 1000),
    issuedAt: typeof claims.iat === 'number' ? new Date(claims.iat * 1000) : undefined,
  }
  setRealm(auth, realm)
  return Object.freeze(auth)
}

function checkCaller(auth: AuthInfo, options: ResolvedOptions): void {
  const { realm } = options
  if (options.allowedClients !== undefined) {
    if (auth.clientId === undefined || !options.allowedClients.has(auth.clientId)) {
      throw new InvalidTokenError(
        'the calling application (azp, appid) is not allowed to call this API',
        {
          reason: 'wrong_client',
          realm,
        },
      )
    }
  }
  if (options.requirePermissions && auth.scopes.length === 0 && auth.roles.length === 0) {
    throw new InvalidTokenError(
      'the token carries neither scopes (scp) nor application permissions (roles)',
      { reason: 'no_permissions', realm },
    )
  }
  if (options.validateClaims !== undefined) {
    const problem = options.validateClaims(auth.claims, auth.header)
    if (problem !== undefined) {
      throw new InvalidTokenError(problem.description, { reason: problem.reason, realm })
    }
  }
}

function createKeySource(options: ResolvedOptions): KeySource {
  const source = options.keySource
  return source.kind === 'static'
    ? createStaticKeySource(options, source.jwks)
    : createRemoteKeySource(options, source)
}

/**
 * Creates a validator: checks the options at once (a `TypeError` names any bad option) and
 * prepares the key source. No network request happens until the first token or `warmUp()`.
 *
 * @example
 * ```ts
 * const validator = createValidator({
 *   issuer: 'https://login.microsoftonline.com/{tenant}/v2.0',
 *   audience: 'api://orders',
 *   jwksUri: 'https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys',
 * })
 * const auth = await validator.authenticate(req.headers.authorization)
 * ```
 */
export function createValidator(options: ValidatorOptions): Validator {
  const resolved = resolveOptions(options)
  const { realm } = resolved
  const keySource = createKeySource(resolved)

  async function verifyToken(token: string): Promise<AuthInfo> {
    const parsed = parseToken(token, resolved)
    const { header, claims } = parsed
    checkHeader(header, resolved)
    let auth: AuthInfo
    try {
      const pending = checkClaims(claims, resolved, Math.floor(Date.now() / 1000))
      if (pending !== undefined) await pending
      auth = readAuthInfo(token, header, claims, realm)
      checkCaller(auth, resolved)
    } catch (error) {
      throw explain(error, claims)
    }
    const { key, jwk } = await keySource.getKey(header)
    if (resolved.signingKeyIssuer !== undefined && typeof jwk.issuer === 'string') {
      if (!resolved.signingKeyIssuer(jwk.issuer, claims)) {
        throw new InvalidTokenError('the signing key of the token belongs to another issuer', {
          reason: 'wrong_issuer',
          realm,
        })
      }
    }
    await verifySignature(token, key, header.alg, realm)
    return auth
  }

  function explain(error: unknown, claims: TokenClaims): unknown {
    if (!(error instanceof InvalidTokenError) || resolved.describeRejection === undefined)
      return error
    const description = resolved.describeRejection(error.reason, claims)
    if (description === undefined || description === error.message) return error
    return new InvalidTokenError(description, {
      reason: error.reason,
      realm,
      cause: error.cause ?? error,
    })
  }

  function report(error: unknown): never {
    if (error instanceof BearerGuardError && resolved.onEvent !== undefined) {
      emitEvent(resolved.onEvent, {
        type: 'token_rejected',
        status: error.status,
        reason: error.reason,
        description: error.message,
      })
    }
    throw error
  }

  const validator: Validator = {
    realm,
    options: resolved,
    verify(token) {
      return verifyToken(token).catch(report)
    },
    async authenticate(authorization: AuthorizationInput, authOptions?: AuthenticateOptions) {
      let token: string | undefined
      try {
        token = parseAuthorization(authorization, realm)
      } catch (error) {
        report(error)
      }
      if (token === undefined) {
        if (authOptions?.credentialsRequired === false) return undefined
        throw missingCredentials(realm)
      }
      return verifyToken(token).catch(report)
    },
    warmUp() {
      return keySource.warmUp()
    },
  } as Validator
  validators.add(validator)
  return Object.freeze(validator)
}

/**
 * Whether `value` is a validator made by {@link createValidator}.
 *
 * @example
 * ```ts
 * isValidator(createValidator(options)) // true
 * ```
 */
export function isValidator(value: unknown): value is Validator {
  return typeof value === 'object' && value !== null && validators.has(value)
}

/**
 * Returns the validator itself, or a new one made from options: what adapters call with the
 * argument of `authenticate(optionsOrValidator)`, once, when the middleware is created.
 *
 * @example
 * ```ts
 * const validator = toValidator(optionsOrValidator)
 * ```
 */
export function toValidator(optionsOrValidator: ValidatorOptions | Validator): Validator {
  return isValidator(optionsOrValidator)
    ? optionsOrValidator
    : createValidator(optionsOrValidator as ValidatorOptions)
}
