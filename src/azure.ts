/**
 * The Entra ID (Azure AD) profile: validator options for APIs that accept Entra ID access
 * tokens, v1 and v2, single- and multi-tenant, app-only and delegated.
 *
 * Issuers: v1 tokens say `https://sts.windows.net/{tid}/`, v2 tokens `{instance}/{tid}/v2.0`.
 * Keys come from `{instance}/{tenant}/discovery/v2.0/keys`, whose keys carry an `issuer` that
 * must fit the token (as Microsoft.IdentityModel's EnableAadSigningKeyIssuerValidation checks).
 *
 * Entra ID is the known exception to the discovery rule (a document's `issuer` must equal the
 * configured issuer): v1 tokens carry `https://sts.windows.net/{tid}/` while the tenant's v2
 * discovery document names `https://login.microsoftonline.com/{tid}/v2.0`, and the multi-tenant
 * documents name `{tenantid}` as a template. So this profile does not discover keys from the
 * issuer: it names the tenant's JWKS itself, and checks each key's `issuer` member against the
 * token instead, rather than the rule being weakened for every issuer.
 */
import { KeysUnavailableError, type RejectionReason } from './errors.js'
import { withIssuerOwnership } from './issuers.js'
import { fetchJson } from './jwks.js'
import {
  type ClaimsProblem,
  checkKeyUrl,
  closestOptionName,
  VALIDATOR_OPTION_NAMES,
  type ValidatorOptions,
} from './options.js'
import { withAuthorizationServer } from './resource-metadata.js'
import type { TokenClaims, TokenHeader } from './types.js'

/**
 * Entra ID national clouds: their login instance and their v1 token issuer host, after
 * Microsoft's "National clouds" page (Microsoft Entra authentication endpoints): China's
 * (21Vianet) is `login.partner.microsoftonline.cn`, its v1 issuer `sts.chinacloudapi.cn`.
 */
export const AZURE_CLOUDS = {
  public: { instance: 'https://login.microsoftonline.com', v1Issuer: 'https://sts.windows.net' },
  usgovernment: {
    instance: 'https://login.microsoftonline.us',
    v1Issuer: 'https://sts.windows.net',
  },
  china: {
    instance: 'https://login.partner.microsoftonline.cn',
    v1Issuer: 'https://sts.chinacloudapi.cn',
  },
} as const

// azureAd()'s own options; the others are createValidator's, passed on.
const AZURE_OPTION_NAMES: ReadonlySet<string> = new Set([
  'tenant',
  'clientId',
  'audience',
  'appIdUri',
  'allowedTenants',
  'tokenVersions',
  'cloud',
  'instance',
  'jwksUri',
  'requirePermissions',
])

/** An Entra ID access token version (the `ver` claim). */
export type AzureTokenVersion = '1.0' | '2.0'

/**
 * Options of {@link azureAd}. Every {@link ValidatorOptions} member except `issuer`, `audience`
 * and the key source may be given too and is passed through (clockTolerance, algorithms...).
 */
export interface AzureAdOptions
  extends Omit<ValidatorOptions, 'issuer' | 'audience' | 'jwksUri' | 'discoveryUrl'> {
  /**
   * The tenant: its id (a GUID), one of its verified domains (`contoso.onmicrosoft.com`,
   * resolved once through the tenant's discovery document), or `organizations` / `common` for a
   * multi-tenant API, which then needs `allowedTenants`.
   */
  tenant: string
  /** The API's application (client) id. Accepted audiences default to it and `api://{clientId}`. */
  clientId?: string
  /**
   * Accepted audiences. A single client id or `api://{clientId}` accepts both forms (v1 tokens
   * usually carry the App ID URI, v2 tokens the client id); a list is taken as it is.
   */
  audience?: string | readonly string[]
  /**
   * The API's App ID URI when it is not `api://{clientId}` (a custom one such as `api://orders` or
   * `https://contoso.com/orders`): accepted as an audience beside the client id and
   * `api://{clientId}`. v1 tokens carry the App ID URI the client asked for.
   */
  appIdUri?: string | readonly string[]
  /**
   * Multi-tenant only, and required there: the tenant ids (GUIDs) whose tokens are accepted,
   * or `'*'` to accept every tenant (then authorise callers by other means).
   */
  allowedTenants?: readonly string[] | '*'
  /** Accepted token versions. Default both `1.0` and `2.0`. */
  tokenVersions?: readonly AzureTokenVersion[]
  /** The national cloud. Default `public`. */
  cloud?: keyof typeof AZURE_CLOUDS
  /** The login instance, overriding the cloud's (another cloud, or a local emulator in tests). */
  instance?: string
  /** The JWKS URL, overriding `{instance}/{tenant}/discovery/v2.0/keys`. */
  jwksUri?: string
  /**
   * Whether a token must carry `scp` or `roles`. Default true, as Microsoft.Identity.Web:
   * otherwise any application in the tenant that can get a token for the API can call it. Set
   * false for APIs that authorise callers by `allowedClients` instead.
   */
  requirePermissions?: boolean
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const APP_ID_URI_OF_GUID =
  /^api:\/\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i
const MULTI_TENANT = new Set(['organizations', 'common'])
const TENANT_TEMPLATE = '{tenantid}'
// Microsoft Graph and the older Azure AD Graph, by application id and by URI.
const GRAPH_AUDIENCES = new Set([
  '00000003-0000-0000-c000-000000000000',
  'https://graph.microsoft.com',
  'https://graph.microsoft.com/',
  '00000002-0000-0000-c000-000000000000',
  'https://graph.windows.net',
  'https://graph.windows.net/',
])

function fail(message: string): never {
  throw new TypeError(message)
}

/** Whether a string is a GUID, the form of Entra ID tenant and application ids. */
export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value)
}

