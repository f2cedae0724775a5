/**
 * The token endpoint's decisions, as Entra ID makes them: client authentication (client secret,
 * or a client assertion JWT signed with a registered certificate, RFC 7523 §2.2), then the
 * client credentials grant (RFC 6749 §4.4) or the On-Behalf-Of grant (RFC 7523 §2.1 with
 * `requested_token_use=on_behalf_of`), each failure an {@link EntraError} with its AADSTS code.
 */
import { createHash, randomBytes } from 'node:crypto'
import { decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose'
import { isGuid } from '../azure.js'
import type {
  AppRecord,
  CertificateCredential,
  Directory,
  EmulatedTenant,
} from './entra-directory.js'
import { EntraError, entraErrors } from './entra-errors.js'
import {
  type AccessTokenContent,
  buildAccessTokenClaims,
  type ClientAuthMethod,
  type TokenIssuers,
} from './entra-tokens.js'
import { type SigningKey, signToken } from './signing-keys.js'

const CLIENT_CREDENTIALS = 'client_credentials'
const AUTHORIZATION_CODE = 'authorization_code'
/** How long an authorization code can be redeemed, in ms (Entra ID: about 10 minutes). */
const CODE_LIFETIME = 600_000
/** Codes held at once; the oldest go first. */
const MAX_CODES = 1_000
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email'])
const MULTI_TENANT = new Set(['common', 'organizations'])
// A bare scope such as `User.Read` means Microsoft Graph, as Entra ID reads it.
const GRAPH = 'https://graph.microsoft.com'
/** Clock skew allowed on assertions, in seconds (Entra ID allows five minutes). */
const CLOCK_SKEW = 300

/** What the token endpoint needs from the emulator. */
export interface GrantContext {
  readonly directory: Directory
  readonly issuers: TokenIssuers
  /** Lifetime of issued tokens, in seconds. */
  readonly tokenLifetime: number
  currentKey(): SigningKey
  publishedKey(kid: string): SigningKey | undefined
  /** The Conditional Access and consent switches of an API (by client id), if any. */
  policyOf(resourceClientId: string): ApiPolicy | undefined
  /** Authorization codes issued by the authorize endpoint and not redeemed yet. */
  readonly codes: Map<string, AuthorizationCodeGrant>
}

/** What an authorization code stands for: a user's sign-in at the authorize endpoint. */
export interface AuthorizationCodeGrant {
  readonly clientId: string
  readonly tenantId: string
  readonly redirectUri: string
  readonly userOid: string
  readonly scope: string
  readonly codeChallenge: string | undefined
  readonly nonce: string | undefined
  /** Capabilities and authentication contexts asked for in the authorize request's `claims`. */
  readonly claims: ClaimsRequest
  /** Epoch ms after which the code is refused. */
  readonly expires: number
}

/** Switches that change how the token endpoint answers for one API. */
export interface ApiPolicy {
  /** A Conditional Access policy that needs this authentication context (`c1`...) for the API. */
  readonly authContext?: string
  /** Every On-Behalf-Of request for the API answers consent_required (AADSTS65001). */
  readonly consentRequired?: boolean
}

/** What a token request's `claims` parameter asks for (OIDC Core §5.5, Entra ID's use of it). */
export interface ClaimsRequest {
  /** `access_token.xms_cc.values`: the client's capabilities (MSAL's `clientCapabilities`). */
  readonly capabilities: readonly string[]
  /** `access_token.acrs.value` or `.values`: authentication contexts asked for. */
  readonly authContexts: readonly string[]
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string')
  return []
}

/**
 * Reads a claims request (JSON text): the client capabilities and authentication contexts it
 * asks for in the access token. Anything that is not a JSON object is `invalid_request`.
 */
export function parseClaimsRequest(text: string | null | undefined): ClaimsRequest {
  if (text === null || text === undefined || text === '') {
    return { capabilities: [], authContexts: [] }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw entraErrors.invalidClaims()
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw entraErrors.invalidClaims()
  }
  const accessToken = (parsed as { access_token?: unknown }).access_token
  const member = (name: string): { value?: unknown; values?: unknown } => {
    const entry =
      typeof accessToken === 'object' && accessToken !== null
        ? (accessToken as Record<string, unknown>)[name]
        : undefined
    return typeof entry === 'object' && entry !== null ? (entry as { value?: unknown }) : {}
  }
  const xmsCc = member('xms_cc')
  const acrs = member('acrs')
  return {
    capabilities: [...new Set([...strings(xmsCc.value), ...strings(xmsCc.values)])],
    authContexts: [...new Set([...strings(acrs.value), ...strings(acrs.values)])],
  }
}

/** The claims request that asks for an authentication context, as Entra ID sends it back. */
function authContextRequest(id: string): string {
  return JSON.stringify({ access_token: { acrs: { essential: true, value: id } } })
}

/** A parsed token request. */
export interface TokenRequest {
  /** `1` for `/oauth2/token`, `2` for `/oauth2/v2.0/token`. */
  readonly version: 1 | 2
  /** The tenant segment of the path: an id, a domain, `organizations` or `common`. */
  readonly tenantSegment: string
  readonly params: URLSearchParams
  /** `client_secret_basic` credentials (RFC 6749 §2.3.1), when the request had them. */
  readonly basic: { readonly clientId: string; readonly secret: string } | undefined
  /** The token endpoint URLs a client assertion's `aud` may name. */
  readonly audiences: readonly string[]
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name)
  if (value === null || value === '') throw entraErrors.missingParameter(name)
  return value
}

function joseCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function sameUrl(a: string, b: string): boolean {
  const strip = (url: string) => url.split('?')[0]?.replace(/\/+$/, '').toLowerCase()
  return strip(a) === strip(b)
}

/**
 * The bytes of a thumbprint header member (`x5t`, `x5t#S256`): base64url (RFC 7515 §4.1.7), with
 * or without `=` padding. Entra ID accepts both, and MSAL for Python 1.21 pads its `x5t`.
 */
function thumbprintBytes(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(value)) return undefined
  return Buffer.from(value.replace(/=+$/, ''), 'base64url')
}

/**
 * The DER bytes of an `x5c` entry: base64 (RFC 7515 §4.1.6). Line breaks are ignored, since MSAL
 * for Python copies the entries out of PEM text with them.
 */
function certificateBytes(value: unknown): Buffer | undefined {
  if (typeof value !== 'string') return undefined
  const text = value.replace(/[\r\n]/g, '')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined
  return Buffer.from(text, 'base64')
}

function findCertificate(
  app: AppRecord,
  header: Record<string, unknown>,
): CertificateCredential | undefined {
  const sha256 = thumbprintBytes(header['x5t#S256'])
  const sha1 = thumbprintBytes(header.x5t)
  return app.certificates.find(
    (certificate) =>
      (sha256 !== undefined && certificate.sha256.equals(sha256)) ||
      (sha1 !== undefined && certificate.sha1.equals(sha1)),
  )
}

/** Checks a client assertion (RFC 7523 §3) against the app's registered certificates. */
async function verifyClientAssertion(
  app: AppRecord,
  request: TokenRequest,
  assertion: string,
): Promise<ClientAuthMethod> {
  const type = request.params.get('client_assertion_type')
  if (type !== CLIENT_ASSERTION_TYPE) {
    throw entraErrors.invalidClientAssertion(
      `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}.`,
    )
  }
  let header: Record<string, unknown>
  try {
    header = decodeProtectedHeader(assertion) as Record<string, unknown>
  } catch {
    throw entraErrors.invalidClientAssertion('The client assertion is not a JWT.')
  }
  const certificate = findCertificate(app, header)
  if (certificate === undefined) {
    throw entraErrors.invalidClientAssertion(
      'The key was not found. The certificate with identifier used to sign the client assertion (x5t or x5t#S256) is not registered on application.',
    )
  }
  const x5c = header.x5c
  if (
    x5c !== undefined &&
    (!Array.isArray(x5c) || certificateBytes(x5c[0])?.equals(certificate.x509.raw) !== true)
  ) {
    throw entraErrors.invalidClientAssertion(
      'The x5c certificate is not the registered certificate.',
    )
  }
  const now = Date.now()
  if (now < certificate.notBefore || now > certificate.notAfter) {
    throw entraErrors.invalidClientAssertion('The key used is expired.')
  }
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(assertion, certificate.x509.publicKey, {
      algorithms: ['RS256', 'PS256', 'ES256'],
      clockTolerance: CLOCK_SKEW,
      requiredClaims: ['exp'],
    }))
  } catch (error) {
    const code = joseCode(error)
    if (code === 'ERR_JWT_EXPIRED' || code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
      throw entraErrors.clientAssertionTime()
    }
    throw entraErrors.invalidClientAssertion(
      code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
        ? 'The provided signature value did not match the expected signature value.'
        : 'The client assertion could not be verified.',
    )
  }
  const { clientId } = app.registration
  if (payload.iss !== clientId || payload.sub !== clientId) {
    throw new EntraError(
      401,
      'invalid_client',
      700021,
      "Client assertion application identifier doesn't match 'client_id' parameter.",
    )
  }
  const audiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? [])
  if (!audiences.some((aud) => request.audiences.some((expected) => sameUrl(aud, expected)))) {
    throw entraErrors.invalidClientAssertion(
      'The audience claim of the client assertion must be the token endpoint.',
    )
  }
  return '2'
}

