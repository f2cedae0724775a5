import { createPublicKey, verify } from 'node:crypto'
import {
  compactVerify,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
} from 'jose'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  HUGE_BODY_BYTES,
  type JwksServer,
  REDIRECT_PATH,
  startCountingServer,
  startJwksServer,
} from './jwks-server.js'
import {
  attackerKey,
  createTestKey,
  ecKey,
  FIXTURE_KIDS,
  loadFixtureKey,
  otherRsaKey,
  readFixtureJwks,
  rsaKey,
  TEST_ALGS,
  type TestAlg,
  type TestKey,
  toJwks,
} from './keys.js'
import {
  AUDIENCE,
  b64url,
  decodeSegment,
  defaultClaims,
  hs256WithKey,
  ISSUER,
  mintToken,
  NOW,
  signRaw,
  unsigned,
} from './tokens.js'

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']
const verifyOptions = { issuer: ISSUER, audience: AUDIENCE }

function segments(token: string): [string, string, string] {
  const parts = token.split('.')
  expect(parts).toHaveLength(3)
  return parts as [string, string, string]
}

/** Checks a compact JWS signature with node:crypto, ignoring what the header's `alg` says. */
function hasValidSignature(token: string, key: TestKey): boolean {
  const [header, payload, signature] = segments(token)
  const publicKey = createPublicKey({ key: key.publicJwk, format: 'jwk' })
  const hash = key.alg === 'EdDSA' ? null : `sha${key.alg.slice(2)}`
  return verify(
    hash,
    Buffer.from(`${header}.${payload}`),
    key.alg.startsWith('ES') ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey,
    Buffer.from(signature, 'base64url'),
  )
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
})

afterEach(() => {
  vi.useRealTimers()
})

