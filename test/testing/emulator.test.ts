/**
 * The Entra ID emulator over plain HTTP requests, as a client library would send them: discovery
 * documents, keys, the token endpoint's grants and AADSTS errors, `mint()`, key rotation and JWKS
 * faults, each token judged by bearer-guard's own `azureAd()` validator.
 */
import { createPublicKey, randomUUID, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type AzureAdOptions,
  azureAd,
  createValidator,
  InvalidTokenError,
  KeysUnavailableError,
} from '../../src/index.js'
import {
  type AppRegistration,
  type Certificate,
  createCertificate,
  type EmulatedUser,
  type EntraEmulator,
  startEntraEmulator,
} from '../../src/testing/index.js'

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const PARTNER_TENANT = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a'
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const OBO_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

let emulator: EntraEmulator
let dataApi: AppRegistration
let legacyApi: AppRegistration
let strictApi: AppRegistration
let webApi: AppRegistration
let daemon: AppRegistration
let idleApp: AppRegistration
let partner: AppRegistration
let webCert: Certificate
let grace: EmulatedUser

beforeAll(async () => {
  emulator = await startEntraEmulator({
    http: true,
    tenants: [{ id: TENANT }, { id: PARTNER_TENANT }],
  })
  dataApi = emulator.registerApp({
    name: 'Data API',
    appIdUri: 'api://data',
    scopes: ['Data.Read', 'Data.Write'],
    appRoles: ['Data.Read.All'],
    signInAudience: 'AzureADMultipleOrgs',
  })
  legacyApi = emulator.registerApp({
    name: 'Legacy API',
    appIdUri: 'https://legacy.contoso.com/api',
    scopes: ['Legacy.Read'],
    appRoles: ['Legacy.Read.All'],
    accessTokenAcceptedVersion: 1,
  })
  strictApi = emulator.registerApp({
    name: 'Strict API',
    appIdUri: 'api://strict',
    appRoles: ['Strict.All'],
    appRoleAssignmentRequired: true,
  })
  webCert = await createCertificate({ commonName: 'web-api', keyType: 'rsa' })
  webApi = emulator.registerApp({
    name: 'Web API',
    appIdUri: 'api://web',
    scopes: ['Web.Access'],
    secret: 'web-api-secret',
    certificates: [webCert],
    delegatedPermissions: [
      { resource: dataApi, scopes: ['Data.Read'] },
      { resource: 'https://legacy.contoso.com/api', scopes: ['Legacy.Read'] },
    ],
  })
  daemon = emulator.registerApp({
    name: 'Daemon',
    secret: true,
    applicationPermissions: [
      { resource: dataApi, roles: ['Data.Read.All', 'Not.A.Role'] },
      { resource: 'https://legacy.contoso.com/api', roles: ['Legacy.Read.All'] },
    ],
  })
  idleApp = emulator.registerApp({ name: 'Idle daemon', secret: 'idle-secret' })
  partner = emulator.registerApp({
    name: 'Partner daemon',
    tenant: PARTNER_TENANT,
    secret: 'partner-secret',
    applicationPermissions: [{ resource: 'api://data', roles: ['Data.Read.All'] }],
  })
  grace = emulator.addUser({ name: 'Grace Hopper' })
  emulator.grantConsent({ client: webApi, resource: dataApi, scopes: ['Data.Write'], user: grace })
})

afterAll(async () => {
  await emulator.close()
})

function validatorFor(api: AppRegistration, options: Partial<AzureAdOptions> = {}) {
  return createValidator(
    azureAd({ ...emulator.azureAdOptions(), clientId: api.clientId, ...options }),
  )
}

interface Answer {
  status: number
  body: Record<string, unknown>
}

async function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${emulator.httpOrigin}${path}`, {
    headers,
    signal: AbortSignal.timeout(5_000),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function token(
  form: Record<string, string>,
  { tenant = TENANT, version = 2, headers = {} as Record<string, string> } = {},
): Promise<Answer> {
  const path = version === 2 ? 'oauth2/v2.0/token' : 'oauth2/token'
  const response = await fetch(`${emulator.httpOrigin}/${tenant}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(5_000),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

function clientCredentials(client: AppRegistration, scope: string): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.secret as string,
    scope,
  }
}

function onBehalfOf(assertion: string, scope: string): Record<string, string> {
  return {
    grant_type: OBO_GRANT,
    requested_token_use: 'on_behalf_of',
    client_id: webApi.clientId,
    client_secret: webApi.secret as string,
    assertion,
    scope,
  }
}