async function authenticateClient(
  app: AppRecord,
  request: TokenRequest,
  directory: Directory,
): Promise<ClientAuthMethod> {
  const assertion = request.params.get('client_assertion')
  if (assertion !== null && assertion !== '') {
    return verifyClientAssertion(app, request, assertion)
  }
  const secret = request.basic?.secret ?? request.params.get('client_secret')
  if (secret === null || secret === '') throw entraErrors.credentialMissing()
  if (!directory.checkSecret(app, secret))
    throw entraErrors.invalidSecret(app.registration.clientId)
  return '1'
}

/** Checks a user's access token presented for On-Behalf-Of: the emulator signed it, unexpired. */
async function verifyUserAssertion(
  context: GrantContext,
  assertion: string,
): Promise<JWTPayload & { tid: string }> {
  let kid: unknown
  try {
    kid = decodeProtectedHeader(assertion).kid
  } catch {
    throw entraErrors.malformedAssertion()
  }
  const key = typeof kid === 'string' ? context.publishedKey(kid) : undefined
  if (key === undefined) throw entraErrors.invalidAssertion('The key was not found.')
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(assertion, key.publicKey, {
      algorithms: ['RS256'],
      clockTolerance: CLOCK_SKEW,
      requiredClaims: ['exp', 'aud'],
    }))
  } catch (error) {
    const code = joseCode(error)
    if (code === 'ERR_JWT_EXPIRED') {
      const exp = (error as { payload?: JWTPayload }).payload?.exp ?? 0
      throw entraErrors.assertionExpired(new Date(), new Date(exp * 1000))
    }
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
      throw entraErrors.invalidAssertion(
        'The provided signature value did not match the expected signature value.',
      )
    }
    if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
      throw entraErrors.invalidAssertion('The assertion is not yet valid or lacks a claim.')
    }
    throw entraErrors.malformedAssertion()
  }
  const { tid, iss } = payload as { tid?: unknown; iss?: unknown }
  if (
    !isGuid(tid) ||
    context.directory.findTenant(tid) === undefined ||
    (iss !== context.issuers.v1(tid) && iss !== context.issuers.v2(tid))
  ) {
    throw entraErrors.invalidAssertion('The assertion was not issued by a tenant of this instance.')
  }
  return payload as JWTPayload & { tid: string }
}

interface ScopeRequest {
  /** The resource identifier as requested (App ID URI or client id). */
  readonly resource: string
  /** Scope values on that resource; `.default` for all of them. */
  readonly values: readonly string[]
}

function parseScopes(value: string): ScopeRequest {
  const scopes = value.split(' ').filter((scope) => scope !== '' && !OIDC_SCOPES.has(scope))
  if (scopes.length === 0) throw entraErrors.invalidScope(value)
  let resource: string | undefined
  const values: string[] = []
  for (const scope of scopes) {
    const slash = scope.lastIndexOf('/')
    const [id, name] = slash <= 0 ? [GRAPH, scope] : [scope.slice(0, slash), scope.slice(slash + 1)]
    if (name === '') throw entraErrors.invalidScope(scope)
    if (resource !== undefined && resource.toLowerCase() !== id.toLowerCase()) {
      throw entraErrors.multipleResources(value)
    }
    resource = id
    values.push(name)
  }
  return { resource: resource as string, values }
}