describe('keys', () => {
  it('provides the fixed keys with their kids and algorithms', () => {
    expect([rsaKey, ecKey, otherRsaKey, attackerKey].map((k) => [k.kid, k.alg])).toEqual([
      ['rsa-1', 'RS256'],
      ['ec-1', 'ES256'],
      ['rsa-2', 'RS256'],
      ['rsa-1', 'RS256'],
    ])
    expect(attackerKey.publicJwk.n).not.toBe(rsaKey.publicJwk.n)
    expect(otherRsaKey.publicJwk.n).not.toBe(rsaKey.publicJwk.n)
  })

  it('gives public JWKs with kid, alg and use and no private members', () => {
    for (const key of [rsaKey, ecKey]) {
      expect(key.publicJwk).toMatchObject({ kid: key.kid, alg: key.alg, use: 'sig' })
      for (const member of PRIVATE_MEMBERS) expect(key.publicJwk).not.toHaveProperty(member)
      expect(key.privateJwk).toMatchObject({ kid: key.kid, alg: key.alg, d: expect.any(String) })
    }
  })

  it('makes a random kid from the algorithm when none is given', async () => {
    const key = await createTestKey('ES384')
    expect(key.kid).toMatch(/^es384-[0-9a-f]+$/)
    expect(key.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-384', kid: key.kid })
  })

  it('toJwks returns copies of the public JWKs', () => {
    const jwks = toJwks(rsaKey, ecKey)
    expect(jwks).toEqual({ keys: [rsaKey.publicJwk, ecKey.publicJwk] })
    expect(jwks.keys[0]).not.toBe(rsaKey.publicJwk)
  })

  it('ships a public-only fixture JWKS whose private keys sign verifiable tokens', async () => {
    const jwks = readFixtureJwks()
    expect(jwks.keys.map((k) => k.kid)).toEqual([...FIXTURE_KIDS])
    for (const jwk of jwks.keys) {
      expect(jwk.use).toBe('sig')
      for (const member of PRIVATE_MEMBERS) expect(jwk).not.toHaveProperty(member)
    }
    const keySet = createLocalJWKSet(jwks)
    for (const kid of FIXTURE_KIDS) {
      const key = await loadFixtureKey(kid)
      const { protectedHeader } = await jwtVerify(await mintToken({ key }), keySet, verifyOptions)
      expect(protectedHeader).toEqual({ alg: key.alg, kid, typ: 'JWT' })
    }
  })
})

describe('mintToken', () => {
  const keySet = createLocalJWKSet(toJwks(rsaKey, ecKey))

  it('mints a token with the default header and claims that verifies at NOW', async () => {
    const token = await mintToken()
    const { payload, protectedHeader } = await jwtVerify(token, keySet, verifyOptions)
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: 'rsa-1', typ: 'JWT' })
    expect(payload).toEqual(defaultClaims)
    expect(defaultClaims).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-123',
      azp: 'client-abc',
      iat: NOW,
      nbf: NOW,
      exp: NOW + 3600,
      scp: 'Files.Read Files.Write',
    })
  })

  it('signs with the given key', async () => {
    const token = await mintToken({ key: ecKey })
    const { protectedHeader } = await jwtVerify(token, keySet, verifyOptions)
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: 'ec-1', typ: 'JWT' })
  })

  it('merges claims over the defaults and removes claims set to undefined', async () => {
    const token = await mintToken({ claims: { scp: undefined, nbf: undefined, roles: ['A.B'] } })
    const { payload } = await jwtVerify(token, keySet, verifyOptions)
    const { scp: _scp, nbf: _nbf, ...rest } = defaultClaims
    expect(payload).toEqual({ ...rest, roles: ['A.B'] })
  })

  it('merges the header and removes parameters set to undefined', async () => {
    const token = await mintToken({ header: { typ: undefined, kid: 'rsa-2', cty: 'x' } })
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: 'rsa-2', cty: 'x' })
    expect(hasValidSignature(token, rsaKey)).toBe(true)
  })

  it('produces tokens that fail against the JWKS when signed by the attacker key', async () => {
    const token = await mintToken({ key: attackerKey })
    expect(decodeProtectedHeader(token).kid).toBe('rsa-1')
    await expect(jwtVerify(token, keySet, verifyOptions)).rejects.toBeInstanceOf(
      errors.JWSSignatureVerificationFailed,
    )
  })

  it('still signs headers jose refuses (unknown crit, mismatched or missing alg)', async () => {
    const crit = await mintToken({ header: { crit: ['exp'], exp: 1 } })
    expect(decodeProtectedHeader(crit)).toEqual({
      alg: 'RS256',
      kid: 'rsa-1',
      typ: 'JWT',
      crit: ['exp'],
      exp: 1,
    })
    await compactVerify(crit, rsaKey.publicKey, { crit: { exp: true } })
    await expect(jwtVerify(crit, keySet, verifyOptions)).rejects.toBeInstanceOf(
      errors.JOSENotSupported,
    )

    const mismatched = await mintToken({ header: { alg: 'RS512' } })
    expect(decodeProtectedHeader(mismatched).alg).toBe('RS512')
    expect(hasValidSignature(mismatched, rsaKey)).toBe(true)

    const missing = await mintToken({ key: ecKey, header: { alg: undefined } })
    expect(decodeProtectedHeader(missing)).toEqual({ kid: 'ec-1', typ: 'JWT' })
    expect(hasValidSignature(missing, ecKey)).toBe(true)
  })
})

describe('signRaw', () => {
  const keys = new Map<TestAlg, TestKey>()

  beforeAll(async () => {
    const made = await Promise.all(TEST_ALGS.map((alg) => createTestKey(alg)))
    for (const key of made) keys.set(key.alg, key)
  })

  it.each(TEST_ALGS)('signs %s tokens that jose verifies, and mintToken does too', async (alg) => {
    const key = keys.get(alg) as TestKey
    const keySet = createLocalJWKSet(toJwks(key))
    const header = JSON.stringify({ alg, kid: key.kid, typ: 'JWT' })
    const raw = signRaw(header, JSON.stringify(defaultClaims), key)
    const options = { ...verifyOptions, algorithms: [alg] }
    expect((await jwtVerify(raw, keySet, options)).payload).toEqual(defaultClaims)
    expect((await jwtVerify(await mintToken({ key }), keySet, options)).payload).toEqual(
      defaultClaims,
    )
  })

  it('keeps the exact JSON, duplicate members and whitespace included', () => {
    const header = '{ "alg":"RS256", "alg":"none",\n"kid":"rsa-1" }'
    const payload = '{"sub":"a","sub":"b"}'
    const [h, p] = segments(signRaw(header, payload, rsaKey))
    expect(Buffer.from(h, 'base64url').toString()).toBe(header)
    expect(Buffer.from(p, 'base64url').toString()).toBe(payload)
    expect(hasValidSignature(signRaw(header, payload, rsaKey), rsaKey)).toBe(true)
  })
})

