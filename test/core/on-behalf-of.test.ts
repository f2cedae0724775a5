/**
 * Both tiers of the Entra ID scenario on bearer-guard and MSAL for Node alone: a first-tier API
 * (Express, and Koa for the adapters' sake) exchanges its caller's token On-Behalf-Of with
 * `bearer-guard/msal` and calls a second-tier API; Entra ID is the emulator, over HTTPS, and MSAL
 * is the real client of both: the first tier's On-Behalf-Of, and the caller's sign-in
 * (authorization code with PKCE, `claims` of a challenge) in the round trips. Every Entra ID failure mode gets its exact status and `WWW-Authenticate`,
 * and no answer is a 500 or shows an Entra ID message.
 */
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ConfidentialClientApplication, CryptoProvider } from '@azure/msal-node'
import express, { type Express } from 'express'
import Koa from 'koa'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import * as expressAdapter from '../../adapters/express.js'
import { toResponse } from '../../adapters/fetch.js'
import * as koaAdapter from '../../adapters/koa.js'
import { azureAd, createValidator } from '../../src/index.js'
import { claimsFromChallenge, createOnBehalfOf, type OnBehalfOf } from '../../src/on-behalf-of.js'
import {
  type AppRegistration,
  type EntraEmulator,
  startEntraEmulator,
} from '../../src/testing/index.js'

const C1 = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'
const C1_BASE64 = 'eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19'
const SCOPES = ['api://data/Data.Read']

let emulator: EntraEmulator
let dataApi: AppRegistration
let webApi: AppRegistration
let portal: ConfidentialClientApplication
const REDIRECT_URI = 'http://localhost:3000/callback'
let obo: OnBehalfOf
let secondTier: string
let firstTier: string
let koaFirstTier: string
const servers: Server[] = []

function listen(handler: RequestListener): Promise<string> {
  return new Promise((resolve) => {
    const server = createServer(handler).listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
    servers.push(server)
  })
}

function msalConfig(web: AppRegistration) {
  return {
    auth: {
      clientId: web.clientId,
      clientSecret: web.secret as string,
      ...emulator.msalAuthority(),
    },
    system: { networkClient: emulator.networkClient },
  }
}

/** The first-tier routes, for Express: relay the downstream answer, hand errors to next(). */
function firstTierApp(helper: () => OnBehalfOf): Express {
  const app = express()
  app.set('env', 'development')
  const validator = createValidator(
    azureAd({ ...emulator.azureAdOptions(), clientId: webApi.clientId }),
  )
  app.use(expressAdapter.authenticate(validator))
  for (const path of ['data', 'secure']) {
    app.get(`/proxy/${path}`, async (req, res, next) => {
      try {
        const answer = await helper().fetch(req.auth, `${secondTier}/${path}`, { scopes: SCOPES })
        res.status(answer.status).json(await answer.json())
      } catch (error) {
        next(error)
      }
    })
  }
  return app
}

// Express's default handler logs each 5xx with its cause: kept out of the test output.
const quiet = vi.spyOn(console, 'error').mockImplementation(() => {})

beforeAll(async () => {
  emulator = await startEntraEmulator({ http: true })
  dataApi = emulator.registerApp({
    name: 'Data API',
    appIdUri: 'api://data',
    scopes: ['Data.Read'],
  })
  webApi = emulator.registerApp({
    name: 'Web API',
    appIdUri: 'api://web',
    scopes: ['Web.Access'],
    secret: true,
    delegatedPermissions: [{ resource: dataApi, scopes: ['Data.Read'] }],
  })
  obo = createOnBehalfOf({ msal: msalConfig(webApi) })
  // The client: a web app that signs its user in with MSAL (authorization code, PKCE) and
  // declares cp1, so it can answer claims challenges.
  const portalApp = emulator.registerApp({
    name: 'Portal',
    secret: true,
    redirectUris: [REDIRECT_URI],
    delegatedPermissions: [{ resource: webApi, scopes: ['Web.Access'] }],
  })
  portal = new ConfidentialClientApplication({
    auth: {
      clientId: portalApp.clientId,
      clientSecret: portalApp.secret as string,
      clientCapabilities: ['cp1'],
      ...emulator.msalAuthority(),
    },
    system: { networkClient: emulator.networkClient },
  })

  const second = express()
  second.use(
    expressAdapter.authenticate(
      azureAd({ ...emulator.azureAdOptions(), clientId: dataApi.clientId }),
    ),
  )
  second.get('/data', expressAdapter.requireScopes('Data.Read'), (req, res) => {
    res.json({ azp: req.auth?.claims.azp, acrs: req.auth?.claims.acrs ?? null })
  })
  second.get('/secure', expressAdapter.requireAuthContext('c1'), (req, res) => {
    res.json({ azp: req.auth?.claims.azp, acrs: req.auth?.claims.acrs ?? null })
  })
  secondTier = await listen(second)
  firstTier = await listen(firstTierApp(() => obo))

  const koa = new Koa()
  const koaValidator = createValidator(
    azureAd({ ...emulator.azureAdOptions(), clientId: webApi.clientId }),
  )
  koa.use(koaAdapter.authenticate(koaValidator))
  koa.use(async (ctx) => {
    const answer = await obo.fetch(ctx.state.auth, `${secondTier}/data`, { scopes: SCOPES })
    ctx.status = answer.status
    ctx.body = await answer.json()
  })
  koaFirstTier = await listen(koa.callback())
})