function audienceOf(resource: AppRecord, requested: string): string {
  // v2 tokens name the API by client id; v1 tokens by the identifier that was requested.
  return resource.registration.accessTokenAcceptedVersion === 2
    ? resource.registration.clientId
    : requested
}

function tokenResponse(
  version: 1 | 2,
  token: string,
  claims: Record<string, unknown>,
  resource: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const lifetime = (claims.exp as number) - (claims.iat as number)
  if (version === 2) {
    return {
      token_type: 'Bearer',
      ...extra,
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: token,
    }
  }
  // The v1 endpoint answers with numbers as strings, and names the resource.
  return {
    token_type: 'Bearer',
    ...extra,
    expires_in: String(lifetime),
    ext_expires_in: String(lifetime),
    expires_on: String(claims.exp),
    not_before: String(claims.nbf),
    resource,
    access_token: token,
  }
}

function issue(
  context: GrantContext,
  content: AccessTokenContent,
): { token: string; claims: Record<string, unknown> } {
  const claims = buildAccessTokenClaims(content, context.issuers)
  return { token: signToken(context.currentKey(), claims), claims }
}

function clientCredentials(
  context: GrantContext,
  request: TokenRequest,
  client: AppRecord,
  clientAuth: ClientAuthMethod,
  tenant: EmulatedTenant,
): Record<string, unknown> {
  let requested: string
  if (request.version === 1) {
    requested = required(request.params, 'resource')
  } else {
    const scope = required(request.params, 'scope')
    const { resource, values } = parseScopes(scope)
    if (values.length !== 1 || values[0] !== '.default')
      throw entraErrors.defaultScopeRequired(scope)
    requested = resource
  }
  const resource = context.directory.resourceIn(requested, tenant.id)
  if (resource === undefined) throw entraErrors.resourceNotFound(requested, tenant.id)
  const roles = context.directory.grantedRoles(client, resource)
  if (roles.length === 0 && resource.registration.appRoleAssignmentRequired) {
    throw entraErrors.notAssignedToRole(
      client.registration.clientId,
      client.registration.name,
      resource.registration.clientId,
      resource.registration.name,
    )
  }
  const { token, claims } = issue(context, {
    version: resource.registration.accessTokenAcceptedVersion,
    tenantId: tenant.id,
    audience: audienceOf(resource, requested),
    clientId: client.registration.clientId,
    clientAuth,
    servicePrincipalId: context.directory.servicePrincipalId(
      client.registration.clientId,
      tenant.id,
    ),
    roles,
    capabilities: parseClaimsRequest(request.params.get('claims')).capabilities,
    issuedAt: Math.floor(Date.now() / 1000),
    lifetime: context.tokenLifetime,
  })
  return tokenResponse(request.version, token, claims, requested)
}