describe('encoding helpers', () => {
  it('b64url encodes UTF-8 strings and bytes without padding', () => {
    expect(b64url('{"alg":"none"}')).toBe('eyJhbGciOiJub25lIn0')
    expect(b64url(Uint8Array.of(0xfb, 0xff))).toBe('-_8')
    expect(b64url('é')).toBe('w6k')
  })

  it('decodeSegment parses the JSON of a segment', async () => {
    const [header, payload] = segments(await mintToken())
    expect(decodeSegment(header)).toEqual({ alg: 'RS256', kid: 'rsa-1', typ: 'JWT' })
    expect(decodeSegment(payload)).toEqual(defaultClaims)
  })

  it('hs256WithKey makes HMAC-SHA-256 tokens over the exact JSON', async () => {
    const secret = 'a-secret-that-is-at-least-32-bytes-long'
    const token = hs256WithKey('{"alg":"HS256"}', JSON.stringify(defaultClaims), secret)
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), verifyOptions)
    expect(payload).toEqual(defaultClaims)
  })

  it('unsigned builds alg none tokens with an optional signature segment', async () => {
    const token = unsigned({ alg: 'none' }, { sub: 'x' })
    expect(token).toBe(`${b64url('{"alg":"none"}')}.${b64url('{"sub":"x"}')}.`)
    expect(unsigned({ alg: 'none' }, {}, 'sig').endsWith('.sig')).toBe(true)
    await expect(jwtVerify(token, createLocalJWKSet(toJwks(rsaKey)))).rejects.toThrow()
  })
})

