/**
 * The emulator proven with Microsoft's own client library: MSAL for Node's
 * ConfidentialClientApplication gets tokens with a client secret, with a certificate, and
 * On-Behalf-Of a user, and bearer-guard's `azureAd()` validator accepts each with the right
 * AuthInfo. MSAL trusts the emulator's CA through `system.networkClient` only: TLS verification
 * stays on, and nothing is changed process-wide.
 */
import {
  type AuthenticationResult,
  ConfidentialClientApplication,
  type Configuration,
  CryptoProvider,
  InteractionRequiredAuthError,
  ServerError,
} from '@azure/msal-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { azureAd, createValidator, type Validator } from '../../src/index.js'
import {
  type AppRegistration,
  type Certificate,
  createCertificate,
  type EntraEmulator,
  startEntraEmulator,
} from '../../src/testing/index.js'

let emulator: EntraEmulator
let dataApi: AppRegistration
let legacyApi: AppRegistration
let webApi: AppRegistration
let daemon: AppRegistration
let certDaemon: AppRegistration
let daemonCert: Certificate
let webCert: Certificate
let validator: Validator

beforeAll(async () => {
  emulator = await startEntraEmulator({ http: true })
  ;[daemonCert, webCert] = await Promise.all([
    createCertificate({ commonName: 'cert-daemon', keyType: 'rsa' }),
    createCertificate({ commonName: 'web-api', keyType: 'rsa' }),
  ])
  dataApi = emulator.registerApp({
    name: 'Data API',
    appIdUri: 'api://data',
    scopes: ['Data.Read', 'Data.Write'],
    appRoles: ['Data.Read.All'],
  })
  legacyApi = emulator.registerApp({
    name: 'Legacy API',
    appIdUri: 'api://legacy',
    scopes: ['Legacy.Read'],
    appRoles: ['Legacy.Read.All'],
    accessTokenAcceptedVersion: 1,
  })
  webApi = emulator.registerApp({
    name: 'Web API',
    appIdUri: 'api://web',
    scopes: ['Web.Access'],
    certificates: [webCert],
    delegatedPermissions: [{ resource: dataApi, scopes: ['Data.Read'] }],
  })
  daemon = emulator.registerApp({
    name: 'Daemon',
    secret: true,
    applicationPermissions: [
      { resource: dataApi, roles: ['Data.Read.All'] },
      { resource: legacyApi, roles: ['Legacy.Read.All'] },
    ],
  })
  certDaemon = emulator.registerApp({
    name: 'Certificate daemon',
    certificates: [daemonCert],
    applicationPermissions: [{ resource: dataApi, roles: ['Data.Read.All'] }],
  })
  validator = createValidator(azureAd({ ...emulator.azureAdOptions(), clientId: dataApi.clientId }))
})

afterAll(async () => {
  await emulator.close()
})

function msal(auth: Partial<Configuration['auth']> & { clientId: string }) {
  return new ConfidentialClientApplication({
    auth: { ...emulator.msalAuthority(), ...auth },
    system: { networkClient: emulator.networkClient },
  })
}

function tokenOf(result: AuthenticationResult | null): string {
  expect(result?.accessToken).toEqual(expect.any(String))
  return (result as AuthenticationResult).accessToken
}

async function failure(action: () => Promise<unknown>): Promise<ServerError> {
  const error = await action().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ServerError)
  return error as ServerError
}

