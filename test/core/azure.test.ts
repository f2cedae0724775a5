import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  azureAd,
  createValidator,
  InvalidTokenError,
  KeysUnavailableError,
  requireScopes,
  requireScopesOrRoles,
  type ValidatorOptions,
} from '../../src/index.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { ecKey, rsaKey } from '../helpers/keys.js'
import { mintToken, NOW } from '../helpers/tokens.js'

// Claim sets modelled on Microsoft's documented access-token claims (v1.0 and v2.0).
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const OTHER_TENANT = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a'
const CLIENT_ID = '6e74172b-be56-4843-9ff4-e66a39bb12e3' // the protected API
const DAEMON_ID = '2d4d11a2-f814-46a7-890a-274a72a7309e' // a calling application
const USER_OID = '690222be-ff1a-4d56-abd1-7e4f7d38e474'
const SP_OID = 'c6c8a8b9-3b6e-4a8c-9b0a-2f1e5d7c3a11'

let server: JwksServer
let instance: string

const v2Issuer = (tid = TENANT) => `${instance}/${tid}/v2.0`
const v1Issuer = (tid = TENANT) => `https://sts.windows.net/${tid}/`

function v2Delegated(extra: Record<string, unknown> = {}) {
  return {
    aud: CLIENT_ID,
    iss: v2Issuer(),
    iat: NOW,
    nbf: NOW,
    exp: NOW + 3600,
    aio: 'AXQAi/8TAAAA',
    azp: DAEMON_ID,
    azpacr: '1',
    name: 'Abe Lincoln',
    oid: USER_OID,
    preferred_username: 'abeli@microsoft.com',
    rh: 'I',
    scp: 'Files.Read Data.Read',
    sub: 'HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ',
    tid: TENANT,
    uti: 'fqiBqXLPj0eQa82S-IYFAA',
    ver: '2.0',
    ...extra,
  }
}

function v2AppOnly(extra: Record<string, unknown> = {}) {
  return {
    aud: CLIENT_ID,
    iss: v2Issuer(),
    iat: NOW,
    nbf: NOW,
    exp: NOW + 3600,
    aio: 'E2ZgYJg',
    azp: DAEMON_ID,
    azpacr: '1',
    idtyp: 'app',
    oid: SP_OID,
    rh: 'I',
    roles: ['Data.Read.All'],
    sub: SP_OID,
    tid: TENANT,
    uti: 'Vd1lFxyz',
    ver: '2.0',
    ...extra,
  }
}

function v1Delegated(extra: Record<string, unknown> = {}) {
  return {
    aud: `api://${CLIENT_ID}`,
    iss: v1Issuer(),
    iat: NOW,
    nbf: NOW,
    exp: NOW + 3600,
    acr: '1',
    aio: 'Y2NgYEh',
    amr: ['pwd'],
    appid: DAEMON_ID,
    appidacr: '1',
    family_name: 'Lincoln',
    given_name: 'Abe',
    ipaddr: '192.0.2.10',
    name: 'Abe Lincoln',
    oid: USER_OID,
    rh: 'I',
    scp: 'Files.Read',
    sub: 'l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA',
    tid: TENANT,
    unique_name: 'abeli@microsoft.com',
    upn: 'abeli@microsoft.com',
    uti: 'fqiBqXLPj0eQa82S-IYFAA',
    ver: '1.0',
    ...extra,
  }
}

function v1AppOnly(extra: Record<string, unknown> = {}) {
  return {
    aud: `api://${CLIENT_ID}`,
    iss: v1Issuer(),
    iat: NOW,
    nbf: NOW,
    exp: NOW + 3600,
    aio: 'E2ZgYJg',
    appid: DAEMON_ID,
    appidacr: '1',
    idp: v1Issuer(),
    oid: SP_OID,
    rh: 'I',
    roles: ['Data.Read.All'],
    sub: SP_OID,
    tid: TENANT,
    uti: 'Vd1lFxyz',
    ver: '1.0',
    ...extra,
  }
}

function entraKeys(issuer: string) {
  return {
    keys: [
      { ...rsaKey.publicJwk, issuer },
      { ...ecKey.publicJwk, issuer },
    ],
  }
}

function validatorFor(options: Partial<Parameters<typeof azureAd>[0]> = {}) {
  return createValidator(
    azureAd({ tenant: TENANT, clientId: CLIENT_ID, instance, jwksUri: server.jwksUri, ...options }),
  )
}

const mint = (claims: Record<string, unknown>) =>
  mintToken({ claims: { scp: undefined, azp: undefined, ...claims } })

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  server = await startJwksServer()
  instance = server.origin
})
beforeEach(() => {
  server.setMode('ok')
  server.setKeys(entraKeys(`${instance}/{tenantid}/v2.0`))
})
afterAll(async () => {
  vi.useRealTimers()
  await server.close()
})