afterEach(() => {
  vi.useRealTimers()
  emulator.setConditionalAccess(dataApi, undefined)
  emulator.setConsentRequired(dataApi, false)
  emulator.setTokenMode('ok')
})

afterAll(async () => {
  quiet.mockRestore()
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  await emulator.close()
})

/** A user's token for the first tier, as its client would have it. */
function userToken(options: { cp1?: boolean; claimsRequest?: string } = {}) {
  return emulator.mint({
    resource: webApi,
    scopes: ['Web.Access'],
    ...(options.cp1 === false ? {} : { clientCapabilities: ['cp1'] }),
    ...(options.claimsRequest === undefined ? {} : { claimsRequest: options.claimsRequest }),
  })
}

/**
 * The client signs the user in with MSAL for Node: authorization code with PKCE, the `claims` of
 * a challenge when it has one. The "browser" follows the authorize URL over the emulator's HTTP
 * origin, where the emulator signs in the user named by login_hint at once.
 */
async function signIn(claims?: string): Promise<string> {
  const pkce = await new CryptoProvider().generatePkceCodes()
  const scopes = ['api://web/Web.Access']
  const url = await portal.getAuthCodeUrl({
    scopes,
    redirectUri: REDIRECT_URI,
    loginHint: emulator.defaultUser.username,
    codeChallenge: pkce.challenge,
    codeChallengeMethod: 'S256',
    ...(claims === undefined ? {} : { claims }),
  })
  const browser = await fetch(url.replace(emulator.instance, emulator.httpOrigin as string), {
    redirect: 'manual',
  })
  const code = new URL(browser.headers.get('location') as string).searchParams.get('code')
  const result = await portal.acquireTokenByCode({
    code: code as string,
    scopes,
    redirectUri: REDIRECT_URI,
    codeVerifier: pkce.verifier,
    ...(claims === undefined ? {} : { claims }),
  })
  return result.accessToken
}

async function call(base: string, path: string, token: string) {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })
  const body = await res.text()
  // Never a 500, never an Entra ID message, its trace or correlation ids, or a stack.
  expect(res.status).not.toBe(500)
  expect(body).not.toMatch(/AADSTS|Trace ID|Correlation ID|\n\s+at /)
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body, res }
}

const authorizationUri = () => `${emulator.instance}/${emulator.tenantId}/oauth2/v2.0/authorize`