describe('acquireTokenByClientCredential', () => {
  it('with a client secret: an app-only token azureAd() accepts', async () => {
    const app = msal({ clientId: daemon.clientId, clientSecret: daemon.secret as string })
    const result = await app.acquireTokenByClientCredential({ scopes: ['api://data/.default'] })
    expect(result).toMatchObject({ tokenType: 'Bearer', scopes: ['api://data/.default'] })
    await expect(validator.verify(tokenOf(result))).resolves.toMatchObject({
      appOnly: true,
      roles: ['Data.Read.All'],
      scopes: [],
      tenantId: emulator.tenantId,
      clientId: daemon.clientId,
      subject: daemon.servicePrincipalId,
    })
  })

  it('with a certificate, by SHA-256 thumbprint, and with the x5c chain', async () => {
    for (const x5c of [undefined, daemonCert.certificate]) {
      const app = msal({
        clientId: certDaemon.clientId,
        clientCertificate: {
          thumbprintSha256: daemonCert.thumbprintSha256,
          privateKey: daemonCert.privateKey,
          ...(x5c === undefined ? {} : { x5c }),
        },
      })
      const result = await app.acquireTokenByClientCredential({ scopes: ['api://data/.default'] })
      const auth = await validator.verify(tokenOf(result))
      expect(auth).toMatchObject({
        appOnly: true,
        roles: ['Data.Read.All'],
        tenantId: emulator.tenantId,
        clientId: certDaemon.clientId,
      })
      expect(auth.claims.azpacr).toBe('2')
    }
  })

  it('for an API that accepts v1 tokens', async () => {
    const app = msal({ clientId: daemon.clientId, clientSecret: daemon.secret as string })
    const result = await app.acquireTokenByClientCredential({ scopes: ['api://legacy/.default'] })
    const legacy = createValidator(
      azureAd({ ...emulator.azureAdOptions(), audience: ['api://legacy', legacyApi.clientId] }),
    )
    const auth = await legacy.verify(tokenOf(result))
    expect(auth).toMatchObject({
      appOnly: true,
      roles: ['Legacy.Read.All'],
      clientId: daemon.clientId,
    })
    expect(auth.issuer).toBe(`https://sts.windows.net/${emulator.tenantId}/`)
  })

  it('surfaces AADSTS7000215 for a wrong secret, 700016 for an unknown client', async () => {
    const wrong = await failure(() =>
      msal({
        clientId: daemon.clientId,
        clientSecret: 'not-the-secret',
      }).acquireTokenByClientCredential({
        scopes: ['api://data/.default'],
      }),
    )
    expect(wrong).toMatchObject({ errorCode: 'invalid_client', errorNo: 7000215 })
    expect(wrong.errorMessage).toContain('AADSTS7000215: Invalid client secret provided.')
    const unknown = await failure(() =>
      msal({
        clientId: '11111111-2222-4333-8444-555555555555',
        clientSecret: 'x',
      }).acquireTokenByClientCredential({ scopes: ['api://data/.default'] }),
    )
    expect(unknown).toMatchObject({ errorCode: 'unauthorized_client', errorNo: 700016 })
  })

  it('surfaces AADSTS700027 for a certificate the app did not register, 500011 for an unknown API', async () => {
    const unregistered = await failure(() =>
      msal({
        clientId: certDaemon.clientId,
        clientCertificate: {
          thumbprintSha256: webCert.thumbprintSha256,
          privateKey: webCert.privateKey,
        },
      }).acquireTokenByClientCredential({ scopes: ['api://data/.default'] }),
    )
    expect(unregistered).toMatchObject({ errorCode: 'invalid_client', errorNo: 700027 })
    const unknownApi = await failure(() =>
      msal({
        clientId: daemon.clientId,
        clientSecret: daemon.secret as string,
      }).acquireTokenByClientCredential({
        scopes: ['api://missing/.default'],
      }),
    )
    expect(unknownApi).toMatchObject({ errorCode: 'invalid_resource', errorNo: 500011 })
  })
})

