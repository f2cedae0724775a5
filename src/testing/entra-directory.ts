/**
 * The emulator's directory: tenants, app registrations (with their credentials, exposed scopes,
 * app roles and granted permissions), users and delegated consents. It grows only when test
 * code registers something, never because of a request.
 */
import {
  createHash,
  createHmac,
  randomBytes,
  randomUUID,
  timingSafeEqual,
  X509Certificate,
} from 'node:crypto'
import { isGuid } from '../azure.js'
import type { Certificate } from './certificate.js'

/** A tenant the emulator hosts. */
export interface EmulatedTenant {
  /** The tenant id, a GUID (`tid`). */
  readonly id: string
  /** Its initial domain, such as `contoso.onmicrosoft.com`; accepted in URL paths for the id. */
  readonly domain: string
}

/** A tenant to host: its id and domain, both generated when absent. */
export interface TenantOptions {
  id?: string
  domain?: string
}

/** Who may use an app: its home tenant only, or any tenant the emulator hosts. */
export type SignInAudience = 'AzureADMyOrg' | 'AzureADMultipleOrgs'

/** An app (the resource) named by its registration, client id or App ID URI. */
export type AppReference = AppRegistration | string

/** Application permissions (app roles of `resource`) granted to an app, with admin consent. */
export interface ApplicationPermissionGrant {
  resource: AppReference
  roles: readonly string[]
}

/** Delegated permissions (scopes of `resource`) an app may use. */
export interface DelegatedPermissionGrant {
  resource: AppReference
  scopes: readonly string[]
}

/** Options of `registerApp`: an Entra ID app registration declared in code. */
export interface AppRegistrationOptions {
  /** The display name. */
  name: string
  /** The application (client) id, a GUID. Default a new one. */
  clientId?: string
  /** The home tenant's id or domain. Default the emulator's first tenant. */
  tenant?: string
  /** `AzureADMultipleOrgs` lets the app call and be called in every hosted tenant. Default `AzureADMyOrg`. */
  signInAudience?: SignInAudience
  /** A client secret, or `true` for a generated one (then read it from `registration.secret`). */
  secret?: string | true
  /** Certificate credentials: PEM certificates, or certificates made by `createCertificate`. */
  certificates?: readonly (string | Pick<Certificate, 'certificate'>)[]
  /** The App ID URI (`identifierUris[0]`), such as `api://orders`. Default none. */
  appIdUri?: string
  /** Delegated permissions the app exposes as an API (`oauth2PermissionScopes` values). */
  scopes?: readonly string[]
  /** App roles the app defines for applications (`appRoles` values), its application permissions. */
  appRoles?: readonly string[]
  /**
   * When true, a client-credentials token for this API needs at least one granted app role
   * (AADSTS501051 otherwise), as "Assignment required" on the service principal. Default false:
   * as in Entra ID, an app without roles gets a token with no `roles` claim.
   */
  appRoleAssignmentRequired?: boolean
  /** The version of access tokens issued for this API (`api.requestedAccessTokenVersion`). Default 2. */
  accessTokenAcceptedVersion?: 1 | 2
  /** Application permissions granted to this app (admin consent given). */
  applicationPermissions?: readonly ApplicationPermissionGrant[]
  /** Delegated permissions consented for this app for every user (admin consent). */
  delegatedPermissions?: readonly DelegatedPermissionGrant[]
  /**
   * Redirect URIs of a web app that signs users in (authorization code flow): https, or http on
   * a loopback host. Default none.
   */
  redirectUris?: readonly string[]
}

/** An app registration, as `registerApp` returns it. */
export interface AppRegistration {
  readonly name: string
  readonly clientId: string
  /** The home tenant id. */
  readonly tenantId: string
  readonly signInAudience: SignInAudience
  /** The App ID URI, when one was set. */
  readonly appIdUri: string | undefined
  readonly scopes: readonly string[]
  readonly appRoles: readonly string[]
  readonly accessTokenAcceptedVersion: 1 | 2
  readonly appRoleAssignmentRequired: boolean
  /** The client secret, when one was set or generated. */
  readonly secret: string | undefined
  /** SHA-256 thumbprints (upper-case hex) of the registered certificates. */
  readonly certificateThumbprints: readonly string[]
  /** The object id of the app's service principal in its home tenant (`oid` = `sub` of its app-only tokens). */
  readonly servicePrincipalId: string
}

