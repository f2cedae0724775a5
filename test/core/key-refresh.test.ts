/**
 * The remote key source at its edges: the exact instants a background refresh starts and is
 * retried, what a refresh keeps and retires, which JWKS members count, and the size limits of a
 * fetch. jwks.test.ts covers the behaviour in general; these pin the boundaries.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type BearerGuardEvent,
  createValidator,
  KeysUnavailableError,
  type ValidatorOptions,
} from '../../src/index.js'
import {
  createRemoteKeySource,
  createStaticKeySource,
  fetchJson,
  keyFitsAlgorithm,
} from '../../src/jwks.js'
import { resolveOptions } from '../../src/options.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { ecKey, otherRsaKey, rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW, signRaw } from '../helpers/tokens.js'
import { expectInvalidToken, rejectionOf } from './support.js'

const T0 = NOW * 1000
const NO_KEY = 'no key of the issuer matches the kid and alg of the token'

let server: JwksServer
let rsaToken: string
let ecToken: string

beforeAll(async () => {
  server = await startJwksServer()
  ;[rsaToken, ecToken] = await Promise.all([mintToken(), mintToken({ key: ecKey })])
})
afterAll(async () => {
  await server.close()
})
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(T0)
  server.setMode('ok')
  server.setDelay(0)
  server.setKeys([rsaKey, ecKey])
  server.resetHits()
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

function remote(extra: Partial<ValidatorOptions> = {}) {
  const events: BearerGuardEvent[] = []
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: server.jwksUri,
    onEvent: (event) => events.push(event),
    ...extra,
  } as ValidatorOptions)
  const of = <T extends BearerGuardEvent['type']>(type: T) =>
    events.filter((event): event is Extract<BearerGuardEvent, { type: T }> => event.type === type)
  return { validator, events, of }
}

function at(ms: number): void {
  vi.setSystemTime(T0 + ms)
}

/** Polls on real timers (vi.waitFor would move the fake clock). */
async function settle(check: () => void, timeout = 3_000): Promise<void> {
  const end = performance.now() + timeout
  for (;;) {
    try {
      check()
      return
    } catch (error) {
      if (performance.now() > end) throw error
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('background refresh: when it starts', () => {
  it('starts at exactly 80 % of cacheMaxAge when the jitter is zero, not a millisecond before', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const { validator } = remote({ cacheMaxAge: 10_000, tokenCache: false })
    await validator.warmUp()
    at(7_999)
    await validator.verify(rsaToken)
    await pause(30)
    expect(server.hits).toBe(1)
    at(8_000)
    await validator.verify(rsaToken)
    await settle(() => expect(server.hits).toBe(2))
  })

  it('starts by 90 % of cacheMaxAge whatever the jitter', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999)
    const { validator } = remote({ cacheMaxAge: 10_000, tokenCache: false })
    await validator.warmUp()
    at(8_999)
    await validator.verify(rsaToken)
    await pause(30)
    expect(server.hits).toBe(1)
    at(9_000)
    await validator.verify(rsaToken)
    await settle(() => expect(server.hits).toBe(2))
  })

  it('after a failed refresh, tries again only once cooldownDuration has passed', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const { validator, of } = remote({
      cacheMaxAge: 10_000,
      cooldownDuration: 5_000,
      tokenCache: false,
    })
    await validator.warmUp()
    server.setMode('down')
    at(8_000)
    await validator.verify(rsaToken)
    await settle(() => expect(of('keys_refresh_failed')).toHaveLength(1))
    at(12_999)
    await validator.verify(rsaToken)
    await pause(30)
    expect(server.hits).toBe(2)
    at(13_000)
    await validator.verify(rsaToken)
    await settle(() => expect(of('keys_refresh_failed')).toHaveLength(2))
    expect(server.hits).toBe(3)
  })

  it('after a failed refresh, waits at least a second even with cooldownDuration 0', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const { validator, of } = remote({
      cacheMaxAge: 10_000,
      cooldownDuration: 0,
      tokenCache: false,
    })
    await validator.warmUp()
    server.setMode('down')
    at(8_000)
    await validator.verify(rsaToken)
    await settle(() => expect(of('keys_refresh_failed')).toHaveLength(1))
    at(8_999)
    await validator.verify(ecToken)
    await pause(30)
    expect(server.hits).toBe(2)
    at(9_000)
    await validator.verify(ecToken)
    await settle(() => expect(server.hits).toBe(3))
  })

  it('a token with a new kid joins a refresh in flight, even within the cooldown', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const { validator } = remote({ cacheMaxAge: 10_000, tokenCache: false })
    await validator.warmUp()
    server.setKeys([rsaKey, ecKey, otherRsaKey])
    server.setDelay(150)
    at(8_000)
    // Starts the background refresh, and is answered from the keys in hand.
    await validator.verify(rsaToken)
    const rotated = await validator.verify(await mintToken({ key: otherRsaKey }))
    expect(rotated.header.kid).toBe('rsa-2')
    expect(server.hits).toBe(2)
  })
})