describe('acquireTokenOnBehalfOf', () => {
  const webApp = () =>
    msal({
      clientId: webApi.clientId,
      clientCertificate: {
        thumbprintSha256: webCert.thumbprintSha256,
        privateKey: webCert.privateKey,
      },
    })

  it("exchanges the user's token for a delegated token azureAd() accepts", async () => {
    const userToken = emulator.mint({ resource: webApi, scopes: ['Web.Access'] })
    const result = await webApp().acquireTokenOnBehalfOf({
      oboAssertion: userToken,
      scopes: ['api://data/Data.Read'],
    })
    expect(result?.scopes).toEqual(['api://data/Data.Read'])
    const auth = await validator.verify(tokenOf(result))
    expect(auth).toMatchObject({
      appOnly: false,
      scopes: ['Data.Read'],
      roles: [],
      tenantId: emulator.tenantId,
      clientId: webApi.clientId,
    })
    expect(auth.claims).toMatchObject({
      oid: emulator.defaultUser.oid,
      name: 'Ada Lovelace',
      preferred_username: emulator.defaultUser.username,
    })
  })

  it('surfaces consent_required (AADSTS65001) as an interaction-required error', async () => {
    const userToken = emulator.mint({ resource: webApi, scopes: ['Web.Access'] })
    const error = await webApp()
      .acquireTokenOnBehalfOf({ oboAssertion: userToken, scopes: ['api://data/Data.Write'] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InteractionRequiredAuthError)
    expect(error).toMatchObject({
      errorCode: 'invalid_grant',
      subError: 'consent_required',
      errorNo: 65001,
    })
  })

  it('surfaces AADSTS500133 for an expired user token, 50013 for one meant for another app', async () => {
    const expired = emulator.mint({
      resource: webApi,
      scopes: ['Web.Access'],
      issuedAt: Math.floor(Date.now() / 1000) - 7_200,
    })
    const late = await failure(() =>
      webApp().acquireTokenOnBehalfOf({ oboAssertion: expired, scopes: ['api://data/Data.Read'] }),
    )
    expect(late).toMatchObject({ errorCode: 'invalid_grant', errorNo: 500133 })
    const elsewhere = emulator.mint({ resource: dataApi, scopes: ['Data.Read'] })
    const wrongAudience = await failure(() =>
      webApp().acquireTokenOnBehalfOf({
        oboAssertion: elsewhere,
        scopes: ['api://data/Data.Read'],
      }),
    )
    expect(wrongAudience).toMatchObject({ errorCode: 'invalid_grant', errorNo: 50013 })
  })
})

describe('MSAL never leaves the emulator', () => {
  it('an authority elsewhere fails in the network client, without a connection', async () => {
    const app = new ConfidentialClientApplication({
      auth: {
        clientId: daemon.clientId,
        clientSecret: daemon.secret as string,
        authority: `https://login.microsoftonline.com/${emulator.tenantId}`,
      },
      system: { networkClient: emulator.networkClient },
    })
    const before = emulator.requestCounts.token
    await expect(
      app.acquireTokenByClientCredential({ scopes: ['api://data/.default'] }),
    ).rejects.toThrow()
    expect(emulator.requestCounts.token).toBe(before)
  })
})

describe('client capabilities, claims requests and Conditional Access', () => {
  const capableWebApp = () =>
    new ConfidentialClientApplication({
      auth: {
        ...emulator.msalAuthority(),
        clientId: webApi.clientId,
        clientCertificate: {
          thumbprintSha256: webCert.thumbprintSha256,
          privateKey: webCert.privateKey,
        },
        clientCapabilities: ['cp1'],
      },
      system: { networkClient: emulator.networkClient },
    })

  it('mints xms_cc for the capabilities MSAL declares, in On-Behalf-Of and client credentials tokens', async () => {
    const userToken = emulator.mint({ resource: webApi, scopes: ['Web.Access'] })
    const obo = await capableWebApp().acquireTokenOnBehalfOf({
      oboAssertion: userToken,
      scopes: ['api://data/Data.Read'],
    })
    expect((await validator.verify(tokenOf(obo))).claims.xms_cc).toEqual(['cp1'])
    const daemonApp = new ConfidentialClientApplication({
      auth: {
        ...emulator.msalAuthority(),
        clientId: daemon.clientId,
        clientSecret: daemon.secret as string,
        clientCapabilities: ['CP1'],
      },
      system: { networkClient: emulator.networkClient },
    })
    const appOnly = await daemonApp.acquireTokenByClientCredential({
      scopes: ['api://data/.default'],
    })
    expect((await validator.verify(tokenOf(appOnly))).claims.xms_cc).toEqual(['CP1'])
  })

  it('mints acrs, xms_cc, acr and auth_time for a client that comes back with a claims request', async () => {
    const now = Math.floor(Date.now() / 1000)
    const token = emulator.mint({
      resource: dataApi,
      scopes: ['Data.Read'],
      clientCapabilities: ['cp1'],
      claimsRequest: '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}',
      acr: 'urn:example:mfa',
      authTime: now - 5,
    })
    const { claims } = await validator.verify(token)
    expect(claims).toMatchObject({
      xms_cc: ['cp1'],
      acrs: ['c1'],
      acr: 'urn:example:mfa',
      auth_time: now - 5,
    })
    expect(() => emulator.mint({ resource: dataApi, claimsRequest: 'not json' })).toThrow()
  })

  it('answers interaction_required (AADSTS50076) with claims under Conditional Access, until the user token carries the context', async () => {
    emulator.setConditionalAccess(dataApi, 'c1')
    try {
      const userToken = emulator.mint({
        resource: webApi,
        scopes: ['Web.Access'],
        clientCapabilities: ['cp1'],
      })
      const error = await capableWebApp()
        .acquireTokenOnBehalfOf({ oboAssertion: userToken, scopes: ['api://data/Data.Read'] })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InteractionRequiredAuthError)
      const claims = (error as InteractionRequiredAuthError).claims
      expect(error).toMatchObject({
        errorCode: 'interaction_required',
        subError: 'basic_action',
        errorNo: 50076,
      })
      expect(claims).toBe('{"access_token":{"acrs":{"essential":true,"value":"c1"}}}')
      const stepped = emulator.mint({
        resource: webApi,
        scopes: ['Web.Access'],
        clientCapabilities: ['cp1'],
        claimsRequest: claims,
      })
      const result = await capableWebApp().acquireTokenOnBehalfOf({
        oboAssertion: stepped,
        scopes: ['api://data/Data.Read'],
      })
      expect((await validator.verify(tokenOf(result))).claims).toMatchObject({
        acrs: ['c1'],
        xms_cc: ['cp1'],
      })
    } finally {
      emulator.setConditionalAccess(dataApi, undefined)
    }
  })

  it('answers consent_required (AADSTS65001) while the consent switch is on', async () => {
    emulator.setConsentRequired(dataApi, true)
    try {
      const userToken = emulator.mint({ resource: webApi, scopes: ['Web.Access'] })
      const error = await capableWebApp()
        .acquireTokenOnBehalfOf({ oboAssertion: userToken, scopes: ['api://data/Data.Read'] })
        .catch((e: unknown) => e)
      expect(error).toMatchObject({ subError: 'consent_required', errorNo: 65001 })
    } finally {
      emulator.setConsentRequired(dataApi, false)
    }
  })
})

