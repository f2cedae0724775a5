/**
 * azureAd() with a verified domain as its tenant: the tenant id is read once from the tenant's
 * discovery document (a real local server here), a failure answers 503 and is retried by the
 * next request, and a document without a tenant id is refused.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type AzureAdOptions,
  azureAd,
  KeysUnavailableError,
  type TokenClaims,
} from '../../src/index.js'

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const CLIENT = '6e74172b-be56-4843-9ff4-e66a39bb12e3'
const DOMAIN = 'contoso.onmicrosoft.com'

let server: Server
let instance = ''
let body = ''
let status = 200
let hits = 0
const paths: string[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++
    paths.push(req.url ?? '')
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  instance = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})
beforeEach(() => {
  hits = 0
  paths.length = 0
  status = 200
  body = JSON.stringify({ issuer: `https://login.microsoftonline.com/${TENANT}/v2.0` })
})

type IssuerRule = (iss: string, claims: TokenClaims) => boolean | Promise<boolean>

function issuerRule(extra: Partial<AzureAdOptions> = {}): IssuerRule {
  const options = azureAd({ tenant: DOMAIN, clientId: CLIENT, instance, ...extra })
  return options.issuer as IssuerRule
}

const v2 = (tid: string) => `${instance}/${tid}/v2.0`
const claims = (tid: string) => ({ tid }) as unknown as TokenClaims

async function failureOf(promise: boolean | Promise<boolean>): Promise<KeysUnavailableError> {
  const error = await Promise.resolve(promise).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeysUnavailableError)
  return error as KeysUnavailableError
}

describe('azureAd with a domain tenant', () => {
  it('reads the tenant id once, from the tenant discovery document', async () => {
    const issuer = issuerRule()
    expect(await issuer(v2(TENANT), claims(TENANT))).toBe(true)
    expect(
      await issuer(
        v2('f8cdef31-a31e-4b4a-93e4-5f571e91255a'),
        claims('f8cdef31-a31e-4b4a-93e4-5f571e91255a'),
      ),
    ).toBe(false)
    expect(hits).toBe(1)
    expect(paths).toEqual([`/${DOMAIN}/v2.0/.well-known/openid-configuration`])
  })

  it('shares one fetch among concurrent first requests', async () => {
    const issuer = issuerRule()
    const verdicts = await Promise.all(
      Array.from({ length: 20 }, () => issuer(v2(TENANT), claims(TENANT))),
    )
    expect(verdicts).toEqual(Array(20).fill(true))
    expect(hits).toBe(1)
  })

  it.each([
    ['no issuer', JSON.stringify({ jwks_uri: 'x' })],
    ['an issuer without a tenant id', JSON.stringify({ issuer: 'https://login.example/v2.0' })],
    ['an issuer that is not a string', JSON.stringify({ issuer: 42 })],
    ['null', 'null'],
  ])(
    'answers 503 for a document with %s, again without a fetch for timeoutDuration, then retries',
    async (_, doc) => {
      body = doc
      const start = Date.now()
      vi.useFakeTimers({ toFake: ['Date'], now: start })
      try {
        const issuer = issuerRule({ timeoutDuration: 2_500 })
        const error = await failureOf(issuer(v2(TENANT), claims(TENANT)))
        expect(error.status).toBe(503)
        expect(error.reason).toBe('keys_unavailable')
        expect(error.headers['Retry-After']).toBe('3')
        expect((error.cause as Error).message).toBe(
          'the tenant discovery document names no tenant id',
        )
        body = JSON.stringify({ issuer: `https://sts.windows.net/${TENANT}/` })
        // Within the cooldown: the same 503, no fetch (a stream of foreign tenants' tokens costs none).
        vi.setSystemTime(start + 2_499)
        expect((await failureOf(issuer(v2(TENANT), claims(TENANT)))).status).toBe(503)
        expect(hits).toBe(1)
        vi.setSystemTime(start + 2_500)
        expect(await issuer(v2(TENANT), claims(TENANT))).toBe(true)
        expect(hits).toBe(2)
      } finally {
        vi.useRealTimers()
      }
    },
  )

  it.each([
    [undefined, 524_288],
    [4_096, 4_096],
  ])(
    'refuses a discovery document over maxResponseSize (%s): 503',
    async (maxResponseSize, limit) => {
      body = JSON.stringify({
        issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
        padding: 'p'.repeat(limit),
      })
      const issuer = issuerRule(maxResponseSize === undefined ? {} : { maxResponseSize })
      const error = await failureOf(issuer(v2(TENANT), claims(TENANT)))
      expect((error.cause as Error).message).toBe(`the response is larger than ${limit} bytes`)
    },
  )

  it('answers 503 while the discovery document cannot be had', async () => {
    status = 500
    const issuer = issuerRule()
    const error = await failureOf(issuer(v2(TENANT), claims(TENANT)))
    expect(error.headers['Retry-After']).toBe('5')
    expect((error.cause as Error).message).toContain('answered HTTP 500')
  })
})

describe('azureAd with a domain tenant: waiting only where it is real (issue #10 point 5)', () => {
  it('checks the issuer synchronously once the tenant id is known', async () => {
    const issuer = issuerRule()
    const first = issuer(v2(TENANT), claims(TENANT))
    expect(first).toBeInstanceOf(Promise)
    expect(await first).toBe(true)
    // Known now: a plain boolean, no promise, no fetch.
    expect(issuer(v2(TENANT), claims(TENANT))).toBe(true)
    expect(issuer(v2(CLIENT), claims(CLIENT))).toBe(false)
    expect(hits).toBe(1)
  })

  it('has warmUp() resolve the domain with the keys, so the first token waits for nothing', async () => {
    const options = azureAd({ tenant: DOMAIN, clientId: CLIENT, instance })
    expect(typeof options.prefetch).toBe('function')
    await options.prefetch?.()
    expect(hits).toBe(1)
    expect((options.issuer as IssuerRule)(v2(TENANT), claims(TENANT))).toBe(true)
    expect(hits).toBe(1)
  })

  it('has warmUp() reject with a 503 whose cause says why the domain could not be resolved', async () => {
    status = 500
    const options = azureAd({ tenant: DOMAIN, clientId: CLIENT, instance })
    const error = await failureOf(options.prefetch?.() as unknown as Promise<boolean>)
    expect((error.cause as Error).message).toContain('answered HTTP 500')
  })

  it('needs no prefetch for a tenant id or a multi-tenant profile', () => {
    expect(azureAd({ tenant: TENANT, clientId: CLIENT }).prefetch).toBeUndefined()
    expect(
      azureAd({ tenant: 'organizations', clientId: CLIENT, allowedTenants: '*' }).prefetch,
    ).toBeUndefined()
  })
})