describe('startJwksServer', () => {
  let server: JwksServer

  beforeAll(async () => {
    server = await startJwksServer()
  })

  afterAll(async () => {
    await server.close()
  })

  beforeEach(() => {
    server.setMode('ok')
    server.setDiscoveryMode('ok')
    server.setDelay(0)
    server.setCacheControl(undefined)
    server.setKeys([rsaKey, ecKey])
    server.resetHits()
  })

  it('serves the keys on 127.0.0.1 and records each request', async () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(server.jwksUri).toBe(`${server.origin}/keys`)
    const res = await fetch(server.jwksUri, { headers: { 'x-test': '1' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('cache-control')).toBeNull()
    expect(await res.json()).toEqual(toJwks(rsaKey, ecKey))
    expect(server.hits).toBe(1)
    expect(server.requests).toEqual([
      { path: '/keys', headers: expect.objectContaining({ 'x-test': '1' }) },
    ])
  })

  it('lets jose verify tokens through createRemoteJWKSet', async () => {
    const keySet = createRemoteJWKSet(new URL(server.jwksUri))
    await jwtVerify(await mintToken(), keySet, verifyOptions)
    await jwtVerify(await mintToken({ key: ecKey }), keySet, verifyOptions)
    expect(server.hits).toBe(1)
  })

  it('serves a discovery document pointing at the keys', async () => {
    const res = await fetch(server.discoveryUrl)
    expect(await res.json()).toEqual({ issuer: ISSUER, jwks_uri: server.jwksUri })
    expect(server.discoveryHits).toBe(1)
    expect(server.hits).toBe(0)
    server.setDiscoveryMode('down')
    expect((await fetch(server.discoveryUrl)).status).toBe(500)
    expect(server.discoveryHits).toBe(2)
  })

  it('uses the issuer and keys options', async () => {
    const custom = await startJwksServer({ issuer: 'https://other.example/', keys: [otherRsaKey] })
    try {
      expect(await (await fetch(custom.discoveryUrl)).json()).toEqual({
        issuer: 'https://other.example/',
        jwks_uri: custom.jwksUri,
      })
      expect(await (await fetch(custom.jwksUri)).json()).toEqual(toJwks(otherRsaKey))
    } finally {
      await custom.close()
    }
  })

  it('rotates keys given as TestKeys or as a raw JWKS', async () => {
    server.setKeys([otherRsaKey])
    expect(await (await fetch(server.jwksUri)).json()).toEqual(toJwks(otherRsaKey))
    server.setKeys({ keys: [{ kty: 'oct', k: 'AAAA' }] })
    expect(await (await fetch(server.jwksUri)).json()).toEqual({
      keys: [{ kty: 'oct', k: 'AAAA' }],
    })
    expect(server.hits).toBe(2)
    server.resetHits()
    expect([server.hits, server.discoveryHits, server.requests.length]).toEqual([0, 0, 0])
  })

  it('sets Cache-Control when asked', async () => {
    server.setCacheControl('max-age=60')
    const res = await fetch(server.jwksUri)
    expect(res.headers.get('cache-control')).toBe('max-age=60')
  })

  it('waits setDelay ms before answering in ok mode', async () => {
    server.setDelay(80)
    const started = performance.now()
    expect((await fetch(server.jwksUri)).status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(70)
  })

  it.each([
    ['down', 500],
    ['not-found', 404],
  ] as const)('answers %s with %i', async (mode, status) => {
    server.setMode(mode)
    expect((await fetch(server.jwksUri)).status).toBe(status)
    expect(server.hits).toBe(1)
  })

  it.each([
    ['empty', { keys: [] }],
    ['wrong-shape', { foo: 1 }],
  ] as const)('answers %s with 200 and %j', async (mode, body) => {
    server.setMode(mode)
    const res = await fetch(server.jwksUri)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(body)
  })

  it('answers garbage with 200 and a body that is not JSON', async () => {
    server.setMode('garbage')
    const res = await fetch(server.jwksUri)
    expect(res.status).toBe(200)
    await expect(res.json()).rejects.toBeInstanceOf(SyntaxError)
  })

  it('streams a multi-MB valid JWKS without content-length in huge mode', async () => {
    server.setMode('huge')
    const res = await fetch(server.jwksUri)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBeNull()
    const text = await res.text()
    expect(text.length).toBe(HUGE_BODY_BYTES)
    expect(JSON.parse(text).keys).toEqual(toJwks(rsaKey, ecKey).keys)
  })

  it('redirects to another path that serves the keys', async () => {
    server.setMode('redirect')
    const manual = await fetch(server.jwksUri, { redirect: 'manual' })
    expect(manual.status).toBe(302)
    expect(manual.headers.get('location')).toBe(`${server.origin}${REDIRECT_PATH}`)
    const followed = await fetch(server.jwksUri)
    expect(followed.redirected).toBe(true)
    expect(await followed.json()).toEqual(toJwks(rsaKey, ecKey))
    expect(server.hits).toBe(2)
    expect(server.requests.map((r) => r.path)).toEqual(['/keys', '/keys', REDIRECT_PATH])
  })

  it('never answers in hang mode', async () => {
    server.setMode('hang')
    await expect(fetch(server.jwksUri, { signal: AbortSignal.timeout(100) })).rejects.toMatchObject(
      { name: 'TimeoutError' },
    )
    expect(server.hits).toBe(1)
  })

  it('destroys the socket in refuse mode', async () => {
    server.setMode('refuse')
    await expect(fetch(server.jwksUri)).rejects.toThrow(TypeError)
    expect(server.hits).toBeGreaterThanOrEqual(1)
  })

  it('answers 404 on other paths without counting a hit', async () => {
    expect((await fetch(`${server.origin}/other`)).status).toBe(404)
    expect(server.hits).toBe(0)
  })

  it('closes promptly with hanging and delayed requests pending', async () => {
    const doomed = await startJwksServer()
    doomed.setMode('hang')
    const hanging = fetch(doomed.jwksUri).catch((error: unknown) => error)
    doomed.setMode('ok')
    doomed.setDelay(60_000)
    const delayed = fetch(doomed.jwksUri).catch((error: unknown) => error)
    await vi.waitFor(() => expect(doomed.hits).toBe(2), { interval: 5 })
    const started = performance.now()
    await doomed.close()
    await doomed.close()
    expect(performance.now() - started).toBeLessThan(1000)
    expect(await hanging).toBeInstanceOf(TypeError)
    expect(await delayed).toBeInstanceOf(TypeError)
  })
})

describe('startCountingServer', () => {
  it('answers any path with the attacker JWKS and counts hits', async () => {
    const trap = await startCountingServer()
    try {
      expect(trap.hits).toBe(0)
      expect(await (await fetch(trap.url)).json()).toEqual(toJwks(attackerKey))
      await fetch(new URL('/x5u.pem', trap.url))
      expect(trap.hits).toBe(2)
    } finally {
      await trap.close()
    }
  })
})