describe('acquireTokenByCode (authorization code with PKCE, headless sign-in)', () => {
  const REDIRECT = 'http://localhost:3000/signed-in'
  let client: AppRegistration
  const app = () =>
    new ConfidentialClientApplication({
      auth: {
        ...emulator.msalAuthority(),
        clientId: client.clientId,
        clientSecret: client.secret as string,
        clientCapabilities: ['cp1'],
      },
      system: { networkClient: emulator.networkClient },
    })

  /** Follows the authorize URL as a browser would (over HTTP), and returns the code. */
  async function authorize(url: string): Promise<Response> {
    return fetch(url.replace(emulator.instance, emulator.httpOrigin as string), {
      redirect: 'manual',
    })
  }

  beforeAll(() => {
    client = emulator.registerApp({
      name: 'Web app',
      secret: true,
      redirectUris: [REDIRECT],
      delegatedPermissions: [{ resource: dataApi, scopes: ['Data.Read'] }],
    })
  })

  it('signs the login_hint user in, with the claims asked for; a code is redeemed once, with its verifier', async () => {
    const pkce = await new CryptoProvider().generatePkceCodes()
    const claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'
    const url = await app().getAuthCodeUrl({
      scopes: ['api://data/Data.Read'],
      redirectUri: REDIRECT,
      loginHint: emulator.defaultUser.username,
      codeChallenge: pkce.challenge,
      codeChallengeMethod: 'S256',
      claims,
    })
    const browser = await authorize(url)
    expect(browser.status).toBe(302)
    const code = new URL(browser.headers.get('location') as string).searchParams.get('code')
    const request = {
      code: code as string,
      scopes: ['api://data/Data.Read'],
      redirectUri: REDIRECT,
    }
    const wrongVerifier = await failure(() =>
      app().acquireTokenByCode({ ...request, codeVerifier: 'x'.repeat(43) }),
    )
    expect(wrongVerifier).toMatchObject({ errorCode: 'invalid_grant', errorNo: 501481 })
    const again = await app().getAuthCodeUrl({
      scopes: ['api://data/Data.Read'],
      redirectUri: REDIRECT,
      loginHint: emulator.defaultUser.username,
      codeChallenge: pkce.challenge,
      codeChallengeMethod: 'S256',
      claims,
    })
    const second = new URL(
      (await authorize(again)).headers.get('location') as string,
    ).searchParams.get('code') as string
    const result = await app().acquireTokenByCode({
      ...request,
      code: second,
      codeVerifier: pkce.verifier,
    })
    expect(result.account?.username).toBe(emulator.defaultUser.username)
    const auth = await validator.verify(tokenOf(result))
    expect(auth.claims).toMatchObject({
      acrs: ['c1'],
      xms_cc: ['cp1'],
      oid: emulator.defaultUser.oid,
    })
    const reused = await failure(() =>
      app().acquireTokenByCode({ ...request, code: second, codeVerifier: pkce.verifier }),
    )
    expect(reused).toMatchObject({ errorCode: 'invalid_grant', errorNo: 70008 })
  })

  it('refuses a redirect URI the app did not register (AADSTS50011)', async () => {
    const url = await app().getAuthCodeUrl({
      scopes: ['api://data/Data.Read'],
      redirectUri: 'http://localhost:3000/elsewhere',
      loginHint: emulator.defaultUser.username,
    })
    const browser = await authorize(url)
    expect(browser.status).toBe(400)
    expect(((await browser.json()) as { error_codes: number[] }).error_codes).toEqual([50011])
  })
})
