/**
 * An in-process Entra ID (Azure AD) emulator for tests and demos: HTTPS on 127.0.0.1 with a
 * certificate made at start (and plain HTTP on request), Entra ID's per-tenant paths (v1 and v2
 * OpenID discovery, keys, token endpoints), app registrations declared in code, the client
 * credentials and On-Behalf-Of grants, AADSTS errors, `mint()` for unit tests, key rotation and
 * fault switches. Microsoft's clients (MSAL for Node, `@azure/identity`, MSAL for Python) work
 * against it unchanged but for the authority, instance discovery and trusting the emulator's CA,
 * which `msalAuthority()`, `azureIdentityOptions()`, `msalPythonOptions()` and
 * `caCertificatePath` hand out.
 *
 * Bounded: the directory grows only through the test's own calls; each request is limited in
 * size and time; connections are capped; `close()` ends every socket and timer.
 */
import { createHash, type KeyObject } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AZURE_CLOUDS, type AzureAdOptions } from '../azure.js'
import { type Certificate, createCertificate } from './certificate.js'
import { dpopThumbprint } from './dpop-proof.js'
import { createEmulatorFetch } from './emulator-fetch.js'
import {
  type AppReference,
  type AppRegistration,
  type AppRegistrationOptions,
  type ConsentOptions,
  createDirectory,
  type EmulatedTenant,
  type EmulatedUser,
  referenceOf,
  type TenantOptions,
  type UserOptions,
} from './entra-directory.js'
import { EntraError, entraErrors, formatEntraError } from './entra-errors.js'
import {
  type ApiPolicy,
  type GrantContext,
  handleAuthorizeRequest,
  handleTokenRequest,
  parseClaimsRequest,
} from './entra-grants.js'
import { buildAccessTokenClaims, type ClientAuthMethod, type TokenIssuers } from './entra-tokens.js'
import { createEmulatorNetworkClient, type EmulatorNetworkClient } from './network-client.js'
import {
  createSigningKey,
  MAX_PUBLISHED_KEYS,
  type SigningKey,
  signToken,
  toPublishedJwk,
} from './signing-keys.js'

/**
 * How the JWKS endpoints answer: `ok`, `down` (500), `slow` (answers after a delay) or
 * `garbage` (200 with a body that is not JSON).
 */
export type JwksMode = 'ok' | 'down' | 'slow' | 'garbage'

/**
 * How the token endpoints answer: `ok`, `down` (503 `temporarily_unavailable`) or `throttled`
 * (429 with `Retry-After`), as Entra ID answers when it fails or throttles a client.
 */
export type TokenMode = 'ok' | 'down' | 'throttled'

/** Options of {@link startEntraEmulator}. */
export interface EntraEmulatorOptions {
  /**
   * The tenants to host. Default one tenant with a new id and the domain
   * `contoso.onmicrosoft.com` (then `fabrikam`, `northwind`... for the next ones).
   */
  tenants?: readonly TenantOptions[]
  /**
   * Also listen over plain HTTP (`httpOrigin`), for clients that cannot be told to trust the
   * emulator's CA, such as a validator's JWKS fetch (global `fetch`). Default false.
   */
  http?: boolean
  /** Lifetime of issued tokens, in seconds. Default 3,600. */
  tokenLifetime?: number
  /** Largest token request body read, in bytes. Default 65,536. */
  maxRequestSize?: number
  /** Time limit of one request and of an idle connection, in ms. Default 30,000. */
  timeoutDuration?: number
}

