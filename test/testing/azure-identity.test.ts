/**
 * The emulator proven with `@azure/identity`, the credentials Azure SDK applications use:
 * ClientSecretCredential, ClientCertificateCredential (PEM with its key, with and without the
 * chain) and OnBehalfOfCredential (secret and certificate) get tokens with nothing but
 * `emulator.azureIdentityOptions()`, and a bearer-guard API answers each token 200, 403 or 401.
 * Entra ID's errors reach the caller as @azure/identity surfaces them from the real service: an
 * AuthenticationRequiredError whose `cause` is MSAL's error with the AADSTS code and error name.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AuthenticationRequiredError,
  ClientCertificateCredential,
  ClientSecretCredential,
  OnBehalfOfCredential,
  type TokenCredential,
} from '@azure/identity'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type AppRegistration,
  type Certificate,
  createCertificate,
  type EntraEmulator,
  startEntraEmulator,
} from '../../src/testing/index.js'
import { type ProtectedApi, startProtectedApi } from './protected-api.js'

let emulator: EntraEmulator
let api: ProtectedApi
let dataApi: AppRegistration
let webApi: AppRegistration
let daemon: AppRegistration
let certDaemon: AppRegistration
let daemonCert: Certificate
let chainedCert: Certificate
let clientCa: Certificate
let webCert: Certificate
let files: string

beforeAll(async () => {
  ;[emulator, clientCa, daemonCert, webCert] = await Promise.all([
    startEntraEmulator({ http: true }),
    createCertificate({ commonName: 'client CA', certificateAuthority: true }),
    createCertificate({ commonName: 'cert-daemon', keyType: 'rsa' }),
    createCertificate({ commonName: 'web-api', keyType: 'rsa' }),
  ])
  chainedCert = await createCertificate({
    commonName: 'cert-daemon (CA-issued)',
    keyType: 'rsa',
    issuer: clientCa,
  })
  dataApi = emulator.registerApp({
    name: 'Data API',
    appIdUri: 'api://data',
    scopes: ['Data.Read', 'Data.Write'],
    appRoles: ['Data.Read.All'],
  })
  const otherApi = emulator.registerApp({
    name: 'Other API',
    appIdUri: 'api://other',
    appRoles: ['Other.All'],
  })
  webApi = emulator.registerApp({
    name: 'Web API',
    appIdUri: 'api://web',
    scopes: ['Web.Access'],
    secret: true,
    certificates: [webCert],
    delegatedPermissions: [{ resource: dataApi, scopes: ['Data.Read'] }],
  })
  daemon = emulator.registerApp({
    name: 'Daemon',
    secret: true,
    applicationPermissions: [
      { resource: dataApi, roles: ['Data.Read.All'] },
      { resource: otherApi, roles: ['Other.All'] },
    ],
  })
  certDaemon = emulator.registerApp({
    name: 'Certificate daemon',
    certificates: [daemonCert, chainedCert],
    applicationPermissions: [{ resource: dataApi, roles: ['Data.Read.All'] }],
  })
  api = await startProtectedApi(emulator, dataApi)
  files = await mkdtemp(join(tmpdir(), 'bearer-guard-identity-'))
  // @azure/identity reads certificates as PEM with the private key: from a string or a file.
  await writeFile(
    join(files, 'chained.pem'),
    chainedCert.privateKey + chainedCert.certificate + clientCa.certificate,
  )
  await writeFile(join(files, 'web.pem'), webCert.privateKey + webCert.certificate)
})

afterAll(async () => {
  await Promise.all([api?.close(), emulator?.close(), files && rm(files, { recursive: true })])
})

async function tokenFrom(credential: TokenCredential, scope: string): Promise<string> {
  const result = await credential.getToken(scope)
  expect(result?.token).toEqual(expect.any(String))
  return result?.token as string
}

/** The MSAL error @azure/identity carries as `cause`, after checking the wrapper. */
async function failure(
  credential: TokenCredential,
  scope: string,
): Promise<Record<string, unknown>> {
  const error = await credential.getToken(scope).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AuthenticationRequiredError)
  return (error as Error).cause as Record<string, unknown>
}

function secretCredential(clientId: string, secret: string, tenant = emulator.tenantId) {
  return new ClientSecretCredential(tenant, clientId, secret, emulator.azureIdentityOptions())
}

function userToken(issuedAt?: number): string {
  return emulator.mint({ resource: webApi, scopes: ['Web.Access'], issuedAt })
}

