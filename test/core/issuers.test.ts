import { generateKeyPairSync } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type AuthInfo,
  azureAd,
  type BearerGuardEvent,
  checkGuard,
  createMultiIssuerValidator,
  createValidator,
  type Decision,
  inspectToken,
  type MultiIssuerValidator,
  requireRoles,
  requireScopes,
  type ValidatorOptions,
} from '../../src/index.js'
import {
  type AppRegistration,
  createDpopProof,
  dpopThumbprint,
  type EntraEmulator,
  startEntraEmulator,
} from '../../src/testing/index.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { createTestKey, ecKey, rsaKey, type TestKey } from '../helpers/keys.js'
import { b64url, mintToken, NOW } from '../helpers/tokens.js'
import { expectInvalidRequest, expectInvalidToken, rejectionOf } from './support.js'

const ISSUER_A = 'https://a.example/'
const ISSUER_B = 'https://b.example/'
const AUD_A = 'api://orders'
const AUD_B = 'https://api.b.example/'
const UNKNOWN = 'the token issuer (iss) is not one this API accepts'

let serverA: JwksServer
let serverB: JwksServer
let emulator: EntraEmulator
let entraApi: AppRegistration
/** A key of issuer B whose kid is the kid of issuer A's key. */
let collidingKey: TestKey

beforeAll(async () => {
  ;[serverA, serverB, emulator, collidingKey] = await Promise.all([
    startJwksServer(),
    startJwksServer(),
    startEntraEmulator({ http: true }),
    createTestKey('RS256', rsaKey.kid),
  ])
  serverA.setKeys([rsaKey])
  serverB.setKeys([collidingKey, ecKey])
  entraApi = emulator.registerApp({
    name: 'Orders',
    appIdUri: 'api://entra-orders',
    appRoles: ['Orders.Read.All'],
  })
})
afterAll(async () => {
  await Promise.all([serverA.close(), serverB.close(), emulator.close()])
})

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  serverA.resetHits()
  serverB.resetHits()
})
afterEach(() => {
  vi.useRealTimers()
})

const plainA = (): ValidatorOptions => ({
  issuer: ISSUER_A,
  audience: AUD_A,
  jwksUri: serverA.jwksUri,
})
const plainB = (): ValidatorOptions => ({
  issuer: ISSUER_B,
  audience: AUD_B,
  jwksUri: serverB.jwksUri,
  realm: 'partners',
})
const entra = (extra: Partial<Parameters<typeof azureAd>[0]> = {}) =>
  azureAd({
    ...emulator.azureAdOptions(),
    clientId: entraApi.clientId,
    appIdUri: 'api://entra-orders',
    ...extra,
  })

function threeIssuers(onEvent?: (event: BearerGuardEvent) => void): MultiIssuerValidator {
  return createMultiIssuerValidator({
    issuers: { a: plainA(), b: plainB(), entra: entra() },
    ...(onEvent === undefined ? {} : { onEvent }),
  })
}

const tokenA = (claims: Record<string, unknown> = {}, key: TestKey = rsaKey) =>
  mintToken({ key, claims: { iss: ISSUER_A, aud: AUD_A, ...claims } })
const tokenB = (claims: Record<string, unknown> = {}, key: TestKey = ecKey) =>
  mintToken({ key, claims: { iss: ISSUER_B, aud: AUD_B, scp: undefined, ...claims } })
const entraToken = (version: 1 | 2 = 2) =>
  emulator.mint({ resource: entraApi, roles: ['Orders.Read.All'], issuedAt: NOW, version })

const request = (authorization?: string) =>
  new Request('http://api.test/orders', {
    headers: authorization === undefined ? {} : { authorization },
  })
const settled = async (decision: Decision | Promise<Decision>) => await decision
const fetches = () => ({ a: serverA.hits, b: serverB.hits, entra: emulator.requestCounts.jwks })