describe('azureAd option checks', () => {
  it('requires allowedTenants for a multi-tenant API', () => {
    expect(() => azureAd({ tenant: 'organizations', clientId: CLIENT_ID })).toThrow(
      /"allowedTenants" option is required/,
    )
    expect(() => azureAd({ tenant: 'common', clientId: CLIENT_ID })).toThrow(TypeError)
  })

  it('refuses allowedTenants for a single-tenant API and bad tenant values', () => {
    expect(() =>
      azureAd({ tenant: TENANT, clientId: CLIENT_ID, allowedTenants: [TENANT] }),
    ).toThrow(TypeError)
    expect(() => azureAd({ tenant: 'not a tenant', clientId: CLIENT_ID })).toThrow(/"tenant"/)
    expect(() =>
      azureAd({ tenant: 'organizations', clientId: CLIENT_ID, allowedTenants: ['contoso.com'] }),
    ).toThrow(/"allowedTenants"/)
  })

  it('needs a clientId or audience, and a GUID clientId', () => {
    expect(() => azureAd({ tenant: TENANT })).toThrow(/"clientId" or "audience"/)
    expect(() => azureAd({ tenant: TENANT, clientId: 'orders' })).toThrow(/"clientId"/)
  })

  it('accepts the client id and the App ID URI by default, and an explicit list as given', () => {
    expect(azureAd({ tenant: TENANT, clientId: CLIENT_ID }).audience).toEqual([
      CLIENT_ID,
      `api://${CLIENT_ID}`,
    ])
    expect(azureAd({ tenant: TENANT, audience: `api://${CLIENT_ID}` }).audience).toEqual([
      `api://${CLIENT_ID}`,
      CLIENT_ID,
    ])
    expect(azureAd({ tenant: TENANT, audience: ['api://orders'] }).audience).toEqual([
      'api://orders',
    ])
  })

  it('points at the tenant keys of the chosen cloud', () => {
    expect(azureAd({ tenant: TENANT, clientId: CLIENT_ID }).jwksUri).toBe(
      `https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`,
    )
    expect(azureAd({ tenant: TENANT, clientId: CLIENT_ID, cloud: 'usgovernment' }).jwksUri).toBe(
      `https://login.microsoftonline.us/${TENANT}/discovery/v2.0/keys`,
    )
    expect(azureAd({ tenant: TENANT, clientId: CLIENT_ID, cloud: 'china' }).jwksUri).toBe(
      // Microsoft's national-cloud page: China's Entra endpoint is login.partner.microsoftonline.cn.
      `https://login.partner.microsoftonline.cn/${TENANT}/discovery/v2.0/keys`,
    )
  })

  it('passes other validator options through and keeps unknown-option checking', () => {
    const options = azureAd({ tenant: TENANT, clientId: CLIENT_ID, clockTolerance: 5 })
    expect(options.clockTolerance).toBe(5)
    expect(() =>
      createValidator({ ...options, audiance: 'x' } as unknown as ValidatorOptions),
    ).toThrow(/unknown option "audiance"/)
  })
})

describe('azureAd: the four token shapes', () => {
  it('accepts a v2 delegated token with its scopes, tenant and client', async () => {
    const auth = await validatorFor().verify(await mint(v2Delegated()))
    expect(auth).toMatchObject({
      tenantId: TENANT,
      clientId: DAEMON_ID,
      appOnly: false,
      scopes: ['Files.Read', 'Data.Read'],
      roles: [],
    })
  })

  it('accepts a v2 app-only token with its application permissions', async () => {
    const auth = await validatorFor().verify(await mint(v2AppOnly()))
    expect(auth).toMatchObject({ appOnly: true, roles: ['Data.Read.All'], scopes: [] })
  })

  it('accepts a v1 delegated token (App ID URI audience, appid)', async () => {
    const auth = await validatorFor().verify(await mint(v1Delegated()))
    expect(auth).toMatchObject({ clientId: DAEMON_ID, appOnly: false, scopes: ['Files.Read'] })
  })

  it('accepts a v1 app-only token and tells it app-only by oid equal to sub', async () => {
    const auth = await validatorFor().verify(await mint(v1AppOnly()))
    expect(auth).toMatchObject({ clientId: DAEMON_ID, appOnly: true, roles: ['Data.Read.All'] })
  })

  it('narrows accepted versions with tokenVersions and explains the mismatch', async () => {
    const validator = validatorFor({ tokenVersions: ['2.0'] })
    await expect(validator.verify(await mint(v2Delegated()))).resolves.toBeDefined()
    const error = await validator.verify(await mint(v1Delegated())).catch((e) => e)
    expect(error).toBeInstanceOf(InvalidTokenError)
    expect(error.reason).toBe('wrong_issuer')
    expect(error.message).toMatch(/v1\.0 token.*v2\.0 tokens only/)
  })

  it('rejects a token whose ver disagrees with its issuer form', async () => {
    await expect(
      validatorFor().verify(await mint(v2Delegated({ ver: '1.0' }))),
    ).rejects.toMatchObject({ status: 401, reason: 'wrong_issuer' })
  })
})