function resolveAudiences(options: AzureAdOptions): string[] {
  const { audience, clientId } = options
  if (clientId !== undefined && !isGuid(clientId)) fail('"clientId" option must be a GUID')
  if (Array.isArray(audience)) {
    if (
      audience.length === 0 ||
      !audience.every((value) => typeof value === 'string' && value !== '')
    ) {
      fail('"audience" option must be a non-empty string or an array of them')
    }
    return [...audience]
  }
  const list: string[] = []
  if (audience !== undefined) {
    if (typeof audience !== 'string' || audience === '') {
      fail('"audience" option must be a non-empty string or an array of them')
    }
    list.push(audience)
    const id = isGuid(audience) ? audience : APP_ID_URI_OF_GUID.exec(audience)?.[1]
    if (id !== undefined) list.push(id, `api://${id}`)
  }
  if (clientId !== undefined) list.push(clientId, `api://${clientId}`)
  const { appIdUri } = options
  if (appIdUri !== undefined) {
    const uris = typeof appIdUri === 'string' ? [appIdUri] : appIdUri
    if (
      !Array.isArray(uris) ||
      uris.length === 0 ||
      !uris.every((uri) => typeof uri === 'string' && /^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(uri))
    ) {
      fail('"appIdUri" option must be a URI (api://... or https://...) or an array of them')
    }
    list.push(...uris)
  }
  if (list.length === 0) fail('"clientId" or "audience" option is required')
  return [...new Set(list)]
}

function resolveInstance(options: AzureAdOptions): { instance: string; v1Issuer: string } {
  const cloudName = options.cloud ?? 'public'
  const cloud = AZURE_CLOUDS[cloudName]
  if (cloud === undefined)
    fail(`"cloud" option must be one of ${Object.keys(AZURE_CLOUDS).join(', ')}`)
  if (options.instance === undefined) return cloud
  const url = checkKeyUrl('instance', options.instance)
  return { instance: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, v1Issuer: cloud.v1Issuer }
}

function resolveVersions(value: unknown): Set<AzureTokenVersion> {
  if (value === undefined) return new Set(['1.0', '2.0'])
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((version) => version === '1.0' || version === '2.0')
  ) {
    fail('"tokenVersions" option must be a non-empty array of "1.0" and "2.0"')
  }
  return new Set(value as AzureTokenVersion[])
}

/**
 * Resolves a verified domain to its tenant id, once, through the tenant's discovery document
 * (single flight; after a failure, requests answer 503 without a fetch for `cooldown` ms, then retry).
 */