function expectEntraError(answer: Answer, status: number, error: string, code: number): void {
  expect(answer.status).toBe(status)
  expect(answer.body).toEqual({
    error,
    error_description: expect.stringMatching(new RegExp(`^AADSTS${code}: .+ Trace ID: `)),
    error_codes: [code],
    timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/),
    trace_id: expect.stringMatching(GUID),
    correlation_id: expect.stringMatching(GUID),
    error_uri: `${emulator.instance}/error?code=${code}`,
    ...(code === 65001 ? { suberror: 'consent_required' } : {}),
  })
}

function accessToken(answer: Answer): string {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200)
  return answer.body.access_token as string
}

async function clientAssertion(
  cert: Certificate,
  options: {
    iss?: string
    aud?: string
    exp?: number
    alg?: 'PS256' | 'RS256'
    header?: Record<string, unknown>
  } = {},
): Promise<Record<string, string>> {
  const now = Math.floor(Date.now() / 1000)
  const thumbprint =
    options.alg === 'RS256'
      ? { x5t: Buffer.from(cert.thumbprint, 'hex').toString('base64url') }
      : { 'x5t#S256': Buffer.from(cert.thumbprintSha256, 'hex').toString('base64url') }
  const jwt = await new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({
      alg: options.alg ?? 'PS256',
      typ: 'JWT',
      ...thumbprint,
      ...options.header,
    })
    .setIssuer(options.iss ?? webApi.clientId)
    .setSubject(webApi.clientId)
    .setAudience(options.aud ?? emulator.tokenEndpoint(TENANT))
    .setNotBefore(now)
    .setExpirationTime(options.exp ?? now + 600)
    .sign(cert.keyPair.privateKey)
  return {
    grant_type: 'client_credentials',
    client_id: webApi.clientId,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: jwt,
    scope: 'api://data/.default',
  }
}