function onBehalfOf(
  context: GrantContext,
  request: TokenRequest,
  client: AppRecord,
  clientAuth: ClientAuthMethod,
  tenant: EmulatedTenant,
  assertion: JWTPayload & { tid: string },
): Record<string, unknown> {
  const { clientId } = client.registration
  const aud = typeof assertion.aud === 'string' ? assertion.aud : (assertion.aud?.[0] ?? '')
  const ownAudiences = [clientId, client.registration.appIdUri].filter(
    (value): value is string => value !== undefined,
  )
  if (!ownAudiences.some((own) => own.toLowerCase() === aud.toLowerCase())) {
    throw entraErrors.assertionAudience(aud, clientId)
  }
  const { oid } = assertion as { oid?: unknown }
  if (!isGuid(oid) || (assertion as { idtyp?: unknown }).idtyp === 'app' || oid === assertion.sub) {
    throw entraErrors.invalidAssertion(
      "The assertion is an application's token; On-Behalf-Of needs a user's delegated token.",
    )
  }
  let scopeRequest: ScopeRequest
  if (request.version === 1) {
    scopeRequest = { resource: required(request.params, 'resource'), values: ['.default'] }
  } else {
    scopeRequest = parseScopes(required(request.params, 'scope'))
  }
  const resource = context.directory.resourceIn(scopeRequest.resource, tenant.id)
  if (resource === undefined) throw entraErrors.resourceNotFound(scopeRequest.resource, tenant.id)
  const wantsAll = scopeRequest.values.includes('.default')
  if (wantsAll && scopeRequest.values.length > 1) {
    throw entraErrors.invalidScope(scopeRequest.values.join(' '))
  }
  for (const value of scopeRequest.values) {
    if (value !== '.default' && !resource.registration.scopes.includes(value)) {
      throw entraErrors.invalidScope(`${scopeRequest.resource}/${value}`)
    }
  }
  const claimsRequest = parseClaimsRequest(request.params.get('claims'))
  const policy = context.policyOf(resource.registration.clientId)
  const consented = context.directory.consentedScopes(client, resource, oid)
  const granted = wantsAll ? [...consented] : [...new Set(scopeRequest.values)]
  if (
    policy?.consentRequired === true ||
    granted.length === 0 ||
    granted.some((scope) => !consented.has(scope))
  ) {
    throw entraErrors.consentRequired(clientId, client.registration.name)
  }
  // Conditional Access: an authentication context the policy or the client asks for must have
  // been satisfied by the user, which the incoming token's `acrs` shows; a claims request alone
  // cannot satisfy it (the user has to sign in again, interactively, at the client).
  const needed = [
    ...new Set([
      ...(policy?.authContext === undefined ? [] : [policy.authContext]),
      ...claimsRequest.authContexts,
    ]),
  ]
  const satisfied = strings((assertion as { acrs?: unknown }).acrs)
  const missing = needed.find((id) => !satisfied.includes(id))
  if (missing !== undefined) {
    throw entraErrors.mfaRequired(scopeRequest.resource, authContextRequest(missing))
  }
  const known = context.directory.user(oid)
  const claim = (name: string) => {
    const value = (assertion as Record<string, unknown>)[name]
    return typeof value === 'string' ? value : undefined
  }
  const username =
    known?.username ?? claim('preferred_username') ?? claim('upn') ?? claim('unique_name') ?? ''
  const { token, claims } = issue(context, {
    version: resource.registration.accessTokenAcceptedVersion,
    tenantId: tenant.id,
    audience: audienceOf(resource, scopeRequest.resource),
    clientId,
    clientAuth,
    user: {
      oid,
      sub: context.directory.pairwiseSubject(oid, clientId),
      name: known?.name ?? claim('name') ?? username,
      username,
      givenName: known?.givenName ?? claim('given_name') ?? '',
      familyName: known?.familyName ?? claim('family_name') ?? '',
    },
    scopes: granted,
    capabilities: claimsRequest.capabilities,
    authContexts: needed,
    issuedAt: Math.floor(Date.now() / 1000),
    lifetime: context.tokenLifetime,
  })
  const extra: Record<string, unknown> = {
    scope: granted.map((scope) => `${scopeRequest.resource}/${scope}`).join(' '),
  }
  if (request.params.get('client_info') === '1') {
    extra.client_info = Buffer.from(JSON.stringify({ uid: oid, utid: tenant.id })).toString(
      'base64url',
    )
  }
  return tokenResponse(request.version, token, claims, scopeRequest.resource, extra)
}

/**
 * Answers a token request: the JSON body of a successful response, or throws an
 * {@link EntraError}.
 */