describe('outage window: maxStaleAge', () => {
  it('reports servingStaleKeys up to and including maxStaleAge after the last fetch', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const { validator, of } = remote({
      cacheMaxAge: 10_000,
      maxStaleAge: 60_000,
      tokenCache: false,
    })
    await validator.warmUp()
    server.setMode('down')
    at(60_000)
    await validator.verify(rsaToken)
    await settle(() => expect(of('keys_refresh_failed')).toHaveLength(1))
    expect(of('keys_refresh_failed')[0]).toMatchObject({
      servingStaleKeys: true,
      trigger: 'background',
    })
    at(60_001)
    const error = await rejectionOf(validator.verify(rsaToken))
    expect(error).toBeInstanceOf(KeysUnavailableError)
    expect(of('keys_refresh_failed')[1]).toMatchObject({
      servingStaleKeys: false,
      trigger: 'expired',
    })
  })

  it('names the first fetch "initial" and a fetch past maxStaleAge "expired"', async () => {
    const { validator, of } = remote({ cacheMaxAge: 10_000, maxStaleAge: 20_000 })
    await validator.warmUp()
    at(20_001)
    await validator.verify(ecToken)
    expect(of('keys_refreshed').map((event) => event.trigger)).toEqual(['initial', 'expired'])
  })
})

describe('what a refresh keeps', () => {
  it('keeps a verified token cached through a refresh that lists its key unchanged', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const { validator, of } = remote({ cacheMaxAge: 10_000 })
    const first = await validator.verify(rsaToken)
    expect(await validator.verify(rsaToken)).toBe(first)
    at(8_000)
    await validator.verify(ecToken)
    await settle(() => expect(of('keys_refreshed')).toHaveLength(2))
    expect(await validator.verify(rsaToken)).toBe(first)
    expect(of('keys_rotated')).toEqual([])
  })

  it('drops a cached token when its key comes back with other key material', async () => {
    const { validator } = remote({ cooldownDuration: 0 })
    const first = await validator.verify(rsaToken)
    // Same kid, new material: the old entry is retired, and the token no longer verifies.
    server.setKeys({ keys: [{ ...otherRsaKey.publicJwk, kid: 'rsa-1' }, ecKey.publicJwk] })
    await rejectionOf(validator.verify(await mintToken({ key: otherRsaKey, header: { kid: 'x' } })))
    const error = await rejectionOf(validator.verify(rsaToken))
    expect(error.reason).toBe('bad_signature')
    expect(first.subject).toBe('user-123')
  })

  it('reports keys_rotated for a removal alone and for an addition alone, never for no change', async () => {
    const { validator, of } = remote({ cooldownDuration: 0 })
    await validator.warmUp()
    server.setKeys([rsaKey])
    await rejectionOf(validator.verify(await mintToken({ key: otherRsaKey })))
    server.setKeys([rsaKey, otherRsaKey])
    await validator.verify(await mintToken({ key: otherRsaKey }))
    await rejectionOf(validator.verify(await mintToken({ key: otherRsaKey, header: { kid: 'z' } })))
    expect(of('keys_rotated')).toEqual([
      { type: 'keys_rotated', added: [], removed: ['ec-1'] },
      { type: 'keys_rotated', added: ['rsa-2'], removed: [] },
    ])
    expect(of('keys_refreshed')).toHaveLength(4)
  })
})