function createTenantResolver(
  discoveryUrl: URL,
  timeout: number,
  maxSize: number,
  fetcher: typeof fetch | undefined,
  cooldown: number,
): { resolved(): string | undefined; resolve(): Promise<string> } {
  let tenantId: string | undefined
  let pending: Promise<string> | undefined
  // After a failed lookup, requests get their 503 at once until `cooldown` ms have passed:
  // tokens from tenants nobody configured (a multi-issuer validator asks this profile about
  // every Entra ID issuer) must not each cost a fetch.
  let failure: { at: number; cause: unknown } | undefined
  async function load(): Promise<string> {
    const document = await fetchJson(discoveryUrl, timeout, maxSize, fetcher)
    const issuer = (document as { issuer?: unknown } | null)?.issuer
    const id = typeof issuer === 'string' ? issuer.split('/').find(isGuid) : undefined
    if (id === undefined) throw new Error('the tenant discovery document names no tenant id')
    tenantId = id.toLowerCase()
    return tenantId
  }
  const unavailable = (cause: unknown) =>
    new KeysUnavailableError(Math.ceil(timeout / 1000), { reason: 'keys_unavailable', cause })
  const resolve = () => {
    if (tenantId !== undefined) return Promise.resolve(tenantId)
    if (failure !== undefined && Date.now() - failure.at < cooldown) {
      return Promise.reject(unavailable(failure.cause))
    }
    pending ??= load().then(
      (id) => {
        pending = undefined
        failure = undefined
        return id
      },
      (cause) => {
        pending = undefined
        failure = { at: Date.now(), cause }
        throw cause
      },
    )
    return pending.catch((cause) => {
      throw new KeysUnavailableError(Math.ceil(timeout / 1000), {
        reason: 'keys_unavailable',
        cause,
      })
    })
  }
  return { resolved: () => tenantId, resolve }
}

/**
 * Validator options for an API that accepts Entra ID (Azure AD) access tokens: v1 and v2
 * issuers, the tenant's keys with their issuer checked, multi-tenant issuer validation in which
 * the tenant in `iss` must equal `tid`, both audience forms, and a rejection of tokens that carry
 * neither `scp` nor `roles`. Errors explain the usual mistakes (an ID token or a Microsoft
 * Graph token sent to the API, a v1/v2 audience mix-up, a tenant that is not allowed). Keys
 * are not discovered from the issuer (see the file header: v1 tokens name
 * `https://sts.windows.net/{tid}/`, the v2 discovery document `login.microsoftonline.com`).
 *
 * @example
 * ```ts
 * const validator = createValidator(azureAd({
 *   tenant: '72f988bf-86f1-41af-91ab-2d7cd011db47',
 *   clientId: '6e74172b-be56-4843-9ff4-e66a39bb12e3',
 * }))
 * // Multi-tenant: createValidator(azureAd({ tenant: 'organizations', clientId, allowedTenants: [tidA, tidB] }))
 * ```
 */