export async function handleTokenRequest(
  context: GrantContext,
  request: TokenRequest,
): Promise<Record<string, unknown>> {
  const { directory } = context
  const { params } = request
  const grantType = required(params, 'grant_type')
  if (
    grantType !== CLIENT_CREDENTIALS &&
    grantType !== JWT_BEARER &&
    grantType !== AUTHORIZATION_CODE
  ) {
    throw entraErrors.unsupportedGrantType(grantType)
  }
  const bodyClientId = params.get('client_id')
  if (
    request.basic !== undefined &&
    bodyClientId !== null &&
    bodyClientId !== request.basic.clientId
  ) {
    throw new EntraError(
      401,
      'invalid_client',
      7000218,
      'The client_id parameter and the client_secret_basic credentials name different clients.',
    )
  }
  const clientId = request.basic?.clientId ?? required(params, 'client_id')
  const segment = request.tenantSegment
  const multiTenant = MULTI_TENANT.has(segment.toLowerCase())
  const fixed = multiTenant ? undefined : directory.findTenant(segment)
  if (!multiTenant && fixed === undefined) throw entraErrors.tenantNotFound(segment)

  // Entra ID issues app-only tokens in a named tenant only: /common and /organizations name none.
  if (grantType === CLIENT_CREDENTIALS && multiTenant) throw entraErrors.tenantUnidentified()

  const client = isGuid(clientId) ? directory.app(clientId) : undefined
  if (
    client === undefined ||
    (fixed !== undefined && directory.appIn(clientId, fixed.id) === undefined)
  ) {
    throw entraErrors.clientNotFound(clientId, fixed?.id ?? segment)
  }
  const clientAuth = await authenticateClient(client, request, directory)

  if (grantType === CLIENT_CREDENTIALS) {
    return clientCredentials(context, request, client, clientAuth, fixed as EmulatedTenant)
  }
  if (grantType === AUTHORIZATION_CODE) {
    return redeemCode(context, request, client, clientAuth)
  }
  const use = required(params, 'requested_token_use')
  if (use !== 'on_behalf_of') throw entraErrors.unsupportedGrantType(`${grantType} (${use})`)
  const assertion = await verifyUserAssertion(context, required(params, 'assertion'))
  // At /organizations or /common, On-Behalf-Of works in the tenant of the user's token.
  const tenant = fixed ?? (directory.findTenant(assertion.tid) as EmulatedTenant)
  if (tenant.id !== assertion.tid) {
    throw entraErrors.invalidAssertion('The assertion was issued by another tenant.')
  }
  if (directory.appIn(clientId, tenant.id) === undefined) {
    throw entraErrors.clientNotFound(clientId, tenant.id)
  }
  return onBehalfOf(context, request, client, clientAuth, tenant, assertion)
}

/**
 * The authorize endpoint (authorization code flow, RFC 6749 §4.1, PKCE RFC 7636), headless: the
 * user named by `login_hint` signs in at once, satisfying whatever the `claims` parameter asks
 * for (an authentication context stands for the MFA a real sign-in would prompt for). Returns
 * the redirect URL with the code, or throws an {@link EntraError} (shown, not redirected, for a
 * client or redirect URI that cannot be trusted, as Entra ID does).
 */
export function handleAuthorizeRequest(
  context: GrantContext,
  tenantSegment: string,
  params: URLSearchParams,
): string {
  const { directory } = context
  const clientId = required(params, 'client_id')
  const tenant = directory.findTenant(tenantSegment)
  if (tenant === undefined) throw entraErrors.tenantNotFound(tenantSegment)
  const client = isGuid(clientId) ? directory.appIn(clientId, tenant.id) : undefined
  if (client === undefined) throw entraErrors.clientNotFound(clientId, tenant.id)
  const redirectUri = required(params, 'redirect_uri')
  if (!client.redirectUris.includes(redirectUri)) {
    throw entraErrors.redirectMismatch(redirectUri, clientId)
  }
  if (params.get('response_type') !== 'code') {
    throw entraErrors.unsupportedResponseType(params.get('response_type') ?? '')
  }
  const hint = required(params, 'login_hint')
  const user = directory.userNamed(hint)
  if (user === undefined || user.tenantId !== tenant.id) throw entraErrors.userNotFound(hint)
  const scope = required(params, 'scope')
  parseScopes(scope)
  const method = params.get('code_challenge_method')
  const challenge = params.get('code_challenge') ?? undefined
  if (challenge !== undefined && method !== 'S256') {
    throw entraErrors.invalidRequest('code_challenge_method must be S256.')
  }
  const code = randomBytes(32).toString('base64url')
  const now = Date.now()
  for (const [key, grant] of context.codes) if (grant.expires < now) context.codes.delete(key)
  while (context.codes.size >= MAX_CODES) {
    context.codes.delete(context.codes.keys().next().value as string)
  }
  context.codes.set(code, {
    clientId: client.registration.clientId,
    tenantId: tenant.id,
    redirectUri,
    userOid: user.oid,
    scope,
    codeChallenge: challenge,
    nonce: params.get('nonce') ?? undefined,
    claims: parseClaimsRequest(params.get('claims')),
    expires: now + CODE_LIFETIME,
  })
  const target = new URL(redirectUri)
  target.searchParams.set('code', code)
  const state = params.get('state')
  if (state !== null) target.searchParams.set('state', state)
  return target.href
}