describe('what counts in a JWKS', () => {
  it('uses keys without kid for tokens without kid, and lists only real kids', async () => {
    const { kid: _kid, ...noKid } = ecKey.publicJwk
    server.setKeys({ keys: [noKid, rsaKey.publicJwk] })
    const { validator, of } = remote()
    const token = await mintToken({ key: ecKey, header: { kid: undefined } })
    expect((await validator.verify(token)).subject).toBe('user-123')
    expect(of('keys_refreshed')[0]?.keyIds).toEqual(['rsa-1'])
  })

  it('takes a kid of 1,024 characters and skips one of 1,025', async () => {
    const long = 'k'.repeat(1_024)
    const tooLong = 'k'.repeat(1_025)
    server.setKeys({
      keys: [
        { ...rsaKey.publicJwk, kid: long },
        { ...ecKey.publicJwk, kid: tooLong },
        ecKey.publicJwk,
      ],
    })
    const { validator, of } = remote()
    await validator.warmUp()
    expect(of('keys_refreshed')[0]?.keyIds).toEqual([long, 'ec-1'])
    const signed = await mintToken({ header: { kid: long } })
    expect((await validator.verify(signed)).header.kid).toBe(long)
  })

  it('skips private, symmetric and non-object members, using the rest', async () => {
    server.setKeys({
      keys: [
        [],
        'key',
        42,
        null,
        { ...otherRsaKey.publicJwk, kid: 42 },
        { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0' },
        { ...otherRsaKey.privateJwk, kid: 'private' },
        { kid: 'no-kty' },
        { kty: 'RSA', kid: 'bad-rsa', n: 'AQAB', e: 'AQAB', crv: 'P-256' },
        { kty: 'EC', crv: 'P-999', kid: 'bad-curve', x: 'AA', y: 'AA' },
        rsaKey.publicJwk,
      ],
    })
    const { validator, of } = remote()
    await validator.verify(rsaToken)
    // bad-rsa imports (a 1-byte modulus), but can verify nothing: no RSA key under 2048 bits does.
    expect(of('keys_refreshed')[0]?.keyIds).toEqual(['bad-rsa', 'rsa-1'])
    const byPrivate = await mintToken({ key: { ...otherRsaKey, kid: 'private' } })
    expectInvalidToken(await rejectionOf(validator.verify(byPrivate)), 'unknown_key', NO_KEY)
  })

  it('never lets a key published for RS256 verify a PS256 token (JWK "alg")', async () => {
    server.setKeys([rsaKey])
    const { validator } = remote()
    const header = JSON.stringify({ alg: 'PS256', kid: 'rsa-1', typ: 'JWT' })
    const payload = JSON.stringify({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-123',
      exp: NOW + 3600,
    })
    const pss = signRaw(header, payload, { ...rsaKey, alg: 'PS256' })
    expectInvalidToken(await rejectionOf(validator.verify(pss)), 'unknown_key', NO_KEY)
  })

  it.each([
    ['null', 'null'],
    ['a string', '"keys"'],
    ['keys that is not an array', '{"keys":{}}'],
  ])('refuses a JWKS document that is %s, with a 503', async (_, body) => {
    server.setKeys(JSON.parse(body))
    const { validator, of } = remote()
    expect((await rejectionOf(validator.verify(rsaToken))).status).toBe(503)
    expect(of('keys_refresh_failed')[0]?.message).toBe(
      'the response is not a JSON Web Key Set (no "keys" array)',
    )
  })

  it('a JWK with a crv member still fits an RSA algorithm only by its kty', () => {
    expect(keyFitsAlgorithm({ kty: 'RSA', crv: 'P-256' }, 'RS256')).toBe(true)
    expect(keyFitsAlgorithm({ kty: 'EC', crv: 'P-256', alg: 'ES256' }, 'ES256')).toBe(true)
  })
})

describe('key sources: synchronous lookups', () => {
  it('a remote source answers peek() at once after warmUp()', async () => {
    const options = resolveOptions({ issuer: ISSUER, audience: AUDIENCE, jwksUri: server.jwksUri })
    const source = createRemoteKeySource(options, { kind: 'jwks', url: new URL(server.jwksUri) })
    expect(source.peek({ alg: 'RS256', kid: 'rsa-1' })).toBeUndefined()
    await source.warmUp()
    expect(source.peek({ alg: 'RS256', kid: 'rsa-1' })?.entry.jwk.kid).toBe('rsa-1')
    expect(source.peek({ alg: 'RS256', kid: 'nope' })).toBeUndefined()
  })

  it('a static source answers peek() at once after warmUp()', async () => {
    const options = resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })
    const source = createStaticKeySource(options, toJwks(rsaKey))
    await source.warmUp()
    expect(source.peek({ alg: 'RS256', kid: 'rsa-1' })?.entry.jwk.kid).toBe('rsa-1')
    expect((await source.getKey({ alg: 'RS256', kid: 'rsa-1' })).entry.jwk.kid).toBe('rsa-1')
  })

  it('static keys none of which can be imported: every token is a 401, never a crash', async () => {
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: [{ kty: 'EC', crv: 'P-256', kid: 'ec-1', x: 'AA', y: 'AA' }],
    })
    await validator.warmUp()
    expectInvalidToken(
      await rejectionOf(validator.verify(ecToken)),
      'unknown_key',
      'no configured key matches the kid and alg of the token',
    )
  })
})