/** Options of `addUser`. */
export interface UserOptions {
  /** The display name (`name`). */
  name: string
  /** The sign-in name (`preferred_username`, `upn`). Default from the name and the tenant domain. */
  username?: string
  /** The user's tenant id or domain. Default the emulator's first tenant. */
  tenant?: string
  /** The user's object id (`oid`), a GUID. Default a new one. */
  oid?: string
  /** `given_name` (v1 tokens). Default the first word of the name. */
  givenName?: string
  /** `family_name` (v1 tokens). Default the last word of the name. */
  familyName?: string
}

/** A user of a hosted tenant. */
export interface EmulatedUser {
  readonly oid: string
  readonly tenantId: string
  readonly name: string
  readonly username: string
  readonly givenName: string
  readonly familyName: string
}

/** Options of `grantConsent`. */
export interface ConsentOptions {
  /** The app that receives the consent (the caller, such as a first-tier web API). */
  client: AppReference
  /** The API whose scopes are consented. */
  resource: AppReference
  scopes: readonly string[]
  /** The user who consented; absent means admin consent for every user. */
  user?: EmulatedUser
}

/** A certificate credential of an app. */
export interface CertificateCredential {
  readonly sha1: Buffer
  readonly sha256: Buffer
  readonly x509: X509Certificate
  readonly notBefore: number
  readonly notAfter: number
}

interface ConsentRecord {
  readonly resource: string
  readonly scopes: ReadonlySet<string>
  /** The user's oid, or undefined for admin consent. */
  readonly user: string | undefined
}

/** An app as the directory keeps it. */
export interface AppRecord {
  readonly registration: AppRegistration
  readonly secretDigest: Buffer | undefined
  readonly certificates: readonly CertificateCredential[]
  readonly applicationPermissions: readonly { resource: string; roles: readonly string[] }[]
  readonly consents: ConsentRecord[]
  /** Where the authorize endpoint may send a code for this app. */
  readonly redirectUris: readonly string[]
}

const DEFAULT_DOMAINS = ['contoso', 'fabrikam', 'northwind', 'woodgrove', 'tailspin']
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/
const APP_OPTION_NAMES = new Set([
  'name',
  'clientId',
  'tenant',
  'signInAudience',
  'secret',
  'certificates',
  'appIdUri',
  'scopes',
  'appRoles',
  'appRoleAssignmentRequired',
  'accessTokenAcceptedVersion',
  'applicationPermissions',
  'delegatedPermissions',
  'redirectUris',
])

