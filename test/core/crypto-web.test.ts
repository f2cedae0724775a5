/**
 * The two `#crypto` backends side by side, on this Node.js process: crypto-node.ts
 * (node:crypto, what Node, Bun and Deno load) and crypto-web.ts (WebCrypto, what workerd and
 * edge-light load). Each is imported directly, and both face the same table: genuine
 * signatures for every algorithm, the algorithm-to-key binding of RFC 7518 §3, tampered and
 * malformed signatures, and strict base64url. Whole validators on the WebCrypto backend run in
 * vitest's WebCrypto project (vitest.config.ts) and on workerd (test/runtimes).
 */
import { sign } from 'node:crypto'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import * as node from '../../src/crypto-node.js'
import * as web from '../../src/crypto-web.js'
import { type JWK, SUPPORTED_ALGORITHMS } from '../../src/options.js'
import type { SignatureVerifier } from '../../src/verify.js'
import {
  createKeyPairs,
  SIGNED_DATA as data,
  GENUINE_CASES,
  MALFORMED_CASES,
  malformedSignatures,
  type Pair,
  pssSignatureWithLeadingZero,
  signFor as signWith,
} from '../helpers/signatures.js'

const BACKENDS = { node, web } as const
type BackendName = keyof typeof BACKENDS
const ALL = new Set<string>(SUPPORTED_ALGORITHMS)
let keys: Record<string, Pair> = {}

beforeAll(() => {
  keys = createKeyPairs()
})

function pair(name: string): Pair {
  return keys[name] as Pair
}

/** A genuine signature of `data` for `alg` with the named key. */
function signFor(alg: string, name: string): Buffer {
  return signWith(alg, pair(name).privateKey)
}

/** The backend's verifier for `alg` with the named key's public JWK, or undefined. */
async function verifierOf(backend: BackendName, name: string, alg: string) {
  const jwk = pair(name).publicKey.export({ format: 'jwk' }) as JWK
  const imported = await BACKENDS[backend].importPublicKey(jwk, ALL)
  if (imported === undefined) return undefined
  // Each backend's verifier takes its own key type.
  return (BACKENDS[backend].createVerifier as (key: unknown, alg: string) => unknown)(
    imported,
    alg,
  ) as SignatureVerifier | undefined
}

describe('the #crypto backends', () => {
  it('export the same names', () => {
    expect(Object.keys(web).sort()).toEqual(Object.keys(node).sort())
    expect(node.CRYPTO_BACKEND).toEqual({ name: 'node:crypto', bindings: true })
    expect(web.CRYPTO_BACKEND).toEqual({ name: 'WebCrypto', bindings: false })
  })
})

describe.each(['node', 'web'] as const)('the %s backend', (backend) => {
  it.each(GENUINE_CASES)(
    'verifies %s with a %s key, and only the exact signing input and signature',
    async (alg, name) => {
      const check = await verifierOf(backend, name, alg)
      expect(check).toBeTypeOf('function')
      const signature = signFor(alg, name)
      expect(await check?.(data, signature)).toBe(true)
      expect(await check?.(Buffer.concat([data, Buffer.from('.')]), signature)).toBe(false)
      const tampered = Buffer.from(signature)
      tampered[10] = (tampered[10] as number) ^ 0x01
      expect(await check?.(data, tampered)).toBe(false)
    },
  )

  it.each([
    ['ES256', 'rsa'],
    ['EdDSA', 'rsa'],
    ['RS256', 'rsa1024'],
    ['PS256', 'rsa1024'],
    ['RS256', 'p256'],
    ['PS256', 'p256'],
    ['EdDSA', 'p256'],
    ['ES384', 'p256'],
    ['ES512', 'p256'],
    ['ES256', 'p384'],
    ['RS256', 'ed25519'],
    ['ES256', 'ed25519'],
    ['HS256', 'rsa'],
    ['none', 'rsa'],
    ['eddsa', 'ed25519'],
  ])('refuses to verify %s with a %s key', async (alg, name) => {
    expect(await verifierOf(backend, name, alg)).toBeUndefined()
  })

  it('refuses an ES384 signature made with SHA-384 on a P-256 key', async () => {
    const forged = sign('sha384', data, { key: pair('p256').privateKey, dsaEncoding: 'ieee-p1363' })
    expect(await verifierOf(backend, 'p256', 'ES384')).toBeUndefined()
    expect(await (await verifierOf(backend, 'p384', 'ES384'))?.(data, forged)).toBe(false)
  })

  it('refuses a PSS signature with its leading zero byte stripped (RFC 8017 §8.1.2)', async () => {
    const signature = pssSignatureWithLeadingZero(pair('rsa').privateKey)
    expect(signature[0]).toBe(0)
    const check = await verifierOf(backend, 'rsa', 'PS256')
    expect(await check?.(data, signature)).toBe(true)
    expect(await check?.(data, signature.subarray(1))).toBe(false)
  })

  it.each(MALFORMED_CASES)(
    'answers false, never throws nor rejects, for malformed %s signatures',
    async (alg, name) => {
      const check = await verifierOf(backend, name, alg)
      for (const signature of malformedSignatures(alg, keys, name)) {
        expect(await check?.(data, signature)).toBe(false)
      }
    },
  )

  it('checks a signature over the token it came in, by its segments', async () => {
    const input = data.toString('latin1')
    const token = `${input}.${signFor('ES256', 'p256').toString('base64url')}`
    const check = (await verifierOf(backend, 'p256', 'ES256')) as SignatureVerifier
    const parsed = { signingInputEnd: input.length }
    expect(await BACKENDS[backend].checkSignature(token, parsed, check)).toBe(true)
    const changed = `${token.slice(0, 5)}x${token.slice(6)}`
    expect(await BACKENDS[backend].checkSignature(changed, parsed, check)).toBe(false)
  })
})