export function azureAd(options: AzureAdOptions): ValidatorOptions {
  if (typeof options !== 'object' || options === null) fail('azureAd options must be an object')
  for (const name of Object.keys(options)) {
    if (AZURE_OPTION_NAMES.has(name) || VALIDATOR_OPTION_NAMES.has(name)) continue
    // Entra's own words first: clientID, tenantId and kin are azureAd() options mistyped.
    const hint =
      closestOptionName(name, AZURE_OPTION_NAMES) ?? closestOptionName(name, VALIDATOR_OPTION_NAMES)
    fail(`unknown option "${name}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`)
  }
  const {
    tenant,
    clientId: _clientId,
    audience: _audience,
    appIdUri: _appIdUri,
    allowedTenants,
    tokenVersions,
    cloud: _cloud,
    instance: _instance,
    jwksUri,
    requirePermissions,
    realm,
    authorizationUri,
    describeRejection: userDescribe,
    validateClaims: userValidate,
    ...rest
  } = options
  if (typeof tenant !== 'string' || tenant === '') fail('"tenant" option is required')
  const multiTenant = MULTI_TENANT.has(tenant.toLowerCase())
  if (!multiTenant && !isGuid(tenant) && !DOMAIN.test(tenant)) {
    fail(
      '"tenant" option must be a tenant id (GUID), a verified domain, "organizations" or "common"',
    )
  }
  if (multiTenant && allowedTenants === undefined) {
    fail(
      '"allowedTenants" option is required with a multi-tenant "tenant": list the tenant ids to accept, or "*" to accept every tenant',
    )
  }
  if (!multiTenant && allowedTenants !== undefined) {
    fail(
      '"allowedTenants" option applies only to a multi-tenant "tenant" ("organizations" or "common")',
    )
  }
  if (
    allowedTenants !== undefined &&
    allowedTenants !== '*' &&
    (!Array.isArray(allowedTenants) || allowedTenants.length === 0 || !allowedTenants.every(isGuid))
  ) {
    fail('"allowedTenants" option must be "*" or a non-empty array of tenant ids (GUIDs)')
  }
  const tenantAllowList =
    allowedTenants === undefined || allowedTenants === '*'
      ? undefined
      : new Set(allowedTenants.map((id) => id.toLowerCase()))
  const audiences = resolveAudiences(options)
  const { instance, v1Issuer } = resolveInstance(options)
  const versions = resolveVersions(tokenVersions)
  if (jwksUri !== undefined && rest.keys !== undefined) {
    fail('"jwksUri" and "keys" options are exclusive: give one key source')
  }
  const keysUrl = jwksUri ?? `${instance}/${encodeURIComponent(tenant)}/discovery/v2.0/keys`
  const fixedTenant = isGuid(tenant) ? tenant.toLowerCase() : undefined
  const resolveDomain =
    multiTenant || fixedTenant !== undefined
      ? undefined
      : createTenantResolver(
          checkKeyUrl(
            'instance',
            `${instance}/${encodeURIComponent(tenant)}/v2.0/.well-known/openid-configuration`,
          ),
          rest.timeoutDuration ?? 5_000,
          rest.maxResponseSize ?? 524_288,
          rest.fetch,
          // A failed lookup is tried again after as long as one may take (timeoutDuration).
          rest.timeoutDuration ?? 5_000,
        )

  const v1IssuerOf = (tid: string) => `${v1Issuer}/${tid}/`
  const v2IssuerOf = (tid: string) => `${instance}/${tid}/v2.0`

  /** The version an issuer has for the token's own tenant, or undefined when it fits neither. */
  function versionOf(iss: string, claims: TokenClaims): AzureTokenVersion | undefined {
    const tid = claims.tid
    if (!isGuid(tid)) return undefined
    if (iss === v2IssuerOf(tid)) return '2.0'
    if (iss === v1IssuerOf(tid)) return '1.0'
    return undefined
  }

  function issuerFits(
    iss: string,
    claims: TokenClaims,
    expectedTenant: string | undefined,
  ): boolean {
    const version = versionOf(iss, claims)
    if (version === undefined || !versions.has(version)) return false
    if (claims.ver !== undefined && claims.ver !== version) return false
    return expectedTenant === undefined || (claims.tid as string).toLowerCase() === expectedTenant
  }

  // Synchronous once the domain's tenant id is known: the lookup is made once, by warmUp()
  // (prefetch) or by the first token, and every later token is checked without waiting.
  function issuer(iss: string, claims: TokenClaims): boolean | Promise<boolean> {
    if (resolveDomain === undefined) return issuerFits(iss, claims, fixedTenant)
    const tid = resolveDomain.resolved()
    if (tid !== undefined) return issuerFits(iss, claims, tid)
    return resolveDomain.resolve().then((id) => issuerFits(iss, claims, id))
  }

  /** The tenant and version an issuer of this cloud names, from `iss` alone. */
  function tenantOfIssuer(iss: string): { tid: string; version: AzureTokenVersion } | undefined {
    for (const [prefix, suffix, version] of [
      [`${instance}/`, '/v2.0', '2.0'],
      [`${v1Issuer}/`, '/', '1.0'],
    ] as const) {
      if (!iss.startsWith(prefix) || !iss.endsWith(suffix)) continue
      const tid = iss.slice(prefix.length, iss.length - suffix.length)
      if (isGuid(tid) && versions.has(version)) return { tid: tid.toLowerCase(), version }
    }
    return undefined
  }

  // Which issuers are this profile's, from iss alone: for createMultiIssuerValidator, which
  // picks a configuration before any claim check. The claim checks above still decide.
  const STAND_IN_TENANT = '00000000-0000-0000-0000-000000000000'
  const exampleTenant = multiTenant
    ? tenantAllowList === undefined
      ? STAND_IN_TENANT
      : [...tenantAllowList][0]
    : fixedTenant
  const issuersOf = (tid: string) =>
    [...versions].map((version) => (version === '2.0' ? v2IssuerOf(tid) : v1IssuerOf(tid)))
  withIssuerOwnership(issuer, {
    matches(iss) {
      const found = tenantOfIssuer(iss)
      if (found === undefined) return false
      // Multi-tenant: the tenants allowed, every one without a list.
      if (multiTenant) return tenantAllowList === undefined || tenantAllowList.has(found.tid)
      const tid = resolveDomain === undefined ? fixedTenant : resolveDomain.resolved()
      return tid === undefined ? undefined : found.tid === tid
    },
    ...(resolveDomain === undefined
      ? {}
      : { prepare: () => resolveDomain.resolve().then(() => undefined) }),
    examples: exampleTenant === undefined ? [] : issuersOf(exampleTenant),
    // A domain tenant's issuers are known once its id is: a profile owning any tenant shadows it.
    ...(resolveDomain === undefined ? {} : { possible: issuersOf(STAND_IN_TENANT) }),
  })

  function validateClaims(claims: TokenClaims, header: TokenHeader): ClaimsProblem | undefined {
    if (
      tenantAllowList !== undefined &&
      !tenantAllowList.has((claims.tid as string).toLowerCase())
    ) {
      return {
        reason: 'wrong_tenant',
        description: 'the token comes from a tenant that is not allowed to call this API',
      }
    }
    return userValidate?.(claims, header)
  }

  function describeRejection(reason: RejectionReason, claims: TokenClaims): string | undefined {
    const own = describeEntraRejection(reason, claims)
    return own ?? userDescribe?.(reason, claims)
  }

  function describeEntraRejection(reason: string, claims: TokenClaims): string | undefined {
    const { aud, iss, tid } = claims
    const audList = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
    if (reason === 'wrong_audience') {
      if (audList.some((value) => GRAPH_AUDIENCES.has(value))) {
        return `the token is for Microsoft Graph, not this API: request a token for ${audiences[0]}/.default or a scope of this API`
      }
      if (
        claims.nonce !== undefined ||
        claims.at_hash !== undefined ||
        claims.c_hash !== undefined
      ) {
        return 'the token looks like an ID token: send an access token issued for this API'
      }
      const appIdUri = audList.some((value) => value.startsWith('api://'))
      if (appIdUri && audiences.every((value) => !value.startsWith('api://'))) {
        return 'the token audience is an App ID URI (usual in v1 tokens), but this API accepts only its client id'
      }
      if (audList.some(isGuid) && audiences.every((value) => !isGuid(value))) {
        return 'the token audience is a client id (usual in v2 tokens), but this API accepts only its App ID URI'
      }
      if (audList.some((value) => value.startsWith('api://'))) {
        return 'the token audience is an App ID URI this API does not know: if it is this API, name it in the appIdUri option of azureAd()'
      }
      return `the token audience (aud) is not this API: request a token for ${audiences[0]}`
    }
    if (reason === 'wrong_issuer' && typeof iss === 'string') {
      // Another authority altogether: say so, before any tenant comparison.
      if (!iss.startsWith(`${instance}/`) && !iss.startsWith(`${v1Issuer}/`)) {
        return 'the token issuer (iss) is not an Entra ID issuer of this cloud'
      }
      if (!isGuid(tid)) return 'the token has no valid tenant id (tid)'
      if (!iss.includes(tid)) return 'the token issuer (iss) names a different tenant than its tid'
      const version = versionOf(iss, claims)
      if (version === undefined)
        return 'the token issuer (iss) is not an Entra ID issuer of this cloud'
      if (!versions.has(version) || (claims.ver !== undefined && claims.ver !== version)) {
        return `the token is a v${version} token, and this API accepts v${[...versions].join(' and v')} tokens only (see accessTokenAcceptedVersion in the app manifest)`
      }
      return 'the token comes from another tenant than this API accepts'
    }
    if (reason === 'no_permissions') {
      return 'the token carries neither scp nor roles: grant the caller a delegated scope or an application permission of this API'
    }
    return undefined
  }

  return {
    ...rest,
    // RFC 9728: the authorization server of a single-tenant API is its tenant's issuer.
    ...(rest.resourceMetadata === undefined
      ? {}
      : {
          resourceMetadata: withAuthorizationServer(
            rest.resourceMetadata,
            fixedTenant === undefined
              ? undefined
              : versions.has('2.0')
                ? v2IssuerOf(fixedTenant)
                : v1IssuerOf(fixedTenant),
          ),
        }),
    ...(realm === undefined ? {} : { realm }),
    // Where a client answers a claims challenge (Microsoft's claims challenge format).
    authorizationUri:
      authorizationUri ?? `${instance}/${encodeURIComponent(tenant)}/oauth2/v2.0/authorize`,
    issuer,
    audience: audiences,
    // Static keys (tests, air-gapped setups) instead of the tenant's JWKS.
    ...(rest.keys === undefined ? { jwksUri: keysUrl } : {}),
    requirePermissions: requirePermissions ?? true,
    signingKeyIssuer: (keyIssuer, claims) => {
      const tid = claims.tid
      if (!isGuid(tid)) return false
      const effective = keyIssuer.split(TENANT_TEMPLATE).join(tid)
      return effective === claims.iss || effective === v2IssuerOf(tid)
    },
    validateClaims,
    describeRejection,
    ...(resolveDomain === undefined
      ? {}
      : {
          prefetch: async () => {
            await Promise.all([resolveDomain.resolve(), rest.prefetch?.()])
          },
        }),
  }
}