describe('ClientSecretCredential', () => {
  it('gets an app-only token, by tenant id or domain, that the API answers 200, 403 and 401', async () => {
    for (const tenant of [emulator.tenantId, 'contoso.onmicrosoft.com']) {
      const credential = secretCredential(daemon.clientId, daemon.secret as string, tenant)
      const token = await tokenFrom(credential, 'api://data/.default')
      expect(await api.call('/orders', token)).toEqual({ status: 200, challenge: null })
      expect(await api.call('/profile', token)).toMatchObject({
        status: 403,
        challenge: expect.stringContaining('error="insufficient_scope"'),
      })
    }
    const elsewhere = await tokenFrom(
      secretCredential(daemon.clientId, daemon.secret as string),
      'api://other/.default',
    )
    expect(await api.call('/orders', elsewhere)).toMatchObject({
      status: 401,
      challenge: expect.stringContaining('error="invalid_token"'),
    })
  })

  it('surfaces AADSTS7000215 for a wrong secret, 700016 for an unknown client, 500011 for an unknown API', async () => {
    expect(
      await failure(secretCredential(daemon.clientId, 'not-the-secret'), 'api://data/.default'),
    ).toMatchObject({
      errorCode: 'invalid_client',
      errorNo: 7000215,
      errorMessage: expect.stringContaining('AADSTS7000215: Invalid client secret provided.'),
    })
    expect(
      await failure(
        secretCredential('11111111-2222-4333-8444-555555555555', 'x'),
        'api://data/.default',
      ),
    ).toMatchObject({ errorCode: 'unauthorized_client', errorNo: 700016 })
    expect(
      await failure(
        secretCredential(daemon.clientId, daemon.secret as string),
        'api://missing/.default',
      ),
    ).toMatchObject({ errorCode: 'invalid_resource', errorNo: 500011 })
  })

  it('needs a tenant: at common the credential refuses before asking the emulator', async () => {
    const before = emulator.requestCounts.token
    const error = await secretCredential(daemon.clientId, daemon.secret as string, 'common')
      .getToken('api://data/.default')
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ message: expect.stringContaining('missing_tenant_id_error') })
    expect(emulator.requestCounts.token).toBe(before)
  })
})

describe('ClientCertificateCredential', () => {
  it('signs with a PEM holding the key and the certificate, without the chain', async () => {
    const credential = new ClientCertificateCredential(
      emulator.tenantId,
      certDaemon.clientId,
      { certificate: daemonCert.privateKey + daemonCert.certificate },
      emulator.azureIdentityOptions(),
    )
    const token = await tokenFrom(credential, 'api://data/.default')
    expect(decodeJwt(token)).toMatchObject({ azp: certDaemon.clientId, azpacr: '2' })
    expect((await api.call('/orders', token)).status).toBe(200)
  })

  it('sends the chain (x5c) from a PEM file with sendCertificateChain', async () => {
    const credential = new ClientCertificateCredential(
      emulator.tenantId,
      certDaemon.clientId,
      { certificatePath: join(files, 'chained.pem') },
      { ...emulator.azureIdentityOptions(), sendCertificateChain: true },
    )
    const token = await tokenFrom(credential, 'api://data/.default')
    expect((await api.call('/orders', token)).status).toBe(200)
  })

  it('surfaces AADSTS700027 for a certificate the app did not register', async () => {
    const credential = new ClientCertificateCredential(
      emulator.tenantId,
      certDaemon.clientId,
      { certificate: webCert.privateKey + webCert.certificate },
      emulator.azureIdentityOptions(),
    )
    expect(await failure(credential, 'api://data/.default')).toMatchObject({
      errorCode: 'invalid_client',
      errorNo: 700027,
    })
  })
})

describe('OnBehalfOfCredential', () => {
  const withSecret = (userAssertionToken: string) =>
    new OnBehalfOfCredential({
      tenantId: emulator.tenantId,
      clientId: webApi.clientId,
      clientSecret: webApi.secret as string,
      userAssertionToken,
      ...emulator.azureIdentityOptions(),
    })

  it("exchanges the user's token, with a secret or a certificate, for one the API answers 200 and 403", async () => {
    const withCertificate = new OnBehalfOfCredential({
      tenantId: emulator.tenantId,
      clientId: webApi.clientId,
      certificatePath: join(files, 'web.pem'),
      userAssertionToken: userToken(),
      ...emulator.azureIdentityOptions(),
    })
    for (const credential of [withSecret(userToken()), withCertificate]) {
      const token = await tokenFrom(credential, 'api://data/Data.Read')
      expect(decodeJwt(token)).toMatchObject({
        oid: emulator.defaultUser.oid,
        azp: webApi.clientId,
        scp: 'Data.Read',
      })
      expect((await api.call('/profile', token)).status).toBe(200)
      expect((await api.call('/orders', token)).status).toBe(403)
    }
  })

  it('surfaces consent_required (AADSTS65001) and an expired user token (AADSTS500133)', async () => {
    expect(await failure(withSecret(userToken()), 'api://data/Data.Write')).toMatchObject({
      name: 'InteractionRequiredAuthError',
      errorCode: 'invalid_grant',
      subError: 'consent_required',
      errorNo: 65001,
    })
    const expired = userToken(Math.floor(Date.now() / 1000) - 7_200)
    expect(await failure(withSecret(expired), 'api://data/Data.Read')).toMatchObject({
      errorCode: 'invalid_grant',
      errorNo: 500133,
    })
  })
})
