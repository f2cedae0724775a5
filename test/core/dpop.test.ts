/**
 * DPoP in the core (RFC 9449): options, the challenge context, the thumbprint, the replay store
 * and its failures, and what happens to DPoP credentials when DPoP is off. The request-level
 * cases run through every adapter in test/adapters/dpop.test.ts.
 */
import { createPublicKey } from 'node:crypto'
import { calculateJwkThumbprint } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { knownProofHeader, rememberProofHeader } from '../../src/dpop.js'
import {
  accessTokenHash,
  type BearerGuardError,
  computeJwkThumbprint,
  createMemoryReplayStore,
  createValidator,
  type ReplayStore,
  type ValidatorOptions,
} from '../../src/index.js'
import {
  createDpopKey,
  type DpopKey,
  makeProof,
  mintBoundToken,
  PUBLIC_ORIGIN,
  proofJwk,
  tokenHash,
} from '../helpers/dpop.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken } from '../helpers/tokens.js'

const base: ValidatorOptions = { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) }
const dpop = { publicOrigin: PUBLIC_ORIGIN }

let key: DpopKey
let token: string
beforeAll(async () => {
  key = await createDpopKey()
  token = await mintBoundToken(key)
})

/** A Node-shaped request to `/dpop/me` with the given header lines. */
function nodeRequest(lines: Array<[string, string]>, method = 'GET') {
  return { method, url: '/dpop/me', rawHeaders: lines.flat() }
}

async function dpopRequest(proofKey = key, accessToken = token) {
  const proof = await makeProof(proofKey, { token: accessToken })
  return nodeRequest([
    ['Authorization', `DPoP ${accessToken}`],
    ['DPoP', proof],
  ])
}

describe('dpop option', () => {
  it('needs exactly one of publicOrigin and trustedProxyHeaders', () => {
    expect(() => createValidator({ ...base, dpop: {} })).toThrow(
      '"dpop" needs exactly one of "publicOrigin" or "trustedProxyHeaders" to build the htu',
    )
    expect(() =>
      createValidator({ ...base, dpop: { ...dpop, trustedProxyHeaders: 'x-forwarded' } }),
    ).toThrow(TypeError)
  })

  it('refuses an origin with a path, a query or credentials', () => {
    for (const publicOrigin of [
      'https://api.example/v1',
      'https://api.example/?x',
      'https://u:p@api.example',
      'ftp://api.example',
      'api.example',
    ]) {
      expect(() => createValidator({ ...base, dpop: { publicOrigin } }), publicOrigin).toThrow(
        '"dpop.publicOrigin" option must be an http or https origin',
      )
    }
  })

  it('refuses unknown members, symmetric proof algorithms and a short nonce secret', () => {
    expect(() => createValidator({ ...base, dpop: { ...dpop, nonces: true } as never })).toThrow(
      'unknown option "dpop.nonces"',
    )
    expect(() =>
      createValidator({ ...base, dpop: { ...dpop, algorithms: ['HS256'] as never } }),
    ).toThrow('"dpop.algorithms" option must not contain "HS256"')
    expect(() =>
      createValidator({ ...base, dpop: { ...dpop, nonce: { secret: 'short' } } }),
    ).toThrow('"dpop.nonce.secret" option must be a string or Uint8Array of at least 32 bytes')
    expect(() => createValidator({ ...base, dpop: { ...dpop, maxProofAge: 0 } })).toThrow(
      '"dpop.maxProofAge" option must be a number of seconds from 1 to 600',
    )
  })

  it('names Bearer and DPoP with its default algs in challenges, DPoP alone when required', () => {
    expect(createValidator({ ...base, dpop }).challengeContext.schemes).toEqual([
      { name: 'Bearer' },
      {
        name: 'DPoP',
        params: { algs: 'ES256 ES384 ES512 EdDSA PS256 PS384 PS512 RS256 RS384 RS512' },
      },
    ])
    const required = createValidator({ ...base, dpop: { ...dpop, required: true } })
    expect(required.challengeContext.schemes.map((scheme) => scheme.name)).toEqual(['DPoP'])
  })
})

describe('DPoP required', () => {
  it('refuses a token verified on its own (a Bearer token) as decide() refuses a Bearer header', async () => {
    const required = createValidator({ ...base, dpop: { ...dpop, required: true } })
    // An unbound, valid token: accepted with DPoP optional, never with DPoP required.
    const now = Math.floor(Date.now() / 1000)
    const plain = await mintToken({ claims: { iat: now, nbf: now, exp: now + 3600 } })
    await expect(createValidator({ ...base, dpop }).verify(plain)).resolves.toBeDefined()
    const refused = await required.verify(plain).catch((error: unknown) => error)
    expect(refused).toMatchObject({ status: 401, code: undefined, reason: 'missing_token' })
    expect((refused as BearerGuardError).headers['WWW-Authenticate']).toMatch(/^DPoP /)
    const header = nodeRequest([['Authorization', `Bearer ${plain}`]])
    expect((await required.decide(header)).error?.reason).toBe('missing_token')
    await expect(required.authenticate(`Bearer ${plain}`)).rejects.toMatchObject({ status: 401 })
    expect(required.lookup(`Bearer ${plain}`)).toBeUndefined()
  })
})