/** Redeems an authorization code: the user's access token, ID token and client info. */
function redeemCode(
  context: GrantContext,
  request: TokenRequest,
  client: AppRecord,
  clientAuth: ClientAuthMethod,
): Record<string, unknown> {
  const { params } = request
  const code = required(params, 'code')
  const grant = context.codes.get(code)
  context.codes.delete(code)
  const { clientId } = client.registration
  if (grant === undefined || grant.expires < Date.now() || grant.clientId !== clientId) {
    throw entraErrors.invalidCode()
  }
  if (params.get('redirect_uri') !== grant.redirectUri) {
    throw entraErrors.redirectMismatch(params.get('redirect_uri') ?? '', clientId)
  }
  if (grant.codeChallenge !== undefined) {
    const verifier = required(params, 'code_verifier')
    const computed = createHash('sha256').update(verifier).digest('base64url')
    if (computed !== grant.codeChallenge) throw entraErrors.pkceMismatch()
  }
  const user = context.directory.user(grant.userOid) as NonNullable<ReturnType<Directory['user']>>
  const scopeRequest = parseScopes(params.get('scope') ?? grant.scope)
  const resource = context.directory.resourceIn(scopeRequest.resource, grant.tenantId)
  if (resource === undefined) {
    throw entraErrors.resourceNotFound(scopeRequest.resource, grant.tenantId)
  }
  const consented = context.directory.consentedScopes(client, resource, user.oid)
  const wantsAll = scopeRequest.values.includes('.default')
  const granted = wantsAll ? [...consented] : [...new Set(scopeRequest.values)]
  if (granted.length === 0 || granted.some((scope) => !consented.has(scope))) {
    throw entraErrors.consentRequired(clientId, client.registration.name)
  }
  const requested = parseClaimsRequest(params.get('claims'))
  const now = Math.floor(Date.now() / 1000)
  const { token, claims } = issue(context, {
    version: resource.registration.accessTokenAcceptedVersion,
    tenantId: grant.tenantId,
    audience: audienceOf(resource, scopeRequest.resource),
    clientId,
    clientAuth,
    user: {
      oid: user.oid,
      sub: context.directory.pairwiseSubject(user.oid, clientId),
      name: user.name,
      username: user.username,
      givenName: user.givenName,
      familyName: user.familyName,
    },
    scopes: granted,
    capabilities: [...new Set([...grant.claims.capabilities, ...requested.capabilities])],
    authContexts: grant.claims.authContexts,
    issuedAt: now,
    lifetime: context.tokenLifetime,
  })
  const idToken = signToken(context.currentKey(), {
    aud: clientId,
    iss: context.issuers.v2(grant.tenantId),
    iat: now,
    nbf: now,
    exp: now + context.tokenLifetime,
    name: user.name,
    ...(grant.nonce === undefined ? {} : { nonce: grant.nonce }),
    oid: user.oid,
    preferred_username: user.username,
    sub: context.directory.pairwiseSubject(user.oid, clientId),
    tid: grant.tenantId,
    ver: '2.0',
  })
  return tokenResponse(request.version, token, claims, scopeRequest.resource, {
    scope: [
      ...granted.map((scope) => `${scopeRequest.resource}/${scope}`),
      'openid',
      'profile',
    ].join(' '),
    id_token: idToken,
    client_info: Buffer.from(JSON.stringify({ uid: user.oid, utid: grant.tenantId })).toString(
      'base64url',
    ),
  })
}