describe('createMultiIssuerValidator', () => {
  it('accepts a token of each issuer, judged by its own configuration, and names it', async () => {
    const validator = threeIssuers()
    const jwksBefore = emulator.requestCounts.jwks
    const a = await validator.verify(await tokenA())
    expect(fetches()).toMatchObject({ a: 1, b: 0 })
    const b = await validator.verify(await tokenB())
    expect(fetches()).toMatchObject({ a: 1, b: 1, entra: jwksBefore })
    const v2 = await validator.verify(entraToken(2))
    const v1 = await validator.verify(entraToken(1))
    expect([a, b, v2, v1].map((auth) => [auth.issuerName, auth.issuer])).toEqual([
      ['a', ISSUER_A],
      ['b', ISSUER_B],
      ['entra', emulator.issuer(undefined, 2)],
      ['entra', emulator.issuer(undefined, 1)],
    ])
    expect(emulator.requestCounts.jwks).toBe(jwksBefore + 1)
  })

  it('rejects an issuer no configuration owns with 401 invalid_token, fetching nothing', async () => {
    const events: BearerGuardEvent[] = []
    const validator = threeIssuers((event) => events.push(event))
    const jwksBefore = emulator.requestCounts.jwks
    const strangers = [
      'https://evil.example/',
      'https://a.example',
      'https://A.example/',
      `${emulator.instance}/${crypto.randomUUID()}/v2.0`,
      `https://sts.windows.net/${crypto.randomUUID()}/`,
      `${emulator.instance}/${emulator.tenantId}/v2.0/`,
    ]
    for (const iss of strangers) {
      expectInvalidToken(
        await rejectionOf(validator.verify(await tokenA({ iss }))),
        'wrong_issuer',
        UNKNOWN,
      )
    }
    expect(fetches()).toEqual({ a: 0, b: 0, entra: jwksBefore })
    expect(events).toHaveLength(strangers.length)
    expect(events[0]).toMatchObject({ type: 'token_rejected', status: 401, reason: 'wrong_issuer' })
  })

  it('rejects a token without iss before any key work', async () => {
    const validator = threeIssuers()
    expectInvalidToken(
      await rejectionOf(validator.verify(await tokenA({ iss: undefined }))),
      'missing_claim',
      'the token has no valid issuer (iss) claim',
    )
    expectInvalidToken(
      await rejectionOf(validator.verify(await tokenA({ iss: 42 }))),
      'invalid_claim',
      'the token has no valid issuer (iss) claim',
    )
    expect(fetches()).toMatchObject({ a: 0, b: 0 })
  })

  it('never fetches for any hostile Authorization value, and always answers 400 or 401', async () => {
    const validator = threeIssuers()
    const jwksBefore = emulator.requestCounts.jwks
    const segment = fc.string({ maxLength: 40 }).map((text) => b64url(text))
    const hostile = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ maxLength: 200 }).map((text) => `Bearer ${text}`),
      fc
        .tuple(segment, fc.json({ maxDepth: 2 }), segment)
        .map(([h, payload, s]) => `Bearer ${h}.${b64url(payload)}.${s}`),
      fc
        .tuple(fc.string({ maxLength: 60 }), segment)
        .map(
          ([iss, s]) =>
            `Bearer ${b64url('{"alg":"RS256"}')}.${b64url(JSON.stringify({ iss }))}.${s || 'AA'}`,
        ),
    )
    await fc.assert(
      fc.asyncProperty(hostile, async (authorization) => {
        const decision = validator.decide(request(authorization))
        const { auth, error } = await decision
        expect(auth).toBeUndefined()
        expect([400, 401]).toContain(error?.status)
      }),
      { numRuns: 300 },
    )
    expect(fetches()).toEqual({ a: 0, b: 0, entra: jwksBefore })
  })

  describe('cross-issuer confusion', () => {
    it("refuses issuer A's token signed with B's key", async () => {
      const validator = threeIssuers()
      const forged = await tokenA({}, ecKey)
      expect((await rejectionOf(validator.verify(forged))).reason).toBe('unknown_key')
      expect(fetches()).toMatchObject({ b: 0 })
    })

    it("refuses issuer A's token with B's audience", async () => {
      const validator = threeIssuers()
      const error = await rejectionOf(validator.verify(await tokenA({ aud: AUD_B })))
      expect(error.reason).toBe('wrong_audience')
    })

    it("refuses B's audience and key under A's iss, and A's under B's", async () => {
      const validator = threeIssuers()
      const asA = await tokenA({ aud: AUD_B }, ecKey)
      const asB = await tokenB({ aud: AUD_A }, rsaKey)
      expect((await rejectionOf(validator.verify(asA))).status).toBe(401)
      expect((await rejectionOf(validator.verify(asB))).status).toBe(401)
    })

    it('keeps kid collisions apart: each issuer checks the kid in its own key set', async () => {
      const validator = threeIssuers()
      // B's key carries the kid of A's key: under A's iss it finds A's key and fails.
      const forgedA = await tokenA({}, collidingKey)
      expect((await rejectionOf(validator.verify(forgedA))).reason).toBe('bad_signature')
      // Under B's own iss the same key is B's and passes; A's key under B's iss fails.
      expect((await validator.verify(await tokenB({}, collidingKey))).issuerName).toBe('b')
      const forgedB = await tokenB({}, rsaKey)
      expect((await rejectionOf(validator.verify(forgedB))).reason).toBe('bad_signature')
    })

    it("refuses an Entra ID token re-signed with a plain issuer's key", async () => {
      const validator = threeIssuers()
      const [header, payload] = entraToken().split('.')
      const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString())
      const kid = JSON.parse(Buffer.from(header as string, 'base64url').toString()).kid
      const forged = await mintToken({ key: rsaKey, claims, header: { kid } })
      expect((await rejectionOf(validator.verify(forged))).status).toBe(401)
      expect(fetches()).toMatchObject({ a: 0 })
    })

    it('does not let a remembered token route another token: each token is judged anew', async () => {
      const validator = threeIssuers()
      const good = await tokenA()
      await validator.verify(good)
      const tampered = `${good.slice(0, good.lastIndexOf('.'))}.${good.slice(good.lastIndexOf('.') + 1, -2)}AA`
      expect((await rejectionOf(validator.verify(tampered))).status).toBe(401)
    })
  })

  describe('repeated tokens', () => {
    it('answers a repeated token synchronously with the same AuthInfo, without fetching', async () => {
      const validator = threeIssuers()
      const header = `Bearer ${await tokenB()}`
      const first = await settled(validator.decide(request(header)))
      const again = validator.decide(request(header))
      expect(again).not.toBeInstanceOf(Promise)
      expect((again as Decision).auth).toBe(first.auth)
      expect(validator.lookup(header)).toBe(first.auth)
      expect(await validator.authenticate(header)).toBe(first.auth)
      expect(fetches()).toMatchObject({ a: 0, b: 1 })
    })

    it('still rejects a remembered token once it has expired', async () => {
      const validator = threeIssuers()
      const token = await tokenA()
      await validator.verify(token)
      vi.setSystemTime((NOW + 3600 + 61) * 1000)
      expect((await rejectionOf(validator.verify(token))).reason).toBe('expired')
    })
  })

  describe('requests', () => {
    it('answers a request without credentials 401 in the shared realm, or anonymously', async () => {
      const validator = createMultiIssuerValidator({ issuers: { a: plainA(), e: entra() } })
      const { error } = await settled(validator.decide(request()))
      expect(error?.status).toBe(401)
      expect(error?.headers['WWW-Authenticate']).toBe('Bearer realm="api"')
      const anonymous = await settled(validator.decide(request(), { credentialsRequired: false }))
      expect(anonymous).toMatchObject({ auth: undefined, error: undefined })
      expect(
        await validator.authenticate(undefined, { credentialsRequired: false }),
      ).toBeUndefined()
    })

    it('answers malformed credentials 400 in the realm option', async () => {
      const validator = createMultiIssuerValidator({
        issuers: { a: plainA(), b: plainB() },
        realm: 'orders',
      })
      const { error } = await settled(validator.decide(request('Bearer a b')))
      expectInvalidRequest(
        error,
        'malformed_authorization',
        'the Bearer credentials must be a single token of base64url characters',
        'orders',
      )
      expect(validator.realm).toBe('orders')
    })

    it("answers a picked configuration's rejection in its own realm", async () => {
      const validator = threeIssuers()
      const error = await rejectionOf(validator.verify(await tokenB({ aud: 'api://other' })))
      expect(error.headers['WWW-Authenticate']).toContain('realm="partners"')
    })
  })

  describe('guards across issuers', () => {
    it("checks scopes and roles of whichever issuer's token, answering in its realm", async () => {
      const validator = threeIssuers()
      const a = await validator.verify(await tokenA())
      const b = await validator.verify(await tokenB({ scope: 'orders:read' }))
      const e = await validator.verify(entraToken())
      const filesRead = requireScopes('Files.Read')
      expect(checkGuard(filesRead, a)).toBeUndefined()
      const denied = checkGuard(filesRead, b)
      expect(denied?.status).toBe(403)
      expect(denied?.headers['WWW-Authenticate']).toMatch(
        /^Bearer realm="partners", error="insufficient_scope"/,
      )
      expect(checkGuard(requireScopes('orders:read'), b)).toBeUndefined()
      expect(checkGuard(requireRoles('Orders.Read.All'), e)).toBeUndefined()
      expect(checkGuard(requireRoles('Orders.Read.All'), a)?.status).toBe(403)
    })
  })

  it("keeps each configuration's own token length limit though the token is parsed once", async () => {
    const validator = createMultiIssuerValidator({
      issuers: { a: { ...plainA(), maxTokenLength: 256 }, b: plainB() },
    })
    const long = await tokenA({ pad: 'x'.repeat(300) })
    const { error } = await settled(validator.decide(request(`Bearer ${long}`)))
    expect(error?.reason).toBe('token_too_large')
    expect((await rejectionOf(validator.verify(long))).reason).toBe('token_too_large')
    expect((await validator.verify(await tokenB({ pad: 'x'.repeat(300) }))).issuerName).toBe('b')
  })

  it('warmUp() loads the keys of every configuration', async () => {
    const validator = threeIssuers()
    const jwksBefore = emulator.requestCounts.jwks
    await validator.warmUp()
    expect(fetches()).toEqual({ a: 1, b: 1, entra: jwksBefore + 1 })
  })

  it('keeps each configuration its own events', async () => {
    const seen: Record<string, string[]> = { a: [], b: [] }
    const validator = createMultiIssuerValidator({
      issuers: {
        a: { ...plainA(), onEvent: (event) => seen.a?.push(event.type) },
        b: { ...plainB(), onEvent: (event) => seen.b?.push(event.type) },
      },
    })
    await validator.verify(await tokenB())
    expect(seen).toEqual({ a: [], b: ['keys_refreshed'] })
  })

  it('routes to a predicate configuration, asked per token', async () => {
    const asked: string[] = []
    const validator = createMultiIssuerValidator({
      issuers: {
        a: plainA(),
        c: {
          issuer: (iss) => {
            asked.push(iss)
            return iss.startsWith('https://c.example/')
          },
          audience: AUD_A,
          keys: [rsaKey.publicJwk],
        },
      },
    })
    const auth = await validator.verify(await tokenA({ iss: 'https://c.example/t1' }))
    expect(auth.issuerName).toBe('c')
    expect(
      (await rejectionOf(validator.verify(await tokenA({ iss: 'https://d.example/' })))).reason,
    ).toBe('wrong_issuer')
    expect(asked).toContain('https://d.example/')
  })

  it('rejects the promise, never throws, when a predicate configuration throws', async () => {
    const validator = createMultiIssuerValidator({
      issuers: {
        a: plainA(),
        c: {
          issuer: () => {
            throw new Error('predicate failed')
          },
          audience: AUD_A,
          keys: [rsaKey.publicJwk],
        },
      },
    })
    const token = await tokenA({ iss: 'https://c.example/' })
    let decision: unknown
    expect(() => {
      decision = validator.decide(request(`Bearer ${token}`))
    }).not.toThrow()
    await expect(decision).rejects.toThrow('predicate failed')
    await expect(validator.verify(token)).rejects.toThrow('predicate failed')
    expect((await validator.verify(await tokenA())).issuerName).toBe('a')
  })

  it('accepts only the token versions an Entra ID configuration accepts, as owned issuers', async () => {
    const validator = createMultiIssuerValidator({
      issuers: { a: plainA(), entra: entra({ tokenVersions: ['2.0'] }) },
    })
    const jwksBefore = emulator.requestCounts.jwks
    const error = await rejectionOf(validator.verify(entraToken(1)))
    expectInvalidToken(error, 'wrong_issuer', UNKNOWN)
    expect(emulator.requestCounts.jwks).toBe(jwksBefore)
    expect((await validator.verify(entraToken(2))).issuerName).toBe('entra')
  })

  it('routes a multi-tenant Entra ID configuration by the tenant in iss', async () => {
    const validator = createMultiIssuerValidator({
      issuers: {
        a: plainA(),
        entra: entra({ tenant: 'organizations', allowedTenants: [emulator.tenantId] }),
      },
    })
    expect((await validator.verify(entraToken())).issuerName).toBe('entra')
  })

  it("routes a domain tenant's tokens once its id is known, resolving it only when needed", async () => {
    const domain = emulator.tenants[0]?.domain as string
    const before = emulator.requestCounts.discovery
    const validator = createMultiIssuerValidator({
      issuers: { a: plainA(), entra: entra({ ...emulator.azureAdOptions(domain) }) },
    })
    expect(emulator.requestCounts.discovery).toBe(before)
    // A plain issuer's token needs no resolution.
    await validator.verify(await tokenA())
    expect(emulator.requestCounts.discovery).toBe(before)
    expect((await validator.verify(entraToken())).issuerName).toBe('entra')
    expect(emulator.requestCounts.discovery).toBe(before + 1)
    const jwksBefore = emulator.requestCounts.jwks
    const otherTenant = `${emulator.instance}/${crypto.randomUUID()}/v2.0`
    expectInvalidToken(
      await rejectionOf(validator.verify(await tokenA({ iss: otherTenant }))),
      'wrong_issuer',
      UNKNOWN,
    )
    expect(emulator.requestCounts).toMatchObject({ discovery: before + 1, jwks: jwksBefore })
  })

  it('takes a DPoP-bound token for a configuration with DPoP, its proof checked on every request', async () => {
    const validator = createMultiIssuerValidator({
      issuers: { a: { ...plainA(), dpop: { publicOrigin: 'http://api.test' } }, b: plainB() },
    })
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const token = await tokenA({ cnf: { jkt: dpopThumbprint(privateKey) } })
    const dpopRequest = (proof?: string) =>
      new Request('http://api.test/orders', {
        headers: {
          authorization: `DPoP ${token}`,
          ...(proof === undefined ? {} : { dpop: proof }),
        },
      })
    const proof = () =>
      createDpopProof({
        privateKey,
        method: 'GET',
        url: 'http://api.test/orders',
        accessToken: token,
        issuedAt: NOW,
      })
    const first = await settled(validator.decide(dpopRequest(proof())))
    expect(first.auth).toMatchObject({ issuerName: 'a', binding: { method: 'dpop' } })
    const again = await settled(validator.decide(dpopRequest(proof())))
    expect(again.auth?.issuerName).toBe('a')
    // Remembered, yet never without a proof, and never as a Bearer token.
    expect((await settled(validator.decide(dpopRequest()))).error?.status).toBe(401)
    expect((await settled(validator.decide(request(`Bearer ${token}`)))).error?.status).toBe(401)
    // A DPoP-scheme request for the Bearer-only configuration is no credentials there.
    const bToken = await tokenB()
    const asDpop = await settled(
      validator.decide(
        new Request('http://api.test/orders', { headers: { authorization: `DPoP ${bToken}` } }),
      ),
    )
    expect(asDpop.error?.status).toBe(401)
  })

  describe('inspectToken with multi-issuer options', () => {
    const options = () => ({ issuers: { a: plainA(), b: plainB(), entra: entra() } })

    it('inspects the configuration the token picks, and names it', async () => {
      const report = await inspectToken(await tokenB(), options(), { now: NOW })
      expect(report).toMatchObject({ verdict: 'accepted', issuerName: 'b' })
      const wrong = await inspectToken(await tokenA({ aud: AUD_B }), options(), { now: NOW })
      expect(wrong).toMatchObject({ verdict: 'rejected', issuerName: 'a' })
      expect(wrong.checks.find((check) => check.name === 'aud')?.status).toBe('fail')
    })

    it('fails the iss check of a token no configuration owns, fetching nothing', async () => {
      const jwksBefore = emulator.requestCounts.jwks
      const report = await inspectToken(await tokenA({ iss: 'https://evil.example/' }), options(), {
        now: NOW,
      })
      expect(report.verdict).toBe('rejected')
      expect(report.issuerName).toBeUndefined()
      expect(report.error?.reason).toBe('wrong_issuer')
      expect(report.checks.find((check) => check.name === 'iss')).toMatchObject({
        status: 'fail',
        detail: UNKNOWN,
      })
      expect(fetches()).toEqual({ a: 0, b: 0, entra: jwksBefore })
      const unreadable = await inspectToken('not.a.token', options())
      expect(unreadable.verdict).toBe('rejected')
    })
  })

  describe('configuration errors', () => {
    const typeError = (run: () => unknown) => {
      try {
        run()
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError)
        return (error as Error).message
      }
      throw new Error('expected a TypeError')
    }

    it.each([
      [
        'the same issuer twice',
        () => ({ a: plainA(), b: { ...plainB(), issuer: [ISSUER_B, ISSUER_A] } }),
        `issuer "${ISSUER_A}" is configured twice, by "a" and "b"`,
      ],
      [
        'the same Entra ID tenant twice',
        () => ({ one: entra(), two: entra({ clientId: undefined, audience: 'api://x' }) }),
        'is configured twice, by "two" and "one"',
      ],
      [
        'a multi-tenant Entra ID configuration over a single-tenant one',
        () => ({ one: entra(), all: entra({ tenant: 'organizations', allowedTenants: '*' }) }),
        'is configured twice, by "one" and "all"',
      ],
      [
        "a plain configuration naming an Entra ID configuration's issuer",
        () => ({
          entra: entra(),
          plain: { ...plainA(), issuer: `${emulator.instance}/${emulator.tenantId}/v2.0` },
        }),
        'is configured twice, by "plain" and "entra"',
      ],
    ])('refuses %s', (_, issuers, message) => {
      expect(typeError(() => createMultiIssuerValidator({ issuers: issuers() }))).toContain(message)
    })

    it('refuses a multi-tenant Entra ID configuration beside a domain-named tenant it would shadow', () => {
      expect(
        typeError(() =>
          createMultiIssuerValidator({
            issuers: {
              all: entra({ tenant: 'organizations', allowedTenants: '*' }),
              contoso: entra({ tenant: 'contoso.onmicrosoft.com', allowedClients: ['x'] }),
            },
          }),
        ),
      ).toContain('"all" owns every issuer like')
    })

    it('accepts a multi-tenant configuration beside a single tenant it does not allow', () => {
      const other = emulator.tenants[1]?.id ?? crypto.randomUUID()
      const allowed = '11111111-1111-4111-8111-111111111111'
      expect(() =>
        createMultiIssuerValidator({
          issuers: {
            one: entra({ tenant: other, jwksUri: emulator.jwksUri() }),
            some: entra({ tenant: 'organizations', allowedTenants: [allowed] }),
          },
        }),
      ).not.toThrow()
      // But not beside the tenant it allows.
      expect(
        typeError(() =>
          createMultiIssuerValidator({
            issuers: {
              one: entra(),
              some: entra({ tenant: 'organizations', allowedTenants: [emulator.tenantId] }),
            },
          }),
        ),
      ).toContain('is configured twice')
    })

    it('refuses unknown and overlong issuers with wrong_issuer, with and without Entra ID matchers', async () => {
      const plainOnly = createMultiIssuerValidator({ issuers: { a: plainA(), b: plainB() } })
      const long = `https://x.example/${'a'.repeat(600)}`
      for (const iss of ['https://unknown.example/', long]) {
        const decision = await settled(plainOnly.decide(request(`Bearer ${await tokenA({ iss })}`)))
        expect(decision.error?.reason).toBe('wrong_issuer')
      }
      // With an Entra ID matcher too (that router remembers issuers, up to 512 characters each).
      const withEntra = threeIssuers()
      const decision = await settled(
        withEntra.decide(request(`Bearer ${await tokenA({ iss: long })}`)),
      )
      expect(decision.error?.reason).toBe('wrong_issuer')
    })

    it('accepts two Entra ID tenants of one cloud side by side', () => {
      const other = emulator.tenants[1]?.id ?? crypto.randomUUID()
      expect(() =>
        createMultiIssuerValidator({
          issuers: { one: entra(), two: entra({ tenant: other, jwksUri: emulator.jwksUri() }) },
        }),
      ).not.toThrow()
    })

    const A = { issuer: ISSUER_A, audience: AUD_A, keys: [rsaKey.publicJwk] }
    it.each([
      [{}, '"issuers" option must be an object of issuer configurations by name'],
      [{ issuers: {} }, '"issuers" option must be an object of issuer configurations by name'],
      [{ issuers: { a: A }, realms: 'x' }, 'unknown option "realms"'],
      [{ issuers: { a: A }, realm: '' }, '"realm" option must be a non-empty string'],
      [{ issuers: { a: { ...A, name: 'b' } } }, '"issuers.a" has the name "b"'],
      [{ issuers: { a: { ...A, audiance: 'x' } } }, '"issuers.a": unknown option "audiance"'],
      [{ issuers: { a: null } }, '"issuers.a" must be validator options'],
      [{ issuers: { a: A }, onEvent: 1 }, '"onEvent" option must be a function'],
    ])('refuses the options %j', (options, message) => {
      expect(
        typeError(() =>
          createMultiIssuerValidator(
            options as unknown as Parameters<typeof createMultiIssuerValidator>[0],
          ),
        ),
      ).toContain(message)
    })
  })

  it('names each configuration in its map, and AuthInfo stays frozen', async () => {
    const validator = threeIssuers()
    expect([...validator.issuers.keys()]).toEqual(['a', 'b', 'entra'])
    const auth: AuthInfo = await validator.verify(await tokenA())
    expect(Object.isFrozen(auth)).toBe(true)
  })
})

describe('the name option of createValidator', () => {
  it('names the configuration in AuthInfo.issuerName, undefined when unnamed', async () => {
    const named = createValidator({ ...plainA(), name: 'orders' })
    expect((await named.verify(await tokenA())).issuerName).toBe('orders')
    expect((await createValidator(plainA()).verify(await tokenA())).issuerName).toBeUndefined()
  })

  it.each(['', ' lead', 'x'.repeat(101), 'tab\t', 42])('refuses the name %j', (name) => {
    expect(() => createValidator({ ...plainA(), name } as ValidatorOptions)).toThrow(
      '"name" option must be a string of 1 to 100 printable ASCII characters',
    )
  })
})
