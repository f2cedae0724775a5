/**
 * `createVerifier`: the algorithm-to-key binding of RFC 7518 §3, checked on the verifier itself.
 * Key selection (jwks.ts) filters keys by `kty`/`crv` first, so these rules are a second line of
 * defence that the end-to-end tests cannot see; without them a P-256 key would verify ES384
 * (SHA-384 on P-256) and an RSA key would verify "EdDSA" (node:crypto picks the digest).
 */
import {
  constants,
  createSecretKey,
  generateKeyPairSync,
  type KeyObject,
  type SignKeyObjectInput,
  sign,
} from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { createVerifier } from '../../src/verify.js'

type Pair = { publicKey: KeyObject; privateKey: KeyObject }
const keys: Record<string, Pair> = {}
const data = Buffer.from('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0', 'latin1')
const PSS = {
  padding: constants.RSA_PKCS1_PSS_PADDING,
  saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
}

beforeAll(() => {
  keys.rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  keys.rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
  keys.p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  keys.p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  keys.p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' })
  keys.k256 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  keys.ed25519 = generateKeyPairSync('ed25519')
  keys.ed448 = generateKeyPairSync('ed448')
  keys.x25519 = generateKeyPairSync('x25519')
})

/** A genuine signature of `data` for `alg` with the named key. */
function signFor(alg: string, name: string, payload = data): Buffer {
  const { privateKey } = keys[name] as Pair
  const hash = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`
  let signer: KeyObject | SignKeyObjectInput = privateKey
  if (alg.startsWith('PS')) signer = { key: privateKey, ...PSS }
  if (alg.startsWith('ES')) signer = { key: privateKey, dsaEncoding: 'ieee-p1363' }
  return sign(hash, payload, signer)
}

describe('createVerifier', () => {
  it.each([
    ['RS256', 'rsa'],
    ['RS384', 'rsa'],
    ['RS512', 'rsa'],
    ['PS256', 'rsa'],
    ['PS384', 'rsa'],
    ['PS512', 'rsa'],
    ['ES256', 'p256'],
    ['ES384', 'p384'],
    ['ES512', 'p521'],
    ['EdDSA', 'ed25519'],
    ['EdDSA', 'ed448'],
  ])('verifies %s with a %s key, and only the exact signing input', (alg, name) => {
    const check = createVerifier((keys[name] as Pair).publicKey, alg)
    expect(check).toBeTypeOf('function')
    const signature = signFor(alg, name)
    expect(check?.(data, signature)).toBe(true)
    expect(check?.(Buffer.concat([data, Buffer.from('.')]), signature)).toBe(false)
  })

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
    let signature = Buffer.alloc(0)
    // About one PSS signature in 256 starts with a zero byte; the salt makes each one new.
    for (let i = 0; i < 5_000 && signature[0] !== 0; i++) {
      signature = sign('sha256', data, { key: privateKey, ...PSS })
    }
    expect(signature[0]).toBe(0)
    const stripped = signature.subarray(1)
    const check = createVerifier(publicKey, 'PS256')
    expect(check?.(data, signature)).toBe(true)
    expect(check?.(data, stripped)).toBe(false)
  })

  it.each([
    ['RS256', 'rsa'],
    ['PS256', 'rsa'],
    ['ES256', 'p256'],
    ['EdDSA', 'ed25519'],
  ])('answers false, never throws, for malformed %s signatures', (alg, name) => {
    const check = createVerifier((keys[name] as Pair).publicKey, alg)
    const genuine = signFor(alg, name)
    const der = alg === 'ES256' ? sign('sha256', data, keys.p256?.privateKey as KeyObject) : genuine
    for (const signature of [
      Buffer.alloc(0),
      Buffer.alloc(genuine.length),
      Buffer.alloc(genuine.length, 0xff),
      Buffer.concat([Buffer.alloc(1), genuine]),
      genuine.subarray(1),
      Buffer.concat([genuine, genuine]),
      der.length === genuine.length ? Buffer.alloc(1) : der,
    ]) {
      expect(check?.(data, signature)).toBe(false)
    }
  })
})