describe('azureAd: issuers and tenants', () => {
  it('rejects a token of another tenant for a single-tenant API', async () => {
    const token = await mint(v2Delegated({ iss: v2Issuer(OTHER_TENANT), tid: OTHER_TENANT }))
    const error = await validatorFor()
      .verify(token)
      .catch((e) => e)
    expect(error).toMatchObject({ status: 401, reason: 'wrong_issuer' })
    expect(error.message).toBe('the token comes from another tenant than this API accepts')
  })

  it('rejects an iss that names one tenant while tid names another', async () => {
    const token = await mint(v2Delegated({ tid: OTHER_TENANT }))
    const error = await validatorFor()
      .verify(token)
      .catch((e) => e)
    expect(error.reason).toBe('wrong_issuer')
    expect(error.message).toMatch(/different tenant than its tid/)
  })

  it('multi-tenant: accepts allowed tenants only, with iss matching the token tid', async () => {
    const validator = validatorFor({ tenant: 'organizations', allowedTenants: [TENANT] })
    await expect(validator.verify(await mint(v2AppOnly()))).resolves.toMatchObject({
      tenantId: TENANT,
    })
    const other = await mint(v2AppOnly({ iss: v2Issuer(OTHER_TENANT), tid: OTHER_TENANT }))
    const error = await validator.verify(other).catch((e) => e)
    expect(error).toMatchObject({ status: 401, reason: 'wrong_tenant' })
    expect(error.headers['WWW-Authenticate']).toBe(
      'Bearer realm="api", error="invalid_token", error_description="the token comes from a tenant that is not allowed to call this API"',
    )
    const mixed = await mint(v2AppOnly({ iss: v2Issuer(OTHER_TENANT), tid: TENANT }))
    await expect(validator.verify(mixed)).rejects.toMatchObject({ reason: 'wrong_issuer' })
  })

  it("multi-tenant with '*' accepts any tenant whose iss matches its tid, never a non-GUID tid", async () => {
    const validator = validatorFor({ tenant: 'common', allowedTenants: '*' })
    const other = await mint(v1AppOnly({ iss: v1Issuer(OTHER_TENANT), tid: OTHER_TENANT }))
    await expect(validator.verify(other)).resolves.toMatchObject({ tenantId: OTHER_TENANT })
    const bad = await mint(v2AppOnly({ iss: `${instance}/x/v2.0`, tid: 'x' }))
    await expect(validator.verify(bad)).rejects.toMatchObject({ reason: 'wrong_issuer' })
  })

  it('checks the issuer of the signing key against the token', async () => {
    server.setKeys(entraKeys(`${instance}/${OTHER_TENANT}/v2.0`))
    const validator = validatorFor()
    const error = await validator.verify(await mint(v2Delegated())).catch((e) => e)
    expect(error).toMatchObject({ status: 401, reason: 'wrong_issuer' })
  })

  it('accepts a v1 token signed by a key whose issuer is the v2 form of the same tenant', async () => {
    server.setKeys(entraKeys(`${instance}/${TENANT}/v2.0`))
    await expect(validatorFor().verify(await mint(v1AppOnly()))).resolves.toBeDefined()
  })

  it('resolves a verified domain to the tenant id once, through discovery', async () => {
    const paths: string[] = []
    const discovery = createServer((req, res) => {
      paths.push(req.url ?? '')
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ issuer: `${origin}/${TENANT}/v2.0` }))
    })
    await new Promise<void>((resolve) => discovery.listen(0, '127.0.0.1', resolve))
    const origin = `http://127.0.0.1:${(discovery.address() as AddressInfo).port}`
    server.setKeys(entraKeys(`${origin}/{tenantid}/v2.0`))
    try {
      const validator = createValidator(
        azureAd({
          tenant: 'contoso.onmicrosoft.com',
          clientId: CLIENT_ID,
          instance: origin,
          jwksUri: server.jwksUri,
        }),
      )
      const own = await mint(v2Delegated({ iss: `${origin}/${TENANT}/v2.0` }))
      const results = await Promise.all([validator.verify(own), validator.verify(own)])
      expect(results[0].tenantId).toBe(TENANT)
      await validator.verify(own)
      expect(paths).toEqual(['/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration'])
      const foreign = await mint(
        v2Delegated({ iss: `${origin}/${OTHER_TENANT}/v2.0`, tid: OTHER_TENANT }),
      )
      await expect(validator.verify(foreign)).rejects.toMatchObject({ reason: 'wrong_issuer' })
    } finally {
      discovery.closeAllConnections()
      await new Promise((resolve) => discovery.close(resolve))
    }
  })

  it('answers 503 while a verified domain cannot be resolved', async () => {
    const validator = createValidator(
      azureAd({
        tenant: 'contoso.onmicrosoft.com',
        clientId: CLIENT_ID,
        instance: 'http://127.0.0.1:9',
        jwksUri: server.jwksUri,
        timeoutDuration: 500,
      }),
    )
    const token = await mint(v2Delegated({ iss: `http://127.0.0.1:9/${TENANT}/v2.0` }))
    const error = await validator.verify(token).catch((e) => e)
    expect(error).toBeInstanceOf(KeysUnavailableError)
    expect(error.headers['Retry-After']).toBe('1')
  })
})