/** Options of {@link EntraEmulator.mint}. */
export interface MintOptions {
  /**
   * The API the token is for: a registration, its client id or App ID URI, or any other string
   * to use as `aud` as it is (a wrong-audience test).
   */
  resource: AppReference
  /** The calling app (`azp` / `appid`). Default the emulator's `defaultClient`. */
  client?: AppReference
  /** The signed-in user; makes a delegated token. Default `defaultUser` when `scopes` is given. */
  user?: EmulatedUser
  /** Delegated scopes (`scp`); makes a delegated token. */
  scopes?: readonly string[]
  /** `roles`: application permissions of an app-only token, or a user's app roles. */
  roles?: readonly string[]
  /** The issuing tenant's id or domain. Default the user's tenant, else the resource's home tenant. */
  tenant?: string
  /** Token version. Default the resource's `accessTokenAcceptedVersion`, else 2. */
  version?: 1 | 2
  /** `iat` and `nbf`, in epoch seconds. Default now. */
  issuedAt?: number
  /** Seconds from `iat` to `exp`. Default the emulator's `tokenLifetime`. */
  lifetime?: number
  /** Claims to set over the generated ones; a claim set to `undefined` is removed. */
  claims?: Record<string, unknown>
  /** Protected header members to set over `typ`, `alg`, `kid`, `x5t`; `undefined` removes. */
  header?: Record<string, unknown>
  /** Client capabilities the client declared, minted as `xms_cc` (`['cp1']`: it handles claims challenges). */
  clientCapabilities?: readonly string[]
  /**
   * A claims request the client came back with (JSON text, as a claims challenge decodes to):
   * the authentication contexts it asks for are minted in `acrs` and its `xms_cc` values in
   * `xms_cc`, as Entra ID issues the token once the user has satisfied them.
   */
  claimsRequest?: string
  /** `acr` of a delegated v2 token. Default none (v1 tokens always carry `1`). */
  acr?: string
  /** `auth_time`, in epoch seconds. Default none. */
  authTime?: number
  /**
   * Binds the token to a DPoP key (RFC 9449 §6): `cnf.jkt`, the thumbprint of this key (private
   * or public). Build the proofs with `createDpopProof` and the private key.
   */
  dpopKey?: KeyObject
  /**
   * Binds the token to a client certificate (RFC 8705 §3): `cnf["x5t#S256"]`, the SHA-256 of its
   * DER, as Entra ID does for mTLS PoP tokens.
   */
  certificate?: Certificate | Uint8Array
}

/**
 * What `@azure/identity`'s credentials (`ClientSecretCredential`, `ClientCertificateCredential`,
 * `OnBehalfOfCredential`...) need in their options to reach the emulator.
 */
export interface AzureIdentityOptions {
  /** The emulator's `instance` (`@azure/identity` takes HTTPS only). */
  authorityHost: string
  /** Without it, the credential asks the public cloud's instance discovery endpoint first. */
  disableInstanceDiscovery: true
  /** The emulator's CA, trusted by this credential's HTTP client only. */
  tlsOptions: { ca: string }
}

/** Keyword arguments of MSAL for Python's `ConfidentialClientApplication`, as JSON. */
export interface MsalPythonOptions {
  /** `{instance}/{tenant}`. */
  authority: string
  /** MSAL for Python would otherwise ask the public cloud's instance discovery endpoint. */
  instance_discovery: false
}

/** Requests the emulator has answered, by endpoint kind. */
export interface EmulatorRequestCounts {
  /** OpenID discovery documents, v1 and v2. */
  readonly discovery: number
  /** JWKS requests, in every mode. */
  readonly jwks: number
  /** Token requests, successful or not. */
  readonly token: number
}