describe('startEntraEmulator', () => {
  it('serves HTTPS with a certificate from its own CA, and HTTP on request', async () => {
    expect(emulator.instance).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(emulator.httpOrigin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(emulator.host).toBe(new URL(emulator.instance).host)
    expect(new X509Certificate(emulator.caCertificate).ca).toBe(true)
    // Trust is per client: the network client trusts the CA, global fetch does not.
    const viaClient = await emulator.networkClient.sendGetRequestAsync<{ issuer: string }>(
      `${emulator.instance}/${TENANT}/v2.0/.well-known/openid-configuration`,
    )
    expect(viaClient).toMatchObject({ status: 200, body: { issuer: emulator.issuer() } })
    await expect(fetch(`${emulator.instance}/${TENANT}/discovery/v2.0/keys`)).rejects.toThrow()
  })

  it('hosts the tenants asked for, with default domains, and a default client and user', () => {
    expect(emulator.tenants).toEqual([
      { id: TENANT, domain: 'contoso.onmicrosoft.com' },
      { id: PARTNER_TENANT, domain: 'fabrikam.onmicrosoft.com' },
    ])
    expect(emulator.tenantId).toBe(TENANT)
    expect(emulator.defaultClient.secret).toMatch(/^.{3}8Q~.{34}$/)
    expect(emulator.defaultUser).toMatchObject({
      name: 'Ada Lovelace',
      username: 'ada.lovelace@contoso.onmicrosoft.com',
      tenantId: TENANT,
    })
  })

  it('hands out its CA as a file, and the options @azure/identity and MSAL for Python take', async () => {
    expect(emulator.azureIdentityOptions()).toEqual({
      authorityHost: emulator.instance,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: emulator.caCertificate },
    })
    expect(emulator.msalPythonOptions()).toEqual({
      authority: `${emulator.instance}/${TENANT}`,
      instance_discovery: false,
    })
    expect(emulator.msalPythonOptions('fabrikam.onmicrosoft.com').authority).toBe(
      `${emulator.instance}/fabrikam.onmicrosoft.com`,
    )
    expect(await readFile(emulator.caCertificatePath, 'utf8')).toBe(emulator.caCertificate)
    const other = await startEntraEmulator()
    expect(other.caCertificatePath).not.toBe(emulator.caCertificatePath)
    await other.close()
    await expect(readFile(other.caCertificatePath)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('refuses unknown and bad options with a TypeError', async () => {
    await expect(startEntraEmulator({ htp: true } as never)).rejects.toThrow(/unknown option "htp"/)
    await expect(startEntraEmulator({ tokenLifetime: 5 })).rejects.toThrow(/"tokenLifetime"/)
    await expect(startEntraEmulator({ tenants: [{ id: 'nope' }] })).rejects.toThrow(/GUID/)
    expect(() => emulator.registerApp({ name: 'x', appIdUri: 'api://data' })).toThrow(
      /already registered/,
    )
    expect(() => emulator.registerApp({ name: 'x', scopes: ['two words'] })).toThrow(/"scopes"/)
    expect(() => emulator.registerApp({ name: 'x', secrets: ['s'] } as never)).toThrow(
      /unknown registerApp option "secrets"/,
    )
  })
})

describe('discovery documents and keys', () => {
  it('serves the v2 document of a tenant, by id or by domain', async () => {
    for (const segment of [TENANT, 'contoso.onmicrosoft.com']) {
      const { status, body } = await get(`/${segment}/v2.0/.well-known/openid-configuration`)
      expect(status).toBe(200)
      expect(body).toMatchObject({
        issuer: `${emulator.instance}/${TENANT}/v2.0`,
        token_endpoint: `${emulator.httpOrigin}/${TENANT}/oauth2/v2.0/token`,
        jwks_uri: `${emulator.httpOrigin}/${TENANT}/discovery/v2.0/keys`,
        authorization_endpoint: `${emulator.httpOrigin}/${TENANT}/oauth2/v2.0/authorize`,
        id_token_signing_alg_values_supported: ['RS256'],
      })
    }
  })

  it('serves the v1 document, and the multi-tenant ones with the {tenantid} template', async () => {
    expect((await get(`/${TENANT}/.well-known/openid-configuration`)).body).toMatchObject({
      issuer: `https://sts.windows.net/${TENANT}/`,
      token_endpoint: `${emulator.httpOrigin}/${TENANT}/oauth2/token`,
      jwks_uri: `${emulator.httpOrigin}/${TENANT}/discovery/keys`,
    })
    expect((await get('/organizations/v2.0/.well-known/openid-configuration')).body).toMatchObject({
      issuer: `${emulator.instance}/{tenantid}/v2.0`,
      token_endpoint: `${emulator.httpOrigin}/organizations/oauth2/v2.0/token`,
    })
  })

  it('publishes keys with issuer, x5t equal to kid, and an x5c certificate of the same key', async () => {
    const { body } = await get(`/${TENANT}/discovery/v2.0/keys`)
    const key = (body.keys as Record<string, unknown>[])[0] as Record<string, unknown>
    expect(key).toMatchObject({
      kty: 'RSA',
      use: 'sig',
      kid: emulator.signingKeyId,
      x5t: emulator.signingKeyId,
      cloud_instance_name: 'microsoftonline.com',
      issuer: `${emulator.instance}/${TENANT}/v2.0`,
    })
    const cert = new X509Certificate(Buffer.from((key.x5c as string[])[0] as string, 'base64'))
    const jwkKey = createPublicKey({ key: key as never, format: 'jwk' })
    expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
      jwkKey.export({ type: 'spki', format: 'der' }),
    )
    const common = await get('/common/discovery/keys')
    expect((common.body.keys as { issuer: string }[])[0]?.issuer).toBe(
      `${emulator.instance}/{tenantid}/v2.0`,
    )
  })

  it('answers an unknown tenant with AADSTS90002 and echoes the client-request-id', async () => {
    const correlation = randomUUID()
    const answer = await get('/00000000-0000-4000-8000-000000000000/discovery/v2.0/keys', {
      'client-request-id': correlation,
    })
    expectEntraError(answer, 400, 'invalid_tenant', 90002)
    expect(answer.body.correlation_id).toBe(correlation)
  })

  it('serves instance discovery metadata, 404 elsewhere, and GET only on documents', async () => {
    const host = new URL(emulator.httpOrigin as string).host
    const discover = (authority: string) =>
      get(
        `/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(`${authority}/oauth2/v2.0/authorize`)}`,
      )
    const instance = await discover(`${emulator.instance}/${TENANT}`)
    expect(instance.body).toEqual({
      tenant_discovery_endpoint: `${emulator.httpOrigin}/${TENANT}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    })
    expect((await discover(`${emulator.httpOrigin}/organizations`)).body).toMatchObject({
      tenant_discovery_endpoint: `${emulator.httpOrigin}/organizations/v2.0/.well-known/openid-configuration`,
    })
    // Entra ID answers invalid_instance for an authority on a host it does not serve.
    const port = new URL(emulator.instance).port
    for (const authority of [
      `https://login.contoso.test/${TENANT}`,
      `https://127.0.0.1/${TENANT}`,
      `http://127.0.0.1:${port}/${TENANT}`,
      `https://localhost:${port}/${TENANT}`,
    ]) {
      expectEntraError(await discover(authority), 400, 'invalid_instance', 50049)
    }
    expectEntraError(
      await get('/common/discovery/instance?authorization_endpoint=not-a-url'),
      400,
      'invalid_instance',
      50049,
    )
    expect((await get('/nothing/here')).status).toBe(404)
    const post = await fetch(`${emulator.httpOrigin}/${TENANT}/discovery/v2.0/keys`, {
      method: 'POST',
    })
    expect(post.status).toBe(405)
    expectEntraError(await get(`/${TENANT}/oauth2/v2.0/token`), 405, 'invalid_request', 900561)
  })
})

describe('client credentials grant', () => {
  it('issues a v2 app-only token for {resource}/.default that azureAd() accepts', async () => {
    const answer = await token(clientCredentials(daemon, 'api://data/.default'))
    expect(answer.body).toEqual({
      token_type: 'Bearer',
      expires_in: 3600,
      ext_expires_in: 3600,
      access_token: expect.any(String),
    })
    const jwt = accessToken(answer)
    expect(decodeProtectedHeader(jwt)).toEqual({
      typ: 'JWT',
      alg: 'RS256',
      x5t: emulator.signingKeyId,
      kid: emulator.signingKeyId,
    })
    const claims = decodeJwt(jwt)
    expect(Object.keys(claims).sort()).toEqual(
      ['aio', 'aud', 'azp', 'azpacr', 'exp', 'iat', 'idtyp', 'iss', 'nbf', 'oid', 'rh', 'roles']
        .concat(['sub', 'tid', 'uti', 'ver'])
        .sort(),
    )
    expect(claims).toMatchObject({
      aud: dataApi.clientId,
      iss: `${emulator.instance}/${TENANT}/v2.0`,
      azp: daemon.clientId,
      azpacr: '1',
      idtyp: 'app',
      oid: daemon.servicePrincipalId,
      sub: daemon.servicePrincipalId,
      roles: ['Data.Read.All'],
      tid: TENANT,
      ver: '2.0',
    })
    const auth = await validatorFor(dataApi).verify(jwt)
    expect(auth).toMatchObject({
      appOnly: true,
      roles: ['Data.Read.All'],
      scopes: [],
      tenantId: TENANT,
      clientId: daemon.clientId,
    })
  })

  it('issues a v1 token for an API that accepts v1, through either endpoint', async () => {
    const viaV2 = decodeJwt(
      accessToken(
        await token(clientCredentials(daemon, 'https://legacy.contoso.com/api/.default')),
      ),
    )
    expect(viaV2).toMatchObject({
      aud: 'https://legacy.contoso.com/api',
      iss: `https://sts.windows.net/${TENANT}/`,
      idp: `https://sts.windows.net/${TENANT}/`,
      appid: daemon.clientId,
      appidacr: '1',
      roles: ['Legacy.Read.All'],
      ver: '1.0',
    })
    const answer = await token(
      {
        grant_type: 'client_credentials',
        client_id: daemon.clientId,
        client_secret: daemon.secret as string,
        resource: legacyApi.clientId,
      },
      { version: 1 },
    )
    expect(answer.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: '3600',
      resource: legacyApi.clientId,
      expires_on: expect.stringMatching(/^\d+$/),
      not_before: expect.stringMatching(/^\d+$/),
    })
    const validator = validatorFor(legacyApi, {
      clientId: undefined,
      audience: [legacyApi.appIdUri as string, legacyApi.clientId],
    })
    for (const jwt of [
      accessToken(answer),
      accessToken(
        await token(clientCredentials(daemon, 'https://legacy.contoso.com/api/.default')),
      ),
    ]) {
      await expect(validator.verify(jwt)).resolves.toMatchObject({
        appOnly: true,
        roles: ['Legacy.Read.All'],
        clientId: daemon.clientId,
      })
    }
  })

  it('accepts client_secret_basic, at a tenant domain too', async () => {
    const basic = Buffer.from(`${daemon.clientId}:${encodeURIComponent(daemon.secret as string)}`)
    const answer = await token(
      { grant_type: 'client_credentials', scope: 'api://data/.default' },
      {
        tenant: 'contoso.onmicrosoft.com',
        headers: { authorization: `Basic ${basic.toString('base64')}` },
      },
    )
    expect(decodeJwt(accessToken(answer)).tid).toBe(TENANT)
  })

  it('refuses client credentials at /common and /organizations with AADSTS50059, as Entra ID does', async () => {
    for (const tenant of ['common', 'organizations', 'Organizations']) {
      for (const version of [1, 2] as const) {
        const form = clientCredentials(daemon, 'api://data/.default')
        expectEntraError(
          await token(version === 1 ? { ...form, resource: 'api://data' } : form, {
            tenant,
            version,
          }),
          400,
          'invalid_request',
          50059,
        )
      }
    }
  })

  it('gives a multi-tenant API tokens from the caller tenant, which allowedTenants filters', async () => {
    const jwt = accessToken(
      await token(clientCredentials(partner, 'api://data/.default'), { tenant: PARTNER_TENANT }),
    )
    expect(decodeJwt(jwt)).toMatchObject({
      tid: PARTNER_TENANT,
      iss: `${emulator.instance}/${PARTNER_TENANT}/v2.0`,
      oid: partner.servicePrincipalId,
    })
    const multi = (allowedTenants: string[]) =>
      validatorFor(dataApi, {
        ...emulator.azureAdOptions('organizations'),
        allowedTenants,
      })
    await expect(multi([TENANT]).verify(jwt)).rejects.toMatchObject({ reason: 'wrong_tenant' })
    await expect(multi([TENANT, PARTNER_TENANT]).verify(jwt)).resolves.toMatchObject({
      tenantId: PARTNER_TENANT,
      appOnly: true,
    })
    await expect(validatorFor(dataApi).verify(jwt)).rejects.toMatchObject({
      reason: 'wrong_issuer',
    })
    // A single-tenant app does not exist in another tenant.
    expectEntraError(
      await token(clientCredentials(daemon, 'api://data/.default'), { tenant: PARTNER_TENANT }),
      400,
      'unauthorized_client',
      700016,
    )
  })

  it('issues a token without roles when none are granted, which azureAd() refuses', async () => {
    const jwt = accessToken(await token(clientCredentials(idleApp, 'api://data/.default')))
    expect(decodeJwt(jwt).roles).toBeUndefined()
    await expect(validatorFor(dataApi).verify(jwt)).rejects.toMatchObject({
      reason: 'no_permissions',
    })
    expectEntraError(
      await token(clientCredentials(idleApp, `${strictApi.appIdUri}/.default`)),
      400,
      'invalid_grant',
      501051,
    )
  })

  it.each([
    ['no grant_type', { grant_type: '' }, 400, 'invalid_request', 900144],
    ['another grant', { grant_type: 'password' }, 400, 'unsupported_grant_type', 70003],
    ['no client_id', { client_id: '' }, 400, 'invalid_request', 900144],
    ['an unknown client', { client_id: randomUUID() }, 400, 'unauthorized_client', 700016],
    ['no credential', { client_secret: '' }, 401, 'invalid_client', 7000218],
    ['a wrong secret', { client_secret: 'wrong' }, 401, 'invalid_client', 7000215],
    ['a scope without /.default', { scope: 'api://data/Data.Read' }, 400, 'invalid_scope', 1002012],
    ['an unknown resource', { scope: 'api://nothing/.default' }, 400, 'invalid_resource', 500011],
    [
      'two resources',
      { scope: 'api://data/.default api://strict/.default' },
      400,
      'invalid_scope',
      28000,
    ],
  ] as const)('answers %s with its AADSTS error', async (_name, change, status, error, code) => {
    expectEntraError(
      await token({ ...clientCredentials(daemon, 'api://data/.default'), ...change }),
      status,
      error,
      code,
    )
  })

  it('refuses a request body over the size limit with 413', async () => {
    const big = { ...clientCredentials(daemon, 'api://data/.default'), padding: 'x'.repeat(70_000) }
    expectEntraError(await token(big), 413, 'invalid_request', 90023)
  })
})

describe('client assertion (certificate credential)', () => {
  it('accepts a PS256 assertion with x5t#S256, and an RS256 one with x5t', async () => {
    for (const alg of ['PS256', 'RS256'] as const) {
      const jwt = accessToken(await token(await clientAssertion(webCert, { alg })))
      expect(decodeJwt(jwt)).toMatchObject({ azp: webApi.clientId, azpacr: '2' })
    }
  })

  it('compares thumbprints as bytes, padded or not, and x5c certificates with or without line breaks', async () => {
    const sha1 = Buffer.from(webCert.thumbprint, 'hex').toString('base64')
    const sha256 = Buffer.from(webCert.thumbprintSha256, 'hex').toString('base64')
    const base64url = (text: string) => text.replace(/\+/g, '-').replace(/\//g, '_')
    // MSAL for Python 1.21: base64url with its '=' padding, and x5c copied out of the PEM lines.
    const pem = webCert.certificate.split('\n').slice(1, -2).join('\n')
    const headers = [
      { x5t: base64url(sha1) },
      { 'x5t#S256': base64url(sha256) },
      { x5t: base64url(sha1), x5c: [pem] },
      { 'x5t#S256': base64url(sha256).replace(/=+$/, ''), x5c: [pem.replace(/\n/g, '')] },
    ]
    expect(headers[0]?.x5t).toMatch(/=$/)
    expect(pem).toContain('\n')
    for (const header of headers) {
      const form = await clientAssertion(webCert, { header: { 'x5t#S256': undefined, ...header } })
      expect(decodeJwt(accessToken(await token(form)))).toMatchObject({ azp: webApi.clientId })
    }
    for (const header of [{ x5t: `${base64url(sha1)}==` }, { x5t: sha1.replace(/=$/, '!') }]) {
      const form = await clientAssertion(webCert, { header: { 'x5t#S256': undefined, ...header } })
      expectEntraError(await token(form), 401, 'invalid_client', 700027)
    }
  })

  it('refuses assertions that do not hold, with AADSTS700027, 700024 or 700021', async () => {
    const stranger = await createCertificate({ commonName: 'stranger', keyType: 'rsa' })
    const now = Math.floor(Date.now() / 1000)
    const cases: [Promise<Record<string, string>>, number][] = [
      [clientAssertion(webCert, { aud: 'https://elsewhere.example/token' }), 700027],
      [clientAssertion(stranger), 700027],
      [clientAssertion(webCert, { header: { x5c: [stranger.der.toString('base64')] } }), 700027],
      [clientAssertion(webCert, { exp: now - 3600 }), 700024],
      [clientAssertion(webCert, { iss: daemon.clientId }), 700021],
    ]
    for (const [form, code] of cases) {
      expectEntraError(await token(await form), 401, 'invalid_client', code)
    }
    const good = await clientAssertion(webCert)
    const [head, body, signature] = (good.client_assertion as string).split('.') as [
      string,
      string,
      string,
    ]
    const flipped = `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`
    expectEntraError(
      await token({ ...good, client_assertion: `${head}.${body}.${flipped}` }),
      401,
      'invalid_client',
      700027,
    )
    expectEntraError(
      await token({ ...good, client_assertion_type: 'bearer' }),
      401,
      'invalid_client',
      700027,
    )
  })
})

describe('On-Behalf-Of grant', () => {
  it("exchanges a user's token for the downstream API, with the user's identity and consented scp", async () => {
    const incoming = emulator.mint({ resource: webApi, scopes: ['Web.Access'] })
    const answer = await token({
      ...onBehalfOf(incoming, 'api://data/Data.Read openid profile offline_access'),
      client_info: '1',
    })
    const jwt = accessToken(answer)
    expect(answer.body).toMatchObject({
      token_type: 'Bearer',
      scope: 'api://data/Data.Read',
      client_info: Buffer.from(
        JSON.stringify({ uid: emulator.defaultUser.oid, utid: TENANT }),
      ).toString('base64url'),
    })
    const claims = decodeJwt(jwt)
    expect(claims).toMatchObject({
      aud: dataApi.clientId,
      azp: webApi.clientId,
      azpacr: '1',
      name: 'Ada Lovelace',
      oid: emulator.defaultUser.oid,
      preferred_username: 'ada.lovelace@contoso.onmicrosoft.com',
      scp: 'Data.Read',
      tid: TENANT,
      ver: '2.0',
    })
    expect(claims.idtyp).toBeUndefined()
    // `sub` is pairwise: the same user has another subject for another app.
    expect(claims.sub).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(claims.sub).not.toBe(decodeJwt(incoming).sub)
    const auth = await validatorFor(dataApi).verify(jwt)
    expect(auth).toMatchObject({
      appOnly: false,
      scopes: ['Data.Read'],
      roles: [],
      tenantId: TENANT,
      clientId: webApi.clientId,
    })
  })

  it('grants every consented scope for /.default, and consents per user', async () => {
    const ada = emulator.mint({ resource: webApi, scopes: ['Web.Access'] })
    const graceToken = emulator.mint({ resource: webApi, user: grace, scopes: ['Web.Access'] })
    expect(decodeJwt(accessToken(await token(onBehalfOf(ada, 'api://data/.default')))).scp).toBe(
      'Data.Read',
    )
    const forGrace = decodeJwt(
      accessToken(await token(onBehalfOf(graceToken, 'api://data/.default'))),
    )
    expect(forGrace).toMatchObject({
      scp: 'Data.Read Data.Write',
      oid: grace.oid,
      name: 'Grace Hopper',
    })
    expectEntraError(
      await token(onBehalfOf(ada, 'api://data/Data.Write')),
      400,
      'invalid_grant',
      65001,
    )
  })

  it('issues v1 tokens for a v1 API, through the v1 endpoint and resource too', async () => {
    const incoming = emulator.mint({ resource: webApi, scopes: ['Web.Access'] })
    const { scope: _scope, ...form } = onBehalfOf(incoming, '')
    const answer = await token(
      { ...form, resource: 'https://legacy.contoso.com/api' },
      { version: 1 },
    )
    expect(decodeJwt(accessToken(answer))).toMatchObject({
      aud: 'https://legacy.contoso.com/api',
      iss: `https://sts.windows.net/${TENANT}/`,
      appid: webApi.clientId,
      scp: 'Legacy.Read',
      upn: 'ada.lovelace@contoso.onmicrosoft.com',
      given_name: 'Ada',
      family_name: 'Lovelace',
      ver: '1.0',
    })
  })

  it('refuses bad assertions with AADSTS50013, 500133 and 50027', async () => {
    const now = Math.floor(Date.now() / 1000)
    const good = emulator.mint({ resource: webApi, scopes: ['Web.Access'] })
    const [head, body, signature] = good.split('.') as [string, string, string]
    const cases: [string, number, string][] = [
      [
        emulator.mint({ resource: webApi, scopes: ['Web.Access'], issuedAt: now - 7200 }),
        500133,
        'invalid_grant',
      ],
      [emulator.mint({ resource: dataApi, scopes: ['Data.Read'] }), 50013, 'invalid_grant'],
      [
        emulator.mint({ resource: webApi, scopes: ['Web.Access'], header: { kid: 'gone' } }),
        50013,
        'invalid_grant',
      ],
      [
        `${head}.${body}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`,
        50013,
        'invalid_grant',
      ],
      [emulator.mint({ resource: webApi, roles: ['Web.All'] }), 50013, 'invalid_grant'],
      [
        emulator.mint({ resource: webApi, scopes: ['Web.Access'], tenant: PARTNER_TENANT }),
        50013,
        'invalid_grant',
      ],
      ['not-a-jwt', 50027, 'invalid_request'],
    ]
    for (const [assertion, code, error] of cases) {
      expectEntraError(await token(onBehalfOf(assertion, 'api://data/Data.Read')), 400, error, code)
    }
    const audience = await token(
      onBehalfOf(
        emulator.mint({ resource: dataApi, scopes: ['Data.Read'] }),
        'api://data/Data.Read',
      ),
    )
    expect(audience.body.error_description).toContain(
      `The audience in the assertion was '${dataApi.clientId}' and the expected audience is '${webApi.clientId}'`,
    )
  })

  it('refuses scopes the API does not expose, or that no one consented', async () => {
    const incoming = emulator.mint({ resource: webApi, scopes: ['Web.Access'] })
    expectEntraError(
      await token(onBehalfOf(incoming, 'api://data/Data.Delete')),
      400,
      'invalid_scope',
      70011,
    )
    expectEntraError(
      await token(onBehalfOf(incoming, 'api://strict/.default')),
      400,
      'invalid_grant',
      65001,
    )
    const { requested_token_use: _use, ...withoutUse } = onBehalfOf(
      incoming,
      'api://data/Data.Read',
    )
    expectEntraError(await token(withoutUse), 400, 'invalid_request', 900144)
  })
})

describe('mint', () => {
  it('mints app-only and delegated tokens, v1 and v2, that azureAd() reads right', async () => {
    const validator = validatorFor(dataApi)
    await expect(
      validator.verify(
        emulator.mint({ resource: dataApi, client: daemon, roles: ['Data.Read.All'] }),
      ),
    ).resolves.toMatchObject({ appOnly: true, roles: ['Data.Read.All'], clientId: daemon.clientId })
    // v1 tokens name the API by its App ID URI, which the default audiences do not include.
    const v1Validator = validatorFor(dataApi, { audience: [dataApi.clientId, 'api://data'] })
    await expect(
      v1Validator.verify(emulator.mint({ resource: dataApi, scopes: ['Data.Read'], version: 1 })),
    ).resolves.toMatchObject({
      appOnly: false,
      scopes: ['Data.Read'],
      clientId: emulator.defaultClient.clientId,
      tenantId: TENANT,
      audience: ['api://data'],
    })
    const v1 = decodeJwt(emulator.mint({ resource: dataApi, user: grace, version: 1 }))
    expect(v1).toMatchObject({
      aud: 'api://data',
      appid: emulator.defaultClient.clientId,
      unique_name: grace.username,
      amr: ['pwd'],
      ver: '1.0',
    })
    expect(v1.scp).toBeUndefined()
  })

  it('overrides any claim or header member, and removes those set to undefined', async () => {
    const jwt = emulator.mint({
      resource: 'https://graph.microsoft.com',
      scopes: ['User.Read'],
      claims: { aio: undefined, rh: undefined, xms_cc: ['cp1'], name: 'Someone Else' },
      header: { typ: undefined, x5t: undefined },
    })
    const claims = decodeJwt(jwt)
    expect(claims).toMatchObject({
      aud: 'https://graph.microsoft.com',
      xms_cc: ['cp1'],
      name: 'Someone Else',
    })
    expect('aio' in claims || 'rh' in claims).toBe(false)
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'RS256', kid: emulator.signingKeyId })
    const error = await validatorFor(dataApi)
      .verify(jwt)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidTokenError)
    expect(error).toMatchObject({ reason: 'wrong_audience' })
    const expired = emulator.mint({
      resource: dataApi,
      roles: ['Data.Read.All'],
      issuedAt: Math.floor(Date.now() / 1000) - 7200,
    })
    await expect(validatorFor(dataApi).verify(expired)).rejects.toMatchObject({ reason: 'expired' })
  })

  it('refuses unknown options and users it does not know', () => {
    expect(() => emulator.mint({ resource: dataApi, scope: ['x'] } as never)).toThrow(
      /unknown mint option "scope"/,
    )
    expect(() =>
      emulator.mint({ resource: dataApi, user: { ...grace, oid: randomUUID() } }),
    ).toThrow(/"user"/)
    expect(() => emulator.mint({ resource: dataApi, tenant: 'elsewhere.com' })).toThrow(/hosts/)
  })
})