describe('DPoP off', () => {
  it('treats DPoP credentials as no Bearer credentials, as before', async () => {
    const validator = createValidator(base)
    const decision = await validator.decide(await dpopRequest())
    expect(decision.error?.status).toBe(401)
    expect(decision.error?.headers['WWW-Authenticate']).toBe('Bearer realm="api"')
  })

  it('still refuses a bound token as Bearer', async () => {
    const decision = await createValidator(base).decide(
      nodeRequest([['Authorization', `Bearer ${token}`]]),
    )
    expect(decision.error?.reason).toBe('unproven_binding')
  })
})

describe('DPoP on', () => {
  it('accepts a proof and binds the AuthInfo to its key', async () => {
    const decision = await createValidator({ ...base, dpop }).decide(await dpopRequest())
    expect(decision.error).toBeUndefined()
    expect(decision.auth?.binding).toEqual({ method: 'dpop', jkt: key.jkt })
  })

  it('never accepts a DPoP token without the request: verify() and authenticate() refuse it', async () => {
    const validator = createValidator({ ...base, dpop })
    await expect(validator.verify(token)).rejects.toMatchObject({ reason: 'unproven_binding' })
    await expect(validator.authenticate(`DPoP ${token}`)).rejects.toMatchObject({
      code: 'invalid_dpop_proof',
      reason: 'missing_proof',
    })
  })

  it('answers 503 with Retry-After, never accepts, when the replay store fails', async () => {
    for (const replayStore of [
      {
        add() {
          throw new Error('down')
        },
      },
      { add: () => Promise.reject(new Error('down')) },
    ] satisfies ReplayStore[]) {
      const validator = createValidator({ ...base, dpop: { ...dpop, replayStore } })
      const decision = await validator.decide(await dpopRequest())
      expect(decision.error?.status).toBe(503)
      expect(decision.error?.headers['Retry-After']).toBe('1')
      expect(decision.error?.headers['WWW-Authenticate']).toBeUndefined()
    }
  })

  it('waits for an asynchronous replay store and refuses what it has seen', async () => {
    const seen = new Set<string>()
    const replayStore: ReplayStore = {
      add: async (id) => {
        if (seen.has(id)) return false
        seen.add(id)
        return true
      },
    }
    const validator = createValidator({ ...base, dpop: { ...dpop, replayStore } })
    const request = await dpopRequest()
    expect((await validator.decide(request)).error).toBeUndefined()
    expect((await validator.decide(request)).error?.reason).toBe('replayed_proof')
  })

  it('answers a header with characters outside b64token in both challenges, whatever its scheme', async () => {
    // As every malformed header (two Authorization headers, a tab after the scheme): the
    // character check runs only once the token fails to parse, and answers as it did before.
    const validator = createValidator({ ...base, dpop })
    for (const header of ['DPoP a!b.c.d', 'Bearer a!b.c.d', `DPoP ${token}!`]) {
      const { error } = await validator.decide(nodeRequest([['Authorization', header]]))
      expect(error).toMatchObject({ status: 400, reason: 'malformed_authorization' })
      const challenge = error?.headers['WWW-Authenticate'] ?? ''
      expect(challenge.match(/error="invalid_request"/g)).toHaveLength(2)
      expect(challenge).toMatch(
        /^Bearer realm="api", error="invalid_request", .*, DPoP realm="api", error="invalid_request"/,
      )
    }
  })

  it('judges a proof header it has seen before by each validator’s own rules', async () => {
    // The header text is remembered across validators (its thumbprint and verifier); the
    // rules that depend on options (here dpop.algorithms) run again every time.
    const open = createValidator({ ...base, dpop })
    const strict = createValidator({ ...base, dpop: { ...dpop, algorithms: ['EdDSA'] } })
    expect((await open.decide(await dpopRequest())).error).toBeUndefined()
    const refused = (await strict.decide(await dpopRequest())).error
    expect(refused?.reason).toBe('unsupported_proof_algorithm')
    // A known header with a payload that is not canonical base64url is still refused.
    const proof = await makeProof(key, { token })
    const [header, payload, signature] = proof.split('.') as [string, string, string]
    const decision = await open.decide(
      nodeRequest([
        ['Authorization', `DPoP ${token}`],
        ['DPoP', `${header}.${payload}=.${signature}`],
      ]),
    )
    expect(decision.error?.reason).toBe('malformed_proof')
  })

  it('keeps proof headers of at most 2,048 characters, 1,024 of them, the oldest going first', () => {
    const jwk = proofJwk(key)
    const header = (pad: string) => ({ typ: 'dpop+jwt', alg: key.alg, jwk, pad })
    const text = (pad: string) => Buffer.from(JSON.stringify(header(pad))).toString('base64url')
    const long = 'x'.repeat(2_048)
    expect(text(long).length).toBeGreaterThan(2_048)
    expect(rememberProofHeader(text(long), header(long), jwk).verifier).toBeDefined()
    expect(knownProofHeader(text(long))).toBeUndefined()
    const first = text('first')
    rememberProofHeader(first, header('first'), jwk)
    expect(knownProofHeader(first)?.jkt).toBe(rememberProofHeader(first, header('first'), jwk).jkt)
    for (let i = 0; i < 1_024; i++) {
      rememberProofHeader(text(`n${i}`), header(`n${i}`), jwk)
    }
    expect(knownProofHeader(first)).toBeUndefined()
    expect(knownProofHeader(text('n1023'))).toBeDefined()
  })

  it('checks a proof whose header is too long to be remembered in full, every time', async () => {
    // 3,000 characters of an extra header member: a header text over 2,048 is not kept.
    const validator = createValidator({ ...base, dpop })
    const long = { header: { pad: 'x'.repeat(3_000) } }
    for (let i = 0; i < 2; i++) {
      const proof = await makeProof(key, { token, ...long })
      expect(proof.indexOf('.')).toBeGreaterThan(2_048)
      const accepted = await validator.decide(
        nodeRequest([
          ['Authorization', `DPoP ${token}`],
          ['DPoP', proof],
        ]),
      )
      expect(accepted.error).toBeUndefined()
    }
    // The same long header over a payload it was not signed with is refused.
    const [header] = (await makeProof(key, { token, ...long })).split('.') as [string]
    const [, payload, signature] = (await makeProof(key, { token })).split('.') as [
      string,
      string,
      string,
    ]
    const forged = await validator.decide(
      nodeRequest([
        ['Authorization', `DPoP ${token}`],
        ['DPoP', `${header}.${payload}.${signature}`],
      ]),
    )
    expect(forged.error?.reason).toBe('bad_proof_signature')
  })

  it('keeps proofs per key in the store for maxProofAge + 2 × clockTolerance', async () => {
    const calls: Array<[string, number]> = []
    const replayStore: ReplayStore = {
      add: (id, ttl) => {
        calls.push([id, ttl])
        return true
      },
    }
    const validator = createValidator({
      ...base,
      clockTolerance: 5,
      dpop: { ...dpop, replayStore, maxProofAge: 30 },
    })
    await validator.decide(await dpopRequest())
    expect(calls).toHaveLength(1)
    expect(calls[0]?.[1]).toBe(40)
    expect(calls[0]?.[0]).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})

describe('computeJwkThumbprint', () => {
  it('equals jose’s RFC 7638 thumbprint for EC, RSA and OKP keys', async () => {
    for (const alg of ['ES256', 'PS256', 'EdDSA'] as const) {
      const k = await createDpopKey(alg)
      expect(computeJwkThumbprint(k.publicJwk)).toBe(k.jkt)
    }
  })

  it('matches the example of RFC 7638 §3.1', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    }
    expect(computeJwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
    expect(createPublicKey({ key: jwk, format: 'jwk' }).asymmetricKeyType).toBe('rsa')
  })

  it('has none for a symmetric key or a member that is not a string', async () => {
    expect(computeJwkThumbprint({ kty: 'oct', k: 'c2VjcmV0' })).toBeUndefined()
    expect(computeJwkThumbprint({ kty: 'EC', crv: 'P-256', x: 1, y: 'a' })).toBeUndefined()
    expect(await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' })).toBe(
      computeJwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }),
    )
  })
})

describe('accessTokenHash', () => {
  it('is base64url(SHA-256(token)) (RFC 9449 §4.2)', () => {
    expect(accessTokenHash(token)).toBe(tokenHash(token))
  })
})

describe('createMemoryReplayStore', () => {
  it('answers true once per id until it expires', () => {
    const store = createMemoryReplayStore()
    expect(store.add('a', 60)).toBe(true)
    expect(store.add('a', 60)).toBe(false)
    expect(store.add('b', 60)).toBe(true)
  })

  it('refuses rather than forgets an unexpired id when full, and makes room as ids expire', () => {
    const store = createMemoryReplayStore({ maxEntries: 2 })
    store.add('a', 60)
    store.add('b', 60)
    expect(() => store.add('c', 60)).toThrow('the DPoP replay store is full')
    const expiring = createMemoryReplayStore({ maxEntries: 2 })
    expiring.add('a', 0)
    expiring.add('b', 0)
    expect(expiring.add('c', 60)).toBe(true)
    expect(expiring.size).toBeLessThanOrEqual(2)
  })
})