/** A running emulator, as {@link startEntraEmulator} returns it. */
export interface EntraEmulator {
  /** The login instance, `https://127.0.0.1:PORT`: the `instance` of `azureAd()`, and of issuers. */
  readonly instance: string
  /** `http://127.0.0.1:PORT` when started with `http: true`: the same endpoints over plain HTTP. */
  readonly httpOrigin: string | undefined
  /** `127.0.0.1:PORT`, for MSAL's `knownAuthorities`. */
  readonly host: string
  /** The CA certificate (PEM) that issued the emulator's TLS certificate: trust this one. */
  readonly caCertificate: string
  /**
   * A file holding `caCertificate`, for clients that take a CA file: a `requests.Session`'s
   * `verify` for MSAL for Python, or `NODE_EXTRA_CA_CERTS` for a Node child process. `close()`
   * deletes it.
   */
  readonly caCertificatePath: string
  /** The hosted tenants. */
  readonly tenants: readonly EmulatedTenant[]
  /** The first tenant's id, the default everywhere a tenant is optional. */
  readonly tenantId: string
  /** An app registered at start (with a generated secret): `mint()`'s default client. */
  readonly defaultClient: AppRegistration
  /** A user added at start in the first tenant: `mint()`'s default user. */
  readonly defaultUser: EmulatedUser
  /** An MSAL `system.networkClient` that trusts the emulator's CA and reaches nothing else. */
  readonly networkClient: EmulatorNetworkClient
  /** Requests answered so far. */
  readonly requestCounts: EmulatorRequestCounts
  /** The `kid` of the key that signs tokens now. */
  readonly signingKeyId: string
  /** Registers an app (client, API or both); see {@link AppRegistrationOptions}. */
  registerApp(options: AppRegistrationOptions): AppRegistration
  /** Adds a user to a tenant. */
  addUser(options: UserOptions): EmulatedUser
  /** Consents delegated scopes of an API for a client app: for one user, or for all (admin). */
  grantConsent(options: ConsentOptions): void
  /** Signs an access token as the emulator would issue it, with any claim overridden. */
  mint(options: MintOptions): string
  /**
   * Makes a new signing key and signs with it from now on. The previous key stays published
   * unless `keepPrevious` is false (at most three keys are published). Resolves to the new `kid`.
   */
  rotateKeys(options?: { keepPrevious?: boolean }): Promise<string>
  /**
   * A Conditional Access policy on an API: On-Behalf-Of requests for it answer
   * `interaction_required` (AADSTS50076, suberror `basic_action`) with the claims request
   * `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}` until the user's incoming token
   * carries that authentication context in `acrs`; issued tokens then carry it too.
   * `undefined` removes the policy.
   */
  setConditionalAccess(resource: AppReference, authContext: string | undefined): void
  /** While on, every On-Behalf-Of request for the API answers consent_required (AADSTS65001). */
  setConsentRequired(resource: AppReference, required: boolean): void
  /** Switches how the token endpoints answer (every grant). */
  setTokenMode(mode: TokenMode): void
  /** Switches how the JWKS endpoints answer; `delay` (ms, default 10,000) applies to `slow`. */
  setJwksMode(mode: JwksMode, options?: { delay?: number }): void
  /** The v2 issuer of a tenant's tokens, `{instance}/{tid}/v2.0` (v1: `https://sts.windows.net/{tid}/`). */
  issuer(tenant?: string, version?: 1 | 2): string
  /** The MSAL authority of a tenant (id, domain, `organizations` or `common`): `{instance}/{tenant}`. */
  authority(tenant?: string): string
  /** `{ authority, knownAuthorities }` to spread into MSAL's `auth` configuration. */
  msalAuthority(tenant?: string): { authority: string; knownAuthorities: string[] }
  /**
   * `{ authorityHost, disableInstanceDiscovery: true, tlsOptions: { ca } }` to spread into an
   * `@azure/identity` credential's options; the tenant is the credential's own argument.
   */
  azureIdentityOptions(): AzureIdentityOptions
  /**
   * `{ authority, instance_discovery: false }`: MSAL for Python's `ConfidentialClientApplication`
   * keyword arguments, to pass as JSON. Its `http_client` must trust `caCertificatePath`.
   */
  msalPythonOptions(tenant?: string): MsalPythonOptions
  /** The token endpoint (v2 by default) of a tenant, over HTTPS. */
  tokenEndpoint(tenant?: string, version?: 1 | 2): string
  /** The JWKS URL of a tenant, over HTTP when `httpOrigin` exists (a validator can fetch it). */
  jwksUri(tenant?: string): string
  /**
   * A `fetch` that trusts the emulator's CA and reaches only the emulator: a validator's `fetch`
   * option, for its keys and a domain tenant's discovery over HTTPS.
   */
  readonly fetch: typeof fetch
  /**
   * `{ tenant, instance, jwksUri, fetch }` to spread into `azureAd()`'s options. `tenant` may be a
   * tenant id or one of the emulator's domains (resolved through the emulator's discovery).
   */
  azureAdOptions(tenant?: string): Pick<AzureAdOptions, 'tenant' | 'instance' | 'jwksUri' | 'fetch'>
  /** Stops listening, ends every connection and pending delay. */
  close(): Promise<void>
}

const OPTION_NAMES = new Set([
  'tenants',
  'http',
  'tokenLifetime',
  'maxRequestSize',
  'timeoutDuration',
])
const MINT_OPTION_NAMES = new Set([
  'resource',
  'client',
  'user',
  'scopes',
  'roles',
  'tenant',
  'version',
  'issuedAt',
  'lifetime',
  'claims',
  'header',
  'clientCapabilities',
  'claimsRequest',
  'acr',
  'authTime',
  'dpopKey',
  'certificate',
])
const MULTI_TENANT = new Set(['common', 'organizations'])
const CLOUD_INSTANCE_NAME = 'microsoftonline.com'
// Entra ID lets clients cache discovery documents and keys for a day; token answers never.
const CACHEABLE = { 'cache-control': 'max-age=86400, private' }
const V1_ISSUER_HOST = AZURE_CLOUDS.public.v1Issuer

function fail(message: string): never {
  throw new TypeError(message)
}

function number(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`"${name}" option must be a whole number from ${min} to ${max}`)
  }
  return value
}

function stringList(name: string, value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    fail(`"${name}" option must be an array of non-empty strings`)
  }
  return value as string[]
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store, no-cache',
    pragma: 'no-cache',
    ...headers,
  })
  res.end(text)
}

function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        done = true
        resolve(undefined)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (done) return
      done = true
      resolve(Buffer.concat(chunks).toString('utf8'))
    })
    req.on('error', reject)
    req.on('close', () => {
      if (!done) reject(new Error('the client closed the request'))
    })
  })
}