describe('createOnBehalfOf: fetch', () => {
  it('calls the second tier with a delegated token On-Behalf-Of the caller', async () => {
    const { status, body } = await call(firstTier, '/proxy/data', userToken())
    expect(status).toBe(200)
    expect(JSON.parse(body)).toEqual({ azp: webApi.clientId, acrs: null })
  })

  it('hands a Conditional Access claims challenge from Entra ID back to a cp1 caller; the caller comes back with the claims and succeeds', async () => {
    emulator.setConditionalAccess(dataApi, 'c1')
    const first = await call(firstTier, '/proxy/data', await signIn())
    expect(first.status).toBe(401)
    expect(first.challenge).toBe(
      `Bearer realm="", authorization_uri="${authorizationUri()}", error="insufficient_claims", claims="${C1_BASE64}"`,
    )
    const claims = claimsFromChallenge(first.challenge)
    expect(claims).toBe(C1)
    const second = await call(firstTier, '/proxy/data', await signIn(claims))
    expect(second.status).toBe(200)
    expect(JSON.parse(second.body)).toEqual({ azp: webApi.clientId, acrs: ['c1'] })
  })

  it('answers 403 with the scopes, not a claims challenge, to a caller without cp1', async () => {
    emulator.setConditionalAccess(dataApi, 'c1')
    const { status, challenge } = await call(firstTier, '/proxy/data', userToken({ cp1: false }))
    expect(status).toBe(403)
    expect(challenge).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="the user must satisfy a Conditional Access policy of a downstream API, and the client cannot handle claims challenges (no cp1 in xms_cc)", scopes="api://data/Data.Read"',
    )
  })

  it("retries once with the second tier's claims, then hands its challenge back; with the context, the call succeeds", async () => {
    const first = await call(firstTier, '/proxy/secure', await signIn())
    expect(first.status).toBe(401)
    expect(first.challenge).toBe(
      `Bearer realm="", authorization_uri="${authorizationUri()}", error="insufficient_claims", claims="${C1_BASE64}"`,
    )
    const claims = claimsFromChallenge(first.challenge) as string
    const second = await call(firstTier, '/proxy/secure', await signIn(claims))
    expect(second.status).toBe(200)
    expect(JSON.parse(second.body)).toEqual({ azp: webApi.clientId, acrs: ['c1'] })
  })

  it('answers 403 with the scopes and proposedAction="consent" when consent is missing (AADSTS65001)', async () => {
    emulator.setConsentRequired(dataApi, true)
    const { status, challenge } = await call(firstTier, '/proxy/data', userToken())
    expect(status).toBe(403)
    expect(challenge).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="the user or an administrator has not consented to the permissions this API needs downstream", scopes="api://data/Data.Read", proposedAction="consent"',
    )
  })

  it('refuses an app-only caller with 403: On-Behalf-Of needs a user', async () => {
    const daemonToken = emulator.mint({ resource: webApi, roles: ['Web.All'] })
    const { status, challenge } = await call(firstTier, '/proxy/data', daemonToken)
    expect(status).toBe(403)
    expect(challenge).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="this resource calls a downstream API on behalf of a user: an app-only token cannot be exchanged"',
    )
  })

  it('answers 503 with Retry-After when Entra ID fails or throttles, never a 500', async () => {
    for (const mode of ['down', 'throttled'] as const) {
      // A client of its own: MSAL remembers a throttled answer for its client and scopes.
      const own = createOnBehalfOf({ msal: msalConfig(webApi), retryAfter: 7 })
      const app = firstTierApp(() => own)
      const base = await listen(app)
      emulator.setTokenMode(mode)
      const { status, challenge, res } = await call(base, '/proxy/data', userToken())
      expect(status).toBe(503)
      expect(challenge).toBeNull()
      expect(res.headers.get('retry-after')).toBe('7')
    }
  })

  it('answers 503 when Entra ID cannot be reached', async () => {
    const unreachable = createOnBehalfOf({
      msal: {
        auth: {
          clientId: webApi.clientId,
          clientSecret: webApi.secret as string,
          authority: `https://127.0.0.1:9/${emulator.tenantId}`,
          knownAuthorities: ['127.0.0.1:9'],
        },
        system: { networkClient: emulator.networkClient },
      },
    })
    const base = await listen(firstTierApp(() => unreachable))
    const { status, res } = await call(base, '/proxy/data', userToken())
    expect(status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
  })

  it('works the same through Koa: the claims challenge and the consent answer', async () => {
    emulator.setConditionalAccess(dataApi, 'c1')
    const challenged = await call(koaFirstTier, '/', userToken())
    expect(challenged.status).toBe(401)
    expect(challenged.challenge).toBe(
      `Bearer realm="", authorization_uri="${authorizationUri()}", error="insufficient_claims", claims="${C1_BASE64}"`,
    )
    emulator.setConditionalAccess(dataApi, undefined)
    emulator.setConsentRequired(dataApi, true)
    const forbidden = await call(koaFirstTier, '/', userToken())
    expect(forbidden.status).toBe(403)
    expect(forbidden.challenge).toContain('proposedAction="consent"')
  })
})