describe('fetchJson: limits', () => {
  let raw: Server
  let origin = ''
  let body = ''
  let declareLength = true

  beforeAll(async () => {
    raw = createServer((_req, res) => {
      const headers: Record<string, string | number> = { 'content-type': 'application/json' }
      if (declareLength) headers['content-length'] = Buffer.byteLength(body)
      res.writeHead(200, headers)
      // Two writes, so an undeclared body arrives in more than one chunk.
      const half = Math.floor(body.length / 2)
      res.write(body.slice(0, half))
      res.end(body.slice(half))
    })
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    raw.closeAllConnections()
    await new Promise((resolve) => raw.close(resolve))
  })

  /** A JSON document of exactly `size` bytes. */
  function documentOf(size: number): string {
    const empty = JSON.stringify({ keys: [], padding: '' })
    return JSON.stringify({ keys: [], padding: 'p'.repeat(size - empty.length) })
  }

  it.each([true, false])(
    'reads a body of exactly maxSize bytes and refuses one byte more (content-length: %s)',
    async (declared) => {
      declareLength = declared
      body = documentOf(2_048)
      expect(Buffer.byteLength(body)).toBe(2_048)
      await expect(fetchJson(new URL(`${origin}/keys`), 2_000, 2_048)).resolves.toMatchObject({
        keys: [],
      })
      body = documentOf(2_049)
      await expect(fetchJson(new URL(`${origin}/keys`), 2_000, 2_048)).rejects.toThrow(
        'the response is larger than 2048 bytes',
      )
    },
  )

  it('refuses a body declared larger than maxSize at once, without waiting to read it', async () => {
    const slow = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 10_000_000 })
      // A first byte, then nothing: reading the body would take until the time-out.
      res.write('{')
    })
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    try {
      const url = new URL(`http://127.0.0.1:${(slow.address() as AddressInfo).port}/keys`)
      const started = performance.now()
      await expect(fetchJson(url, 2_000, 4_096)).rejects.toThrow(
        'the response is larger than 4096 bytes',
      )
      expect(performance.now() - started).toBeLessThan(1_000)
    } finally {
      slow.closeAllConnections()
      await new Promise((resolve) => slow.close(resolve))
    }
  })

  it('keeps the abort as the cause of a time-out', async () => {
    server.setMode('hang')
    const error = await fetchJson(new URL(server.jwksUri), 100, 4_096).catch((e: Error) => e)
    expect((error as Error).message).toBe(`${server.jwksUri} did not answer within 100 ms`)
    expect((error as Error).cause).toBeInstanceOf(Error)
    expect(((error as Error).cause as Error).name).toBe('TimeoutError')
  })
})