describe('what only node:crypto verifies', () => {
  it('EdDSA with Ed448: node:crypto verifies it; WebCrypto does not import the key', async () => {
    const check = await verifierOf('node', 'ed448', 'EdDSA')
    expect(await check?.(data, signFor('EdDSA', 'ed448'))).toBe(true)
    const jwk = pair('ed448').publicKey.export({ format: 'jwk' }) as JWK
    expect(await web.importPublicKey(jwk, ALL)).toBeUndefined()
  })

  it('the binding hashes: WebCrypto has no synchronous SHA-256 or HMAC, and says so', () => {
    expect(node.sha256Base64url('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0')
    expect(() => web.sha256Base64url('abc')).toThrow(/WebCrypto build of bearer-guard/)
    expect(() => web.hmacSha256(new Uint8Array(32), 'x')).toThrow(/synchronous hashing/)
    expect(() => web.importProofKey({ kty: 'EC' })).toThrow(/synchronous hashing/)
  })
})

describe('strict base64url, the same on both backends', () => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const segment = fc.oneof(
    fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 64 }),
    fc.string({ unit: fc.constantFrom(...`${alphabet}+/=. é€`), maxLength: 64 }),
    fc.string({ unit: 'binary', maxLength: 16 }),
  )

  function decode(backend: BackendName, text: string): number[] | undefined {
    const b = BACKENDS[backend]
    if (!b.isPlainAscii(text)) return undefined
    const token = `x.${text}.y`
    const into = b.bufferFor(token)
    const length = b.decodeSegmentInto(token, 2, 2 + text.length, into, 3)
    return length === -1 ? undefined : [...into.subarray(3, 3 + length)]
  }

  it('accepts and refuses the same segments, with the same bytes', () => {
    fc.assert(
      fc.property(segment, (text) => {
        expect(web.isPlainAscii(text)).toBe(node.isPlainAscii(text))
        expect(decode('web', text)).toEqual(decode('node', text))
      }),
      { numRuns: 2_000 },
    )
  })

  it('decodes a canonical segment to its bytes, and refuses non-zero pad bits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64url')
        expect(decode('web', text)).toEqual(text === '' ? undefined : [...bytes])
      }),
    )
    // "QR" is 0x41 with 4 non-zero pad bits; "QQ" is its canonical form.
    expect(decode('web', 'QQ')).toEqual([0x41])
    expect(decode('web', 'QR')).toBeUndefined()
    expect(decode('node', 'QR')).toBeUndefined()
  })

  it('the lenient helpers round-trip as on Node', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = node.encodeBase64url(bytes)
        expect(web.encodeBase64url(bytes)).toBe(text)
        expect([...web.decodeBase64url(text)]).toEqual([...bytes])
        expect([...web.decodeBase64url(Buffer.from(bytes).toString('base64'))]).toEqual([...bytes])
      }),
    )
  })

  it('compares bytes as node:crypto does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
        expect(web.timingSafeEqual(a, b)).toBe(node.timingSafeEqual(a, b))
        expect(web.timingSafeEqual(a, Uint8Array.from(a))).toBe(true)
      }),
    )
    expect(web.randomBytes(32)).toHaveLength(32)
  })
})