describe('createOnBehalfOf: acquireToken', () => {
  it('answers 401 invalid_token for an assertion Entra ID finds expired (AADSTS500133)', async () => {
    const validator = createValidator(
      azureAd({ ...emulator.azureAdOptions(), clientId: webApi.clientId }),
    )
    const now = Math.floor(Date.now() / 1000)
    const token = emulator.mint({
      resource: webApi,
      scopes: ['Web.Access'],
      issuedAt: now - 3500,
      lifetime: 3600,
    })
    const auth = await validator.verify(token)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime((now + 500) * 1000)
    const error = await obo.acquireToken(auth, SCOPES).catch((e: unknown) => e)
    expect(error).toMatchObject({
      status: 401,
      code: 'invalid_token',
      reason: 'assertion_rejected',
    })
    expect((error as { headers: Record<string, string> }).headers['www-authenticate']).toBe(
      'Bearer realm="api", error="invalid_token", error_description="the token expired before it could be exchanged for a downstream API"',
    )
  })

  it('answers 401 invalid_token when Entra ID no longer knows the signing key (AADSTS50013)', async () => {
    const validator = createValidator(
      azureAd({ ...emulator.azureAdOptions(), clientId: webApi.clientId }),
    )
    const auth = await validator.verify(userToken())
    await emulator.rotateKeys({ keepPrevious: false })
    const error = await obo.acquireToken(auth, SCOPES).catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 401, code: 'invalid_token' })
    expect((error as { headers: Record<string, string> }).headers['www-authenticate']).toBe(
      'Bearer realm="api", error="invalid_token", error_description="the token cannot be exchanged for a downstream API: get a new token"',
    )
  })

  it("answers 502 when Entra ID refuses this API's own credentials (invalid_client), without Entra's message", async () => {
    const misconfigured = createOnBehalfOf({
      msal: {
        ...msalConfig(webApi),
        auth: { ...msalConfig(webApi).auth, clientSecret: 'not-the-secret' },
      },
    })
    const validator = createValidator(
      azureAd({ ...emulator.azureAdOptions(), clientId: webApi.clientId }),
    )
    const auth = await validator.verify(userToken())
    const error = await misconfigured.acquireToken(auth, SCOPES).catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 502, expose: false, reason: 'token_exchange_refused' })
    expect((error as Error).message).toBe(
      'The identity provider refused to issue a token for a downstream API',
    )
    expect((error as { headers: object }).headers).toEqual({})
  })

  it('gives the Fetch adapter a Response like any other rejection', async () => {
    emulator.setConsentRequired(dataApi, true)
    const validator = createValidator(
      azureAd({ ...emulator.azureAdOptions(), clientId: webApi.clientId }),
    )
    const auth = await validator.verify(userToken())
    const response = toResponse(await obo.acquireToken(auth, SCOPES).catch((e: unknown) => e))
    expect(response.status).toBe(403)
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="the user or an administrator has not consented to the permissions this API needs downstream", scopes="api://data/Data.Read", proposedAction="consent"',
    )
  })

  it('answers 401 without authentication and refuses bad arguments at once', async () => {
    await expect(obo.acquireToken(undefined, SCOPES)).rejects.toMatchObject({ status: 401 })
    await expect(obo.acquireToken(undefined, [])).rejects.toThrow(TypeError)
    expect(() => createOnBehalfOf({} as never)).toThrow(TypeError)
    expect(() => createOnBehalfOf({ msal: msalConfig(webApi), retryAfter: 0 })).toThrow(TypeError)
  })

  it('shares one confidential client per configuration', () => {
    const config = msalConfig(webApi)
    expect(createOnBehalfOf({ msal: config }).client).toBe(
      createOnBehalfOf({ msal: config }).client,
    )
  })
})

describe('claimsFromChallenge', () => {
  it('reads the claims of an insufficient_claims challenge, padded or not, and nothing else', () => {
    expect(
      claimsFromChallenge(`Bearer realm="", error="insufficient_claims", claims="${C1_BASE64}"`),
    ).toBe(C1)
    expect(claimsFromChallenge(`Bearer error="insufficient_claims", claims="eyJhIjoxfQ"`)).toBe(
      '{"a":1}',
    )
    expect(
      claimsFromChallenge(`Bearer error="invalid_token", claims="${C1_BASE64}"`),
    ).toBeUndefined()
    expect(
      claimsFromChallenge('Bearer error="insufficient_claims", claims="bm90IGpzb24="'),
    ).toBeUndefined()
    expect(claimsFromChallenge('Bearer error="insufficient_claims", claims="!!"')).toBeUndefined()
    expect(claimsFromChallenge(null)).toBeUndefined()
  })
})