describe('azureAd: audiences, permissions and hints', () => {
  it('explains a Microsoft Graph token sent to the API', async () => {
    const token = await mint(v2Delegated({ aud: '00000003-0000-0000-c000-000000000000' }))
    const error = await validatorFor()
      .verify(token)
      .catch((e) => e)
    expect(error.reason).toBe('wrong_audience')
    expect(error.message).toMatch(/for Microsoft Graph, not this API/)
  })

  it('explains an ID token sent to the API', async () => {
    const token = await mint(v2Delegated({ aud: DAEMON_ID, nonce: 'abc', scp: undefined }))
    const error = await validatorFor()
      .verify(token)
      .catch((e) => e)
    expect(error.message).toBe(
      'the token looks like an ID token: send an access token issued for this API',
    )
  })

  it('explains a v1 App ID URI audience when only the client id is accepted', async () => {
    const validator = validatorFor({ clientId: undefined, audience: [CLIENT_ID] })
    const error = await validator.verify(await mint(v1Delegated())).catch((e) => e)
    expect(error.message).toMatch(/App ID URI \(usual in v1 tokens\)/)
  })

  it('rejects a token with neither scp nor roles unless requirePermissions is false', async () => {
    const bare = await mint(v2AppOnly({ roles: undefined }))
    const error = await validatorFor()
      .verify(bare)
      .catch((e) => e)
    expect(error).toMatchObject({ status: 401, reason: 'no_permissions' })
    await expect(
      validatorFor({ requirePermissions: false, allowedClients: [DAEMON_ID] }).verify(bare),
    ).resolves.toMatchObject({ appOnly: true })
  })

  it('allowedClients limits the calling applications (azp in v2, appid in v1)', async () => {
    const validator = validatorFor({ allowedClients: [DAEMON_ID] })
    await expect(validator.verify(await mint(v1AppOnly()))).resolves.toBeDefined()
    await expect(validator.verify(await mint(v2AppOnly({ azp: CLIENT_ID })))).rejects.toMatchObject(
      { reason: 'wrong_client' },
    )
  })

  it('requireScopesOrRoles: delegated passes on a scope, app-only on a permission, never crossed', async () => {
    const validator = validatorFor()
    const guard = requireScopesOrRoles('Data.Read', 'Data.Read.All')
    expect(() => guard(undefined)).toThrow(/Authentication required/)
    const delegated = await validator.verify(await mint(v2Delegated()))
    const appOnly = await validator.verify(await mint(v2AppOnly()))
    expect(() => guard(delegated)).not.toThrow()
    expect(() => guard(appOnly)).not.toThrow()
    // A scope name sitting in an app-only token's roles does not pass as a scope...
    const sneaky = await validator.verify(await mint(v2AppOnly({ roles: ['Data.Read'] })))
    expect(() => guard(sneaky)).toThrow(expect.objectContaining({ status: 403 }))
    // ...and a delegated token does not pass on a role the user holds.
    const userWithRole = await validator.verify(
      await mint(v2Delegated({ scp: 'Files.Read', roles: ['Data.Read.All'] })),
    )
    expect(() => guard(userWithRole)).toThrow(expect.objectContaining({ status: 403 }))
  })

  it('a scope guard given the api://{clientId}/name form matches the bare name in scp', async () => {
    const auth = await validatorFor().verify(await mint(v2Delegated()))
    expect(() => requireScopes(`api://${CLIENT_ID}/Files.Read`)(auth)).not.toThrow()
    expect(() => requireScopes(`api://${CLIENT_ID}/Files.Write`)(auth)).toThrow(
      expect.objectContaining({ status: 403 }),
    )
  })
})