function fail(message: string): never {
  throw new TypeError(message)
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

function nameList(option: string, value: unknown): string[] {
  if (value === undefined) return []
  if (
    !Array.isArray(value) ||
    !value.every((name) => typeof name === 'string' && SCOPE_TOKEN.test(name))
  ) {
    fail(`"${option}" option must be an array of names without spaces, quotes or backslashes`)
  }
  return [...new Set(value as string[])]
}

/** The identifier of an app reference: a registration's client id, or the string given. */
export function referenceOf(reference: AppReference, option: string): string {
  if (typeof reference === 'string' && reference !== '') return reference
  if (typeof reference === 'object' && reference !== null && isGuid(reference.clientId)) {
    return reference.clientId
  }
  fail(`"${option}" must be an app registration, a client id or an App ID URI`)
}

/** A GUID made from a hash, with the version 4 and variant bits set so it looks like any other. */
function guidFrom(bytes: Buffer): string {
  const b = Buffer.from(bytes.subarray(0, 16))
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80
  const hex = b.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Entra ID's client secrets look like `Abc8Q~` followed by 34 characters. */
function generateSecret(): string {
  const text = randomBytes(30).toString('base64url').replace(/[-_]/g, 'x')
  return `${text.slice(0, 3)}8Q~${text.slice(3, 37)}`
}

function parseCertificate(value: unknown): CertificateCredential {
  const pem =
    typeof value === 'string'
      ? value
      : typeof value === 'object' && value !== null
        ? (value as { certificate?: unknown }).certificate
        : undefined
  if (typeof pem !== 'string') fail('"certificates" option must hold PEM certificates')
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(pem)
  } catch {
    fail('"certificates" option must hold PEM certificates')
  }
  return {
    sha1: createHash('sha1').update(x509.raw).digest(),
    sha256: createHash('sha256').update(x509.raw).digest(),
    x509,
    notBefore: Date.parse(x509.validFrom),
    notAfter: Date.parse(x509.validTo),
  }
}

/** The emulator's directory. */
export interface Directory {
  readonly tenants: readonly EmulatedTenant[]
  /** The hosted tenant a path segment or option names (id or domain, case-insensitive). */
  findTenant(idOrDomain: string): EmulatedTenant | undefined
  registerApp(options: AppRegistrationOptions): AppRegistration
  addUser(options: UserOptions): EmulatedUser
  grantConsent(options: ConsentOptions): void
  /** A registered app, by client id. */
  app(clientId: string): AppRecord | undefined
  /** The app an identifier (client id or App ID URI) names, in any tenant. */
  resource(identifier: string): AppRecord | undefined
  /** A registered app present in the tenant (its home, or any tenant when multi-tenant). */
  appIn(clientId: string, tenantId: string): AppRecord | undefined
  /** The API that an identifier (client id or App ID URI) names in a tenant. */
  resourceIn(identifier: string, tenantId: string): AppRecord | undefined
  user(oid: string): EmulatedUser | undefined
  /** A user by sign-in name (case-insensitive). */
  userNamed(username: string): EmulatedUser | undefined
  /** Whether `secret` is the app's client secret (constant time). */
  checkSecret(app: AppRecord, secret: string): boolean
  /** The app roles of `resource` granted to `client`. */
  grantedRoles(client: AppRecord, resource: AppRecord): string[]
  /** The scopes of `resource` consented for `client`, for every user or for this one. */
  consentedScopes(client: AppRecord, resource: AppRecord, userOid: string): Set<string>
  /** The object id of an app's service principal in a tenant (stable per emulator). */
  servicePrincipalId(clientId: string, tenantId: string): string
  /** The pairwise `sub` of a user for an app (stable per emulator). */
  pairwiseSubject(userOid: string, clientId: string): string
}

/** Makes a directory hosting the given tenants (one generated tenant when none are given). */
export function createDirectory(tenantOptions: readonly TenantOptions[] | undefined): Directory {
  const salt = randomBytes(32)
  const tenants: EmulatedTenant[] = []
  const list = tenantOptions ?? [{}]
  if (!Array.isArray(list) || list.length === 0) fail('"tenants" option must be a non-empty array')
  for (const [index, option] of list.entries()) {
    const id = (option?.id ?? randomUUID()).toLowerCase()
    if (!isGuid(id)) fail('"tenants" option: each tenant id must be a GUID')
    const domain = (
      option?.domain ?? `${DEFAULT_DOMAINS[index] ?? `tenant${index + 1}`}.onmicrosoft.com`
    ).toLowerCase()
    if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain)) fail('"tenants" option: bad domain')
    if (tenants.some((tenant) => tenant.id === id || tenant.domain === domain)) {
      fail('"tenants" option: tenant ids and domains must be unique')
    }
    tenants.push(Object.freeze({ id, domain }))
  }

  const apps = new Map<string, AppRecord>()
  const identifiers = new Map<string, string>()
  const users = new Map<string, EmulatedUser>()

  function findTenant(idOrDomain: string): EmulatedTenant | undefined {
    const key = idOrDomain.toLowerCase()
    return tenants.find((tenant) => tenant.id === key || tenant.domain === key)
  }

  function tenantOption(value: unknown): EmulatedTenant {
    if (value === undefined) return tenants[0] as EmulatedTenant
    const tenant = typeof value === 'string' ? findTenant(value) : undefined
    if (tenant === undefined) fail('"tenant" option must name a tenant the emulator hosts')
    return tenant
  }

  function servicePrincipalId(clientId: string, tenantId: string): string {
    return guidFrom(
      createHmac('sha256', salt).update(`sp:${clientId.toLowerCase()}:${tenantId}`).digest(),
    )
  }

  function registerApp(options: AppRegistrationOptions): AppRegistration {
    if (typeof options !== 'object' || options === null)
      fail('registerApp options must be an object')
    for (const key of Object.keys(options)) {
      if (!APP_OPTION_NAMES.has(key)) fail(`unknown registerApp option "${key}"`)
    }
    const { name } = options
    if (typeof name !== 'string' || name === '') fail('"name" option must be a non-empty string')
    const clientId = (options.clientId ?? randomUUID()).toLowerCase()
    if (!isGuid(clientId)) fail('"clientId" option must be a GUID')
    if (apps.has(clientId)) fail(`"clientId" option: ${clientId} is already registered`)
    const tenant = tenantOption(options.tenant)
    const signInAudience = options.signInAudience ?? 'AzureADMyOrg'
    if (signInAudience !== 'AzureADMyOrg' && signInAudience !== 'AzureADMultipleOrgs') {
      fail('"signInAudience" option must be "AzureADMyOrg" or "AzureADMultipleOrgs"')
    }
    const secret = options.secret === true ? generateSecret() : options.secret
    if (secret !== undefined && (typeof secret !== 'string' || secret === '')) {
      fail('"secret" option must be a non-empty string or true')
    }
    if (options.certificates !== undefined && !Array.isArray(options.certificates)) {
      fail('"certificates" option must be an array')
    }
    const certificates = (options.certificates ?? []).map(parseCertificate)
    const { appIdUri } = options
    if (appIdUri !== undefined) {
      let url: URL | undefined
      try {
        url = new URL(appIdUri)
      } catch {}
      if (url === undefined || appIdUri.endsWith('/') || /\s/.test(appIdUri)) {
        fail(
          '"appIdUri" option must be an absolute URI without a trailing slash, such as api://orders',
        )
      }
      if (identifiers.has(appIdUri.toLowerCase())) {
        fail(`"appIdUri" option: ${appIdUri} is already registered`)
      }
    }
    const version = options.accessTokenAcceptedVersion ?? 2
    if (version !== 1 && version !== 2) fail('"accessTokenAcceptedVersion" option must be 1 or 2')
    const assignmentRequired = options.appRoleAssignmentRequired ?? false
    if (typeof assignmentRequired !== 'boolean') {
      fail('"appRoleAssignmentRequired" option must be a boolean')
    }
    const grants = (option: string, value: unknown, member: 'roles' | 'scopes') => {
      if (value === undefined) return []
      if (!Array.isArray(value)) fail(`"${option}" option must be an array`)
      return value.map((grant: unknown) => {
        const { resource, [member]: names } = (grant ?? {}) as Record<string, unknown>
        return {
          resource: referenceOf(resource as AppReference, `${option}[].resource`),
          names: nameList(`${option}[].${member}`, names),
        }
      })
    }
    const redirectUris = options.redirectUris ?? []
    if (
      !Array.isArray(redirectUris) ||
      !redirectUris.every(
        (uri) =>
          typeof uri === 'string' &&
          (/^https:\/\/[^\s]+$/.test(uri) ||
            /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/[^\s]*$/.test(uri)),
      )
    ) {
      fail('"redirectUris" option must be an array of https URLs (or http on a loopback host)')
    }
    const registration: AppRegistration = Object.freeze({
      name,
      clientId,
      tenantId: tenant.id,
      signInAudience,
      appIdUri,
      scopes: Object.freeze(nameList('scopes', options.scopes)),
      appRoles: Object.freeze(nameList('appRoles', options.appRoles)),
      accessTokenAcceptedVersion: version,
      appRoleAssignmentRequired: assignmentRequired,
      secret,
      certificateThumbprints: Object.freeze(
        certificates.map((certificate) => certificate.sha256.toString('hex').toUpperCase()),
      ),
      servicePrincipalId: servicePrincipalId(clientId, tenant.id),
    })
    const record: AppRecord = {
      registration,
      secretDigest: secret === undefined ? undefined : digest(secret),
      certificates,
      applicationPermissions: grants(
        'applicationPermissions',
        options.applicationPermissions,
        'roles',
      ).map(({ resource, names }) => ({ resource, roles: names })),
      consents: grants('delegatedPermissions', options.delegatedPermissions, 'scopes').map(
        ({ resource, names }) => ({ resource, scopes: new Set(names), user: undefined }),
      ),
      redirectUris: Object.freeze([...redirectUris]),
    }
    apps.set(clientId, record)
    if (appIdUri !== undefined) identifiers.set(appIdUri.toLowerCase(), clientId)
    return registration
  }

  function addUser(options: UserOptions): EmulatedUser {
    if (typeof options !== 'object' || options === null) fail('addUser options must be an object')
    const { name } = options
    if (typeof name !== 'string' || name.trim() === '')
      fail('"name" option must be a non-empty string')
    const tenant = tenantOption(options.tenant)
    const oid = (options.oid ?? randomUUID()).toLowerCase()
    if (!isGuid(oid)) fail('"oid" option must be a GUID')
    if (users.has(oid)) fail(`"oid" option: ${oid} is already a user`)
    const words = name.trim().split(/\s+/)
    const local =
      words
        .join('.')
        .toLowerCase()
        .replace(/[^a-z0-9.-]/g, '') || 'user'
    const username = options.username ?? `${local}@${tenant.domain}`
    if (typeof username !== 'string' || username === '')
      fail('"username" option must be a non-empty string')
    const user: EmulatedUser = Object.freeze({
      oid,
      tenantId: tenant.id,
      name,
      username,
      givenName: options.givenName ?? words[0] ?? name,
      familyName: options.familyName ?? words[words.length - 1] ?? name,
    })
    users.set(oid, user)
    return user
  }

  function grantConsent(options: ConsentOptions): void {
    if (typeof options !== 'object' || options === null)
      fail('grantConsent options must be an object')
    const client = apps.get(referenceOf(options.client, 'client').toLowerCase())
    if (client === undefined) fail('"client" option must name a registered app by its client id')
    if (options.user !== undefined && !users.has(options.user?.oid)) {
      fail('"user" option must be a user made by addUser')
    }
    client.consents.push({
      resource: referenceOf(options.resource, 'resource'),
      scopes: new Set(nameList('scopes', options.scopes)),
      user: options.user?.oid,
    })
  }

  function available(record: AppRecord, tenantId: string): boolean {
    const { registration } = record
    return (
      registration.tenantId === tenantId || registration.signInAudience === 'AzureADMultipleOrgs'
    )
  }

  function resolve(identifier: string): AppRecord | undefined {
    const lower: string = identifier.toLowerCase()
    const byUri = !isGuid(identifier)
    const clientId = byUri ? identifiers.get(lower.replace(/\/+$/, '')) : lower
    return clientId === undefined ? undefined : apps.get(clientId)
  }

  return {
    tenants: Object.freeze(tenants),
    findTenant,
    registerApp,
    addUser,
    grantConsent,
    app: (clientId) => apps.get(clientId.toLowerCase()),
    resource: resolve,
    appIn(clientId, tenantId) {
      const record = apps.get(clientId.toLowerCase())
      return record !== undefined && available(record, tenantId) ? record : undefined
    },
    resourceIn(identifier, tenantId) {
      const record = resolve(identifier)
      return record !== undefined && available(record, tenantId) ? record : undefined
    },
    user: (oid) => users.get(oid.toLowerCase()),
    userNamed(username) {
      const wanted = username.toLowerCase()
      for (const user of users.values()) if (user.username.toLowerCase() === wanted) return user
      return undefined
    },
    checkSecret(app, secret) {
      return app.secretDigest !== undefined && timingSafeEqual(app.secretDigest, digest(secret))
    },
    grantedRoles(client, resource) {
      const roles = new Set<string>()
      for (const grant of client.applicationPermissions) {
        if (resolve(grant.resource) !== resource) continue
        for (const role of grant.roles)
          if (resource.registration.appRoles.includes(role)) roles.add(role)
      }
      return [...roles]
    },
    consentedScopes(client, resource, userOid) {
      const scopes = new Set<string>()
      for (const consent of client.consents) {
        if (consent.user !== undefined && consent.user !== userOid.toLowerCase()) continue
        if (resolve(consent.resource) !== resource) continue
        for (const scope of consent.scopes) {
          if (resource.registration.scopes.includes(scope)) scopes.add(scope)
        }
      }
      return scopes
    },
    servicePrincipalId,
    pairwiseSubject(userOid, clientId) {
      return createHmac('sha256', salt)
        .update(`sub:${userOid.toLowerCase()}:${clientId.toLowerCase()}`)
        .digest('base64url')
        .slice(0, 43)
    },
  }
}