describe('key rotation and JWKS faults', () => {
  let faulty: EntraEmulator
  let api: AppRegistration

  beforeAll(async () => {
    faulty = await startEntraEmulator({ http: true })
    api = faulty.registerApp({ name: 'API', appRoles: ['Read.All'] })
  })
  afterAll(async () => {
    await faulty.close()
  })

  const validator = (options: Partial<AzureAdOptions> = {}) =>
    createValidator(
      azureAd({
        ...faulty.azureAdOptions(),
        clientId: api.clientId,
        cooldownDuration: 0,
        tokenCache: false,
        timeoutDuration: 300,
        ...options,
      }),
    )
  const mint = () => faulty.mint({ resource: api, roles: ['Read.All'] })

  it('rotates keys: new tokens verify after a refetch, old ones until their key is dropped', async () => {
    const checker = validator()
    const before = mint()
    await expect(checker.verify(before)).resolves.toBeDefined()
    const firstKid = faulty.signingKeyId
    const secondKid = await faulty.rotateKeys()
    expect(secondKid).not.toBe(firstKid)
    const after = mint()
    expect(decodeProtectedHeader(after).kid).toBe(secondKid)
    await expect(checker.verify(after)).resolves.toBeDefined()
    await expect(checker.verify(before)).resolves.toBeDefined()
    await faulty.rotateKeys({ keepPrevious: false })
    await expect(checker.verify(mint())).resolves.toBeDefined()
    await expect(checker.verify(before)).rejects.toMatchObject({ reason: 'unknown_key' })
    const published = await fetch(faulty.jwksUri()).then(
      (r) => r.json() as Promise<{ keys: unknown[] }>,
    )
    expect(published.keys).toHaveLength(1)
  })

  it.each(['down', 'garbage', 'slow'] as const)(
    'a validator without cached keys answers 503 when the JWKS is %s',
    async (mode) => {
      faulty.setJwksMode(mode, { delay: 2_000 })
      try {
        const hits = faulty.requestCounts.jwks
        const started = Date.now()
        await expect(validator().verify(mint())).rejects.toBeInstanceOf(KeysUnavailableError)
        expect(Date.now() - started).toBeLessThan(1_500)
        expect(faulty.requestCounts.jwks).toBe(hits + 1)
      } finally {
        faulty.setJwksMode('ok')
      }
    },
  )

  it('a validator keeps its last known good keys through an outage', async () => {
    const checker = validator()
    await checker.warmUp()
    faulty.setJwksMode('down')
    try {
      await expect(checker.verify(mint())).resolves.toMatchObject({ appOnly: true })
    } finally {
      faulty.setJwksMode('ok')
    }
  })

  it('close() ends a request held by slow mode at once', async () => {
    const other = await startEntraEmulator({ http: true })
    other.setJwksMode('slow', { delay: 20_000 })
    const pending = fetch(other.jwksUri()).then(
      () => 'answered',
      () => 'aborted',
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    const started = Date.now()
    await other.close()
    await expect(pending).resolves.toBe('aborted')
    expect(Date.now() - started).toBeLessThan(1_000)
  })
})

describe('networkClient', () => {
  it('reaches only the emulator', async () => {
    await expect(
      emulator.networkClient.sendGetRequestAsync(
        'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
      ),
    ).rejects.toThrow(/reaches only the emulator/)
  })
})
