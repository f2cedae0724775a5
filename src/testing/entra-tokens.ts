/**
 * Access token claims as Entra ID issues them, v1.0 and v2.0, app-only and delegated, after
 * Microsoft's access token claims reference
 * (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
 */
import { randomBytes } from 'node:crypto'

/** How the client authenticated: `0` public client, `1` secret, `2` certificate (`azpacr`, `appidacr`). */
export type ClientAuthMethod = '0' | '1' | '2'

/** The user of a delegated token, with the pairwise `sub` the token gets. */
export interface TokenUser {
  readonly oid: string
  readonly sub: string
  readonly name: string
  readonly username: string
  readonly givenName: string
  readonly familyName: string
}

/** What an access token says. */
export interface AccessTokenContent {
  readonly version: 1 | 2
  readonly tenantId: string
  readonly audience: string
  readonly clientId: string
  readonly clientAuth: ClientAuthMethod
  /** The user, for a delegated token; absent for an app-only token. */
  readonly user?: TokenUser
  /** The client's service principal id (`oid` = `sub`) of an app-only token. */
  readonly servicePrincipalId?: string
  readonly scopes?: readonly string[]
  readonly roles?: readonly string[]
  /** Client capabilities the client declared (`xms_cc`), such as `cp1`. */
  readonly capabilities?: readonly string[]
  /** Conditional Access authentication contexts satisfied (`acrs`), such as `c1`. */
  readonly authContexts?: readonly string[]
  /** `acr` of a v2 token (v1 tokens always say `1`). */
  readonly acr?: string
  /** `auth_time`, epoch seconds. */
  readonly authTime?: number
  /** Epoch seconds. */
  readonly issuedAt: number
  /** Seconds. */
  readonly lifetime: number
}

/** The issuers of a tenant's tokens. */
export interface TokenIssuers {
  v1(tenantId: string): string
  v2(tenantId: string): string
}

function opaque(bytes: number): string {
  return randomBytes(bytes).toString('base64url')
}

/**
 * The claims of an access token, in the order Microsoft's samples show them. `scp` and `roles`
 * are left out when empty, as Entra ID does.
 */
export function buildAccessTokenClaims(
  content: AccessTokenContent,
  issuers: TokenIssuers,
): Record<string, unknown> {
  const { version, tenantId, user } = content
  const iss = version === 1 ? issuers.v1(tenantId) : issuers.v2(tenantId)
  const scp =
    content.scopes !== undefined && content.scopes.length > 0 ? content.scopes.join(' ') : undefined
  const roles =
    content.roles !== undefined && content.roles.length > 0 ? [...content.roles] : undefined
  const oid = user?.oid ?? content.servicePrincipalId
  const sub = user?.sub ?? content.servicePrincipalId
  const times = {
    iat: content.issuedAt,
    nbf: content.issuedAt,
    exp: content.issuedAt + content.lifetime,
  }
  const common = {
    aud: content.audience,
    iss,
    ...times,
    ...(content.authTime === undefined ? {} : { auth_time: content.authTime }),
    ...(content.authContexts === undefined || content.authContexts.length === 0
      ? {}
      : { acrs: [...content.authContexts] }),
    aio: opaque(42),
  }
  const capabilities =
    content.capabilities === undefined || content.capabilities.length === 0
      ? {}
      : { xms_cc: [...content.capabilities] }
  const tail = {
    oid,
    rh: `0.A${opaque(39)}.`,
    ...(roles === undefined ? {} : { roles }),
    ...(scp === undefined ? {} : { scp }),
    sub,
    tid: tenantId,
    uti: opaque(16),
    ver: `${version}.0`,
    ...capabilities,
  }
  if (version === 2) {
    return {
      ...common,
      azp: content.clientId,
      azpacr: content.clientAuth,
      ...(user === undefined || content.acr === undefined ? {} : { acr: content.acr }),
      ...(user === undefined
        ? { idtyp: 'app' }
        : { name: user.name, preferred_username: user.username }),
      ...tail,
    }
  }
  return {
    ...common,
    ...(user === undefined ? {} : { acr: '1', amr: ['pwd'] }),
    appid: content.clientId,
    appidacr: content.clientAuth,
    ...(user === undefined
      ? { idp: iss, idtyp: 'app' }
      : {
          family_name: user.familyName,
          given_name: user.givenName,
          ipaddr: '127.0.0.1',
          name: user.name,
        }),
    ...tail,
    ...(user === undefined ? {} : { unique_name: user.username, upn: user.username }),
  }
}