/** `client_secret_basic` (RFC 6749 §2.3.1): form-urlencoded id and secret in Basic credentials. */
function parseBasic(header: string | undefined): { clientId: string; secret: string } | undefined {
  const encoded =
    header === undefined ? undefined : /^Basic +([A-Za-z0-9+/]+=*)$/i.exec(header)?.[1]
  if (encoded === undefined) return undefined
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  try {
    const part = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '))
    return { clientId: part(decoded.slice(0, colon)), secret: part(decoded.slice(colon + 1)) }
  } catch {
    return undefined
  }
}

function harden(server: Server, timeoutDuration: number): void {
  server.requestTimeout = timeoutDuration
  server.headersTimeout = Math.min(timeoutDuration, 10_000)
  server.keepAliveTimeout = 1_000
  server.maxHeadersCount = 64
  server.maxConnections = 256
  // Idle sockets are destroyed after this long (no 'timeout' listener is added).
  server.setTimeout(timeoutDuration)
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

/** The current time read past any faked `Date`, so TLS validity suits OpenSSL's real clock too. */
function wallClockTimes(): number[] {
  return [Date.now(), Math.round(performance.timeOrigin + performance.now())]
}

/**
 * Starts an Entra ID emulator on 127.0.0.1 (random ports), over HTTPS with a certificate made
 * now (SAN `IP:127.0.0.1`, `DNS:localhost`, issued by a CA whose certificate is
 * `caCertificate`), and over HTTP too when `http: true`.
 *
 * Endpoints, for `{tenant}` a hosted tenant's id or domain, or `organizations` / `common`:
 * `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/.well-known/openid-configuration`
 * (v1), `/{tenant}/discovery/v2.0/keys` and `/{tenant}/discovery/keys` (keys carry `issuer`),
 * `/{tenant}/oauth2/v2.0/token` (`scope`) and `/{tenant}/oauth2/token` (v1, `resource`),
 * `/{tenant}/oauth2/v2.0/authorize` (a headless sign-in of the `login_hint` user, with PKCE), and
 * `/common/discovery/instance`.
 *
 * @example
 * ```ts
 * const emulator = await startEntraEmulator({ http: true })
 * const api = emulator.registerApp({ name: 'orders', appIdUri: 'api://orders', appRoles: ['Orders.Read.All'] })
 * const daemon = emulator.registerApp({
 *   name: 'daemon', secret: true,
 *   applicationPermissions: [{ resource: api, roles: ['Orders.Read.All'] }],
 * })
 * const msal = new ConfidentialClientApplication({
 *   auth: { clientId: daemon.clientId, clientSecret: daemon.secret, ...emulator.msalAuthority() },
 *   system: { networkClient: emulator.networkClient },
 * })
 * const result = await msal.acquireTokenByClientCredential({ scopes: ['api://orders/.default'] })
 * const validator = createValidator(azureAd({ ...emulator.azureAdOptions(), clientId: api.clientId }))
 * await validator.verify(result.accessToken) // appOnly, roles ['Orders.Read.All']
 * await emulator.close()
 * ```
 */
export async function startEntraEmulator(
  options: EntraEmulatorOptions = {},
): Promise<EntraEmulator> {
  if (typeof options !== 'object' || options === null) fail('options must be an object')
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) fail(`unknown option "${key}"`)
  }
  if (options.http !== undefined && typeof options.http !== 'boolean') {
    fail('"http" option must be a boolean')
  }
  const tokenLifetime = number('tokenLifetime', options.tokenLifetime, 3_600, 60, 86_400)
  const maxRequestSize = number('maxRequestSize', options.maxRequestSize, 65_536, 1_024, 1_048_576)
  const timeoutDuration = number('timeoutDuration', options.timeoutDuration, 30_000, 1_000, 300_000)
  const directory = createDirectory(options.tenants)

  const times = wallClockTimes()
  const [firstKey, ca] = await Promise.all([
    createSigningKey(),
    createCertificate({
      commonName: 'bearer-guard Entra ID emulator CA',
      certificateAuthority: true,
      notBefore: new Date(Math.min(...times) - 86_400_000),
      notAfter: new Date(Math.max(...times) + 365 * 86_400_000),
    }),
  ])
  const files = await mkdtemp(join(tmpdir(), 'bearer-guard-entra-'))
  const caCertificatePath = join(files, 'ca.pem')
  await writeFile(caCertificatePath, ca.certificate)
  const tls = await createCertificate({
    commonName: '127.0.0.1',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    extendedKeyUsages: ['serverAuth'],
    issuer: ca,
    notBefore: new Date(Math.min(...times) - 86_400_000),
    notAfter: new Date(Math.max(...times) + 365 * 86_400_000),
  })

  let keys: SigningKey[] = [firstKey]
  let jwksMode: JwksMode = 'ok'
  let tokenMode: TokenMode = 'ok'
  let slowDelay = 10_000
  const counts = { discovery: 0, jwks: 0, token: 0 }
  const timers = new Set<NodeJS.Timeout>()
  let instance = ''
  let httpOrigin: string | undefined

  const issuers: TokenIssuers = {
    v1: (tid) => `${V1_ISSUER_HOST}/${tid}/`,
    v2: (tid) => `${instance}/${tid}/v2.0`,
  }
  // Bounded by the apps the test registers: one entry per API at most.
  const policies = new Map<string, ApiPolicy>()
  const context: GrantContext = {
    directory,
    issuers,
    tokenLifetime,
    currentKey: () => keys[0] as SigningKey,
    publishedKey: (kid) => keys.find((key) => key.kid === kid),
    policyOf: (clientId) => policies.get(clientId),
    codes: new Map(),
  }

  function updatePolicy(resource: AppReference, change: Partial<ApiPolicy>): void {
    const app = directory.resource(referenceOf(resource, 'resource'))
    if (app === undefined) fail('"resource" must be an app registered with the emulator')
    const { clientId } = app.registration
    const next = { ...policies.get(clientId), ...change }
    if (next.authContext === undefined) delete next.authContext
    if (next.consentRequired !== true) delete next.consentRequired
    if (Object.keys(next).length === 0) policies.delete(clientId)
    else policies.set(clientId, Object.freeze(next))
  }

  function resolveSegment(segment: string): { tenant: EmulatedTenant | undefined; path: string } {
    if (MULTI_TENANT.has(segment.toLowerCase())) {
      return { tenant: undefined, path: segment.toLowerCase() }
    }
    const tenant = directory.findTenant(segment)
    if (tenant === undefined) throw entraErrors.tenantNotFound(segment)
    return { tenant, path: tenant.id }
  }

  function discoveryDocument(origin: string, segment: string, version: 1 | 2): object {
    const { tenant, path } = resolveSegment(segment)
    const tid = tenant?.id ?? '{tenantid}'
    const base = `${origin}/${path}`
    const v = version === 2 ? '/v2.0' : ''
    return {
      token_endpoint: `${base}/oauth2${v}/token`,
      token_endpoint_auth_methods_supported: [
        'client_secret_post',
        'private_key_jwt',
        'client_secret_basic',
      ],
      jwks_uri: `${base}/discovery${v}/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: version === 2 ? issuers.v2(tid) : issuers.v1(tid),
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2${v}/authorize`,
      device_authorization_endpoint: `${base}/oauth2${v}/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2${v}/logout`,
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      tenant_region_scope: 'WW',
      cloud_instance_name: CLOUD_INSTANCE_NAME,
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    }
  }

  function keySet(segment: string): object {
    const { tenant } = resolveSegment(segment)
    // Tenant-independent keys name the issuer with Entra ID's `{tenantid}` template.
    const issuer = issuers.v2(tenant?.id ?? '{tenantid}')
    return { keys: keys.map((key) => toPublishedJwk(key, issuer, CLOUD_INSTANCE_NAME)) }
  }

  function wait(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const onClose = () => {
        clearTimeout(timer)
        timers.delete(timer)
        resolve(false)
      }
      const timer = setTimeout(() => {
        timers.delete(timer)
        res.off('close', onClose)
        resolve(true)
      }, ms)
      timers.add(timer)
      res.once('close', onClose)
    })
  }

  async function answerKeys(res: ServerResponse, segment: string): Promise<void> {
    counts.jwks++
    const body = keySet(segment)
    if (jwksMode === 'down') {
      sendJson(res, 500, {
        error: 'server_error',
        error_description: 'The emulator serves no keys: its JWKS mode is "down".',
      })
    } else if (jwksMode === 'garbage') {
      const text = '<html><body>Service Unavailable</body></html>'
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(text.length),
      })
      res.end(text)
    } else if (jwksMode === 'slow') {
      if (await wait(slowDelay, res)) sendJson(res, 200, body, CACHEABLE)
    } else {
      sendJson(res, 200, body, CACHEABLE)
    }
  }

  async function answerToken(
    req: IncomingMessage,
    res: ServerResponse,
    origin: string,
    segment: string,
    version: 1 | 2,
  ): Promise<void> {
    counts.token++
    if (req.method !== 'POST') throw entraErrors.postOnly(req.method ?? 'unknown')
    if (tokenMode !== 'ok') {
      const error =
        tokenMode === 'down' ? entraErrors.temporarilyUnavailable() : entraErrors.throttled()
      sendJson(
        res,
        error.status,
        formatEntraError(error, instance, req.headers['client-request-id']),
        tokenMode === 'throttled' ? { 'retry-after': '7' } : {},
      )
      res.once('finish', () => req.resume())
      return
    }
    const declared = Number(req.headers['content-length'] ?? 0)
    const body = declared > maxRequestSize ? undefined : await readBody(req, maxRequestSize)
    if (body === undefined) {
      res.once('finish', () => req.destroy())
      throw entraErrors.bodyTooLarge(maxRequestSize)
    }
    const tenant = MULTI_TENANT.has(segment.toLowerCase())
      ? undefined
      : directory.findTenant(segment)
    const paths = [...new Set([segment, tenant?.id, tenant?.domain])].filter(
      (path): path is string => path !== undefined,
    )
    const origins = [...new Set([instance, origin])]
    const audiences = origins.flatMap((base) =>
      paths.flatMap((path) => [
        `${base}/${path}/oauth2/v2.0/token`,
        `${base}/${path}/oauth2/token`,
      ]),
    )
    const answer = await handleTokenRequest(context, {
      version,
      tenantSegment: segment,
      params: new URLSearchParams(body),
      basic: parseBasic(req.headers.authorization),
      audiences,
    })
    sendJson(res, 200, answer)
  }

  /**
   * Instance discovery: metadata for an authority the emulator serves (its HTTPS or HTTP origin),
   * `invalid_instance` for any other, as Entra ID answers for a host it does not know.
   */
  function answerInstanceDiscovery(res: ServerResponse, url: URL, origin: string): void {
    let tenant = 'common'
    const endpoint = url.searchParams.get('authorization_endpoint')
    if (endpoint !== null) {
      let authority: URL
      try {
        authority = new URL(endpoint)
      } catch {
        throw entraErrors.unknownInstance()
      }
      if (authority.origin !== instance && authority.origin !== httpOrigin) {
        throw entraErrors.unknownInstance()
      }
      tenant = authority.pathname.split('/')[1] || tenant
    }
    const host = new URL(origin).host
    sendJson(res, 200, {
      tenant_discovery_endpoint: `${origin}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    })
  }

  async function route(req: IncomingMessage, res: ServerResponse, origin: string): Promise<void> {
    let url: URL
    try {
      url = new URL(req.url ?? '/', origin)
    } catch {
      url = new URL('/', origin)
    }
    const [segment, ...rest] = url.pathname.split('/').filter((part) => part !== '')
    const path = rest.join('/')
    try {
      if (segment !== undefined && path === 'oauth2/v2.0/token') {
        return await answerToken(req, res, origin, segment, 2)
      }
      if (segment !== undefined && path === 'oauth2/token') {
        return await answerToken(req, res, origin, segment, 1)
      }
      if (segment !== undefined && path === 'oauth2/v2.0/authorize' && req.method === 'GET') {
        const location = handleAuthorizeRequest(context, segment, url.searchParams)
        res.writeHead(302, { location, 'cache-control': 'no-store', 'content-length': '0' })
        res.end()
        return
      }
      const known =
        segment !== undefined &&
        (path === 'v2.0/.well-known/openid-configuration' ||
          path === '.well-known/openid-configuration' ||
          path === 'discovery/v2.0/keys' ||
          path === 'discovery/keys' ||
          (segment.toLowerCase() === 'common' && path === 'discovery/instance'))
      if (!known || segment === undefined) {
        sendJson(res, 404, {
          error: 'not_found',
          error_description: 'The Entra ID emulator has no endpoint at this path.',
        })
        return
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(
          res,
          405,
          { error: 'invalid_request', error_description: 'Use GET.' },
          { allow: 'GET, HEAD' },
        )
        return
      }
      if (path === 'discovery/instance') return answerInstanceDiscovery(res, url, origin)
      if (path.startsWith('discovery/')) return await answerKeys(res, segment)
      counts.discovery++
      const version = path.startsWith('v2.0/') ? 2 : 1
      sendJson(res, 200, discoveryDocument(origin, segment, version), CACHEABLE)
    } catch (error) {
      if (!(error instanceof EntraError)) throw error
      sendJson(
        res,
        error.status,
        formatEntraError(error, instance, req.headers['client-request-id']),
      )
    }
  }

  function handler(origin: () => string) {
    return (req: IncomingMessage, res: ServerResponse) => {
      route(req, res, origin()).catch(() => {
        if (res.headersSent || res.destroyed) res.destroy()
        else sendJson(res, 500, { error: 'server_error', error_description: 'Unexpected error.' })
      })
    }
  }

  const httpsServer = createHttpsServer(
    { cert: tls.certificate, key: tls.privateKey, minVersion: 'TLSv1.2' },
    handler(() => instance),
  )
  harden(httpsServer, timeoutDuration)
  const servers: Server[] = [httpsServer]
  instance = `https://127.0.0.1:${await listen(httpsServer)}`
  if (options.http === true) {
    const httpServer = createHttpServer(handler(() => httpOrigin as string))
    harden(httpServer, timeoutDuration)
    servers.push(httpServer)
    httpOrigin = `http://127.0.0.1:${await listen(httpServer)}`
  }
  const networkClient = createEmulatorNetworkClient({
    origins: httpOrigin === undefined ? [instance] : [instance, httpOrigin],
    ca: ca.certificate,
    timeoutDuration,
  })
  const emulatorFetch = createEmulatorFetch({
    origins: httpOrigin === undefined ? [instance] : [instance, httpOrigin],
    ca: ca.certificate,
  })

  const defaultClient = directory.registerApp({ name: 'bearer-guard test client', secret: true })
  const defaultUser = directory.addUser({ name: 'Ada Lovelace' })

  function tenantPath(tenant: string | undefined): string {
    if (tenant === undefined) return directory.tenants[0]?.id as string
    if (typeof tenant !== 'string' || !/^[A-Za-z0-9.-]+$/.test(tenant)) {
      fail('tenant must be a tenant id, a domain, "organizations" or "common"')
    }
    return tenant
  }

  function tenantIdOf(tenant: string | undefined): string {
    const path = tenantPath(tenant)
    const found = directory.findTenant(path)
    if (found === undefined) fail(`"${path}" is not a tenant the emulator hosts`)
    return found.id
  }

  function mint(mintOptions: MintOptions): string {
    if (typeof mintOptions !== 'object' || mintOptions === null)
      fail('mint options must be an object')
    for (const key of Object.keys(mintOptions)) {
      if (!MINT_OPTION_NAMES.has(key)) fail(`unknown mint option "${key}"`)
    }
    const resourceId = referenceOf(mintOptions.resource, 'resource')
    const resource = directory.resource(resourceId)
    const clientId = referenceOf(mintOptions.client ?? defaultClient, 'client')
    const client = directory.resource(clientId)
    const scopes = stringList('scopes', mintOptions.scopes)
    const roles = stringList('roles', mintOptions.roles)
    const delegated = mintOptions.user !== undefined || scopes !== undefined
    const user = mintOptions.user ?? (delegated ? defaultUser : undefined)
    if (user !== undefined && directory.user(user.oid) === undefined) {
      fail('"user" option must be a user made by addUser')
    }
    const version = mintOptions.version ?? resource?.registration.accessTokenAcceptedVersion ?? 2
    if (version !== 1 && version !== 2) fail('"version" option must be 1 or 2')
    const tenantId =
      mintOptions.tenant !== undefined
        ? tenantIdOf(mintOptions.tenant)
        : ((user?.tenantId ??
            resource?.registration.tenantId ??
            directory.tenants[0]?.id) as string)
    const audience =
      resource === undefined
        ? resourceId
        : version === 2
          ? resource.registration.clientId
          : typeof mintOptions.resource === 'string'
            ? mintOptions.resource
            : (resource.registration.appIdUri ?? resource.registration.clientId)
    const clientAuth: ClientAuthMethod =
      client === undefined
        ? '1'
        : client.certificates.length > 0 && client.secretDigest === undefined
          ? '2'
          : client.secretDigest !== undefined
            ? '1'
            : '0'
    const issuedAt = number(
      'issuedAt',
      mintOptions.issuedAt,
      Math.floor(Date.now() / 1000),
      0,
      32_503_680_000,
    )
    const lifetime = number('lifetime', mintOptions.lifetime, tokenLifetime, 1, 31_536_000)
    const capabilities = stringList('clientCapabilities', mintOptions.clientCapabilities) ?? []
    const requested = parseClaimsRequest(mintOptions.claimsRequest)
    if (mintOptions.acr !== undefined && typeof mintOptions.acr !== 'string') {
      fail('"acr" option must be a string')
    }
    const authTime =
      mintOptions.authTime === undefined
        ? undefined
        : number('authTime', mintOptions.authTime, 0, 0, 32_503_680_000)
    const resolvedClientId = client?.registration.clientId ?? clientId
    const claims = buildAccessTokenClaims(
      {
        version,
        tenantId,
        audience,
        clientId: resolvedClientId,
        clientAuth,
        ...(user === undefined
          ? { servicePrincipalId: directory.servicePrincipalId(resolvedClientId, tenantId) }
          : {
              user: {
                oid: user.oid,
                sub: directory.pairwiseSubject(user.oid, resolvedClientId),
                name: user.name,
                username: user.username,
                givenName: user.givenName,
                familyName: user.familyName,
              },
            }),
        scopes,
        roles,
        capabilities: [...new Set([...capabilities, ...requested.capabilities])],
        authContexts: requested.authContexts,
        acr: mintOptions.acr,
        authTime,
        issuedAt,
        lifetime,
      },
      issuers,
    )
    if (mintOptions.dpopKey !== undefined) {
      claims.cnf = { jkt: dpopThumbprint(mintOptions.dpopKey) }
    } else if (mintOptions.certificate !== undefined) {
      const der =
        mintOptions.certificate instanceof Uint8Array
          ? mintOptions.certificate
          : mintOptions.certificate.der
      claims.cnf = { 'x5t#S256': createHash('sha256').update(der).digest('base64url') }
    }
    for (const [name, value] of Object.entries(mintOptions.claims ?? {})) {
      if (value === undefined) delete claims[name]
      else claims[name] = value
    }
    return signToken(keys[0] as SigningKey, claims, mintOptions.header)
  }

  async function close(): Promise<void> {
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    networkClient.close()
    await Promise.all([
      ...servers.map((server) => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        return closed
      }),
      rm(files, { recursive: true, force: true }),
    ])
  }

  const emulator: EntraEmulator = {
    instance,
    httpOrigin,
    host: new URL(instance).host,
    caCertificate: ca.certificate,
    caCertificatePath,
    tenants: directory.tenants,
    tenantId: directory.tenants[0]?.id as string,
    defaultClient,
    defaultUser,
    networkClient,
    requestCounts: Object.freeze({
      get discovery() {
        return counts.discovery
      },
      get jwks() {
        return counts.jwks
      },
      get token() {
        return counts.token
      },
    }),
    get signingKeyId() {
      return (keys[0] as SigningKey).kid
    },
    registerApp: (registration) => directory.registerApp(registration),
    addUser: (user) => directory.addUser(user),
    grantConsent: (consent) => directory.grantConsent(consent),
    mint,
    async rotateKeys(rotation = {}) {
      const key = await createSigningKey()
      keys = rotation.keepPrevious === false ? [key] : [key, ...keys].slice(0, MAX_PUBLISHED_KEYS)
      return key.kid
    },
    setTokenMode(mode) {
      if (mode !== 'ok' && mode !== 'down' && mode !== 'throttled') {
        fail('token mode must be "ok", "down" or "throttled"')
      }
      tokenMode = mode
    },
    setConditionalAccess(resource, authContext) {
      if (authContext !== undefined && (typeof authContext !== 'string' || authContext === '')) {
        fail('authContext must be a non-empty string such as "c1", or undefined')
      }
      updatePolicy(resource, { authContext })
    },
    setConsentRequired(resource, required) {
      if (typeof required !== 'boolean') fail('required must be a boolean')
      updatePolicy(resource, { consentRequired: required })
    },
    setJwksMode(mode, modeOptions = {}) {
      if (mode !== 'ok' && mode !== 'down' && mode !== 'slow' && mode !== 'garbage') {
        fail('JWKS mode must be "ok", "down", "slow" or "garbage"')
      }
      slowDelay = number('delay', modeOptions.delay, 10_000, 0, timeoutDuration)
      jwksMode = mode
    },
    issuer: (tenant, version = 2) => {
      const tid = tenantIdOf(tenant)
      return version === 1 ? issuers.v1(tid) : issuers.v2(tid)
    },
    authority: (tenant) => `${instance}/${tenantPath(tenant)}`,
    msalAuthority: (tenant) => ({
      authority: `${instance}/${tenantPath(tenant)}`,
      knownAuthorities: [new URL(instance).host],
    }),
    azureIdentityOptions: () => ({
      authorityHost: instance,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: ca.certificate },
    }),
    msalPythonOptions: (tenant) => ({
      authority: `${instance}/${tenantPath(tenant)}`,
      instance_discovery: false,
    }),
    tokenEndpoint: (tenant, version = 2) =>
      `${instance}/${tenantPath(tenant)}/oauth2${version === 2 ? '/v2.0' : ''}/token`,
    jwksUri: (tenant) => `${httpOrigin ?? instance}/${tenantPath(tenant)}/discovery/v2.0/keys`,
    fetch: emulatorFetch,
    azureAdOptions: (tenant) => ({
      tenant: tenantPath(tenant),
      instance,
      jwksUri: `${httpOrigin ?? instance}/${tenantPath(tenant)}/discovery/v2.0/keys`,
      fetch: emulatorFetch,
    }),
    close,
  }
  return Object.freeze(emulator)
}
