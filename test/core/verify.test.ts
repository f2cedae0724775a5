/**
 * `createVerifier`: the algorithm-to-key binding of RFC 7518 §3, checked on the verifier itself.
 * Key selection (jwks.ts) filters keys by `kty`/`crv` first, so these rules are a second line of
 * defence that the end-to-end tests cannot see; without them a P-256 key would verify ES384
 * (SHA-384 on P-256) and an RSA key would verify "EdDSA" (node:crypto picks the digest).
 */
import { createSecretKey, type KeyObject, sign } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { createVerifier } from '../../src/verify.js'
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

let keys: Record<string, Pair> = {}

beforeAll(() => {
  keys = createKeyPairs()
})

/** A genuine signature of `data` for `alg` with the named key. */
function signFor(alg: string, name: string): Buffer {
  return signWith(alg, (keys[name] as Pair).privateKey)
}

describe('createVerifier', () => {
  it.each(GENUINE_CASES.concat([['EdDSA', 'ed448']]))(
    'verifies %s with a %s key, and only the exact signing input',
    (alg, name) => {
      const check = createVerifier((keys[name] as Pair).publicKey, alg)
      expect(check).toBeTypeOf('function')
      const signature = signFor(alg, name)
      expect(check?.(data, signature)).toBe(true)
      expect(check?.(Buffer.concat([data, Buffer.from('.')]), signature)).toBe(false)
    },
  )

  it.each([
    ['ES256', 'rsa'],
    ['ES384', 'rsa'],
    ['EdDSA', 'rsa'],
    ['RS256', 'rsa1024'],
    ['PS256', 'rsa1024'],
    ['RS256', 'p256'],
    ['PS256', 'p256'],
    ['EdDSA', 'p256'],
    ['ES384', 'p256'],
    ['ES512', 'p256'],
    ['ES256', 'p384'],
    ['ES256', 'k256'],
    ['RS256', 'ed25519'],
    ['ES256', 'ed25519'],
    ['EdDSA', 'x25519'],
    ['RS1', 'rsa'],
    ['PS', 'rsa'],
    ['ES1', 'p256'],
    ['ES', 'p256'],
    ['HS256', 'rsa'],
    ['none', 'rsa'],
    ['eddsa', 'ed25519'],
  ])('refuses to verify %s with a %s key', (alg, name) => {
    expect(createVerifier((keys[name] as Pair).publicKey, alg)).toBeUndefined()
  })

  it('refuses a symmetric key for every algorithm, without throwing', () => {
    const secret = createSecretKey(Buffer.alloc(32, 1))
    for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256']) {
      expect(createVerifier(secret, alg)).toBeUndefined()
    }
  })

  // The cases below are exactly those where node:crypto alone would answer true.
  it('refuses an ES384 signature made with SHA-384 on a P-256 key', () => {
    const forged = sign('sha384', data, {
      key: keys.p256?.privateKey as KeyObject,
      dsaEncoding: 'ieee-p1363',
    })
    expect(forged).toHaveLength(64)
    expect(createVerifier(keys.p256?.publicKey as KeyObject, 'ES384')).toBeUndefined()
    expect(createVerifier(keys.p384?.publicKey as KeyObject, 'ES384')?.(data, forged)).toBe(false)
  })

  it('refuses an "EdDSA" signature made by an RSA key', () => {
    const forged = sign(null, data, keys.rsa?.privateKey as KeyObject)
    expect(createVerifier(keys.rsa?.publicKey as KeyObject, 'EdDSA')).toBeUndefined()
    expect(createVerifier(keys.ed25519?.publicKey as KeyObject, 'EdDSA')?.(data, forged)).toBe(
      false,
    )
  })

  it('refuses a PSS signature with its leading zero byte stripped (RFC 8017 §8.1.2)', () => {
    const { publicKey, privateKey } = keys.rsa as Pair
    const signature = pssSignatureWithLeadingZero(privateKey)
    expect(signature[0]).toBe(0)
    const stripped = signature.subarray(1)
    const check = createVerifier(publicKey, 'PS256')
    expect(check?.(data, signature)).toBe(true)
    expect(check?.(data, stripped)).toBe(false)
  })

  it.each(MALFORMED_CASES)(
    'answers false, never throws, for malformed %s signatures',
    (alg, name) => {
      const check = createVerifier((keys[name] as Pair).publicKey, alg)
      for (const signature of malformedSignatures(alg, keys, name)) {
        expect(check?.(data, signature)).toBe(false)
      }
    },
  )
})
