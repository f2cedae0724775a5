/**
 * The protected header of a verified token, as the issuer sent it.
 */
export interface TokenHeader {
  readonly alg: string
  readonly kid?: string
  readonly typ?: string
  readonly [name: string]: unknown
}

/**
 * The claims of a verified token, as the issuer sent them. `iss`, `aud` and `exp` are always
 * present once a token has been verified.
 */
export interface TokenClaims {
  readonly iss: string
  readonly aud: string | readonly string[]
  readonly exp: number
  readonly sub?: string
  readonly nbf?: number
  readonly iat?: number
  readonly jti?: string
  readonly [name: string]: unknown
}

/**
 * What bearer-guard knows about the caller once a token has been verified. Adapters attach it
 * to `req.auth` (Express) or `ctx.state.auth` (Koa). It is immutable all the way down (header,
 * claims and every nested value, the lists and the dates): the same object may serve every
 * request that repeats the token, so no request can change what another sees.
 *
 * @example
 * ```ts
 * const auth = await validator.verify(token)
 * if (auth.appOnly) console.log(`daemon ${auth.clientId} with roles ${auth.roles.join(' ')}`)
 * ```
 */
export interface AuthInfo {
  /** The raw JWT, as received (an On-Behalf-Of exchange needs it). */
  readonly token: string
  readonly header: TokenHeader
  readonly claims: TokenClaims
  /** `sub`, when present. */
  readonly subject: string | undefined
  /** `iss`. */
  readonly issuer: string
  /** `aud`, always as a list. */
  readonly audience: readonly string[]
  /** Scopes from `scp` and `scope` (space-separated strings or arrays), without duplicates. */
  readonly scopes: readonly string[]
  /** Application permissions and app roles from `roles`. */
  readonly roles: readonly string[]
  /** The calling application: `azp`, `appid`, `client_id` or `cid`, the first present. */
  readonly clientId: string | undefined
  /** `tid` (Entra ID), when present. */
  readonly tenantId: string | undefined
  /**
   * True for a token an application obtained as itself (client credentials), false for a
   * delegated (user) token. From `idtyp` when present (Entra ID); otherwise true when the token
   * carries no scope and either `gty` is `client-credentials` or `oid` equals `sub`.
   */
  readonly appOnly: boolean
  /** `exp` as a Date. */
  readonly expiresAt: Date
  /** `iat` as a Date, when present. */
  readonly issuedAt: Date | undefined
  /**
   * How the token is bound to whoever presents it (`cnf`, RFC 7800), a binding the request
   * proved: the thumbprint of its DPoP key (RFC 9449) or of its client certificate (RFC 8705).
   * `undefined` for a plain Bearer token.
   */
  readonly binding: TokenBinding | undefined
  /**
   * The name of the issuer configuration that accepted the token: its key in
   * `createMultiIssuerValidator`'s `issuers`, or the `name` option; `undefined` when unnamed.
   */
  readonly issuerName: string | undefined
}

/**
 * What a bound token is bound to: a DPoP key by its RFC 7638 thumbprint (`cnf.jkt`), or a
 * client certificate by its SHA-256 thumbprint (`cnf["x5t#S256"]`), both base64url.
 *
 * @example
 * ```ts
 * if (auth.binding?.method === 'dpop') console.log(`proved key ${auth.binding.jkt}`)
 * ```
 */
export type TokenBinding =
  | { readonly method: 'dpop'; readonly jkt: string }
  | { readonly method: 'certificate'; readonly x5tS256: string }

/**
 * A route guard over the result of authentication: returns when the caller may proceed, and
 * throws an {@link InsufficientScopeError} (403) or, when there is no `AuthInfo` at all, an
 * {@link UnauthorizedError} (401).
 */
export type Guard = (
  auth: AuthInfo | undefined,
  /** The time to judge at, in seconds since the epoch (inspect's `now`); default the clock. */
  now?: number,
) => void
