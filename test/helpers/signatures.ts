/**
 * Key pairs and raw signatures for the signature-verifier tables (test/core/verify.test.ts on
 * node:crypto's verifier, test/core/crypto-web.test.ts on both `#crypto` backends): genuine
 * signatures for every algorithm, and the malformed ones a verifier must answer false to.
 */
import {
  constants,
  generateKeyPairSync,
  type KeyObject,
  type SignKeyObjectInput,
  sign,
} from 'node:crypto'

/** A node:crypto key pair. */
export type Pair = { publicKey: KeyObject; privateKey: KeyObject }

/** The signing input every table signs. */
export const SIGNED_DATA = Buffer.from('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0', 'latin1')

/** RSASSA-PSS as RFC 7518 §3.5 has it: a salt as long as the hash. */
export const PSS = {
  padding: constants.RSA_PKCS1_PSS_PADDING,
  saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
}

/** Fresh key pairs by name: RSA 2048 and 1024, the NIST curves, secp256k1, Ed25519, Ed448, X25519. */
export function createKeyPairs(): Record<string, Pair> {
  return {
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    rsa1024: generateKeyPairSync('rsa', { modulusLength: 1024 }),
    p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    p521: generateKeyPairSync('ec', { namedCurve: 'P-521' }),
    k256: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }),
    ed25519: generateKeyPairSync('ed25519'),
    ed448: generateKeyPairSync('ed448'),
    x25519: generateKeyPairSync('x25519'),
  }
}

/** A genuine signature of `payload` for `alg` with `privateKey`. */
export function signFor(alg: string, privateKey: KeyObject, payload: Uint8Array = SIGNED_DATA) {
  const hash = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`
  let signer: KeyObject | SignKeyObjectInput = privateKey
  if (alg.startsWith('PS')) signer = { key: privateKey, ...PSS }
  if (alg.startsWith('ES')) signer = { key: privateKey, dsaEncoding: 'ieee-p1363' }
  return sign(hash, payload, signer)
}

/** A PS256 signature of SIGNED_DATA that starts with a zero byte (one in about 256 does). */
export function pssSignatureWithLeadingZero(privateKey: KeyObject): Buffer {
  let signature = Buffer.alloc(0)
  for (let i = 0; i < 5_000 && signature[0] !== 0; i++) {
    signature = sign('sha256', SIGNED_DATA, { key: privateKey, ...PSS })
  }
  return signature
}

/**
 * Signatures a verifier must answer false to, never throwing: empty, all zeros, all ones, a byte
 * more or less, doubled, and for ES256 the DER form (RFC 7518 §3.4 wants IEEE P1363).
 */
export function malformedSignatures(alg: string, pairs: Record<string, Pair>, name: string) {
  const genuine = signFor(alg, (pairs[name] as Pair).privateKey)
  const der =
    alg === 'ES256' ? sign('sha256', SIGNED_DATA, (pairs.p256 as Pair).privateKey) : genuine
  return [
    Buffer.alloc(0),
    Buffer.alloc(genuine.length),
    Buffer.alloc(genuine.length, 0xff),
    Buffer.concat([Buffer.alloc(1), genuine]),
    genuine.subarray(1),
    Buffer.concat([genuine, genuine]),
    der.length === genuine.length ? Buffer.alloc(1) : der,
  ]
}

/** Every algorithm with a key of the kind it needs: each verifies its own signature. */
export const GENUINE_CASES: ReadonlyArray<readonly [alg: string, key: string]> = [
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
]

/** One algorithm of each family, for the {@link malformedSignatures} table. */
export const MALFORMED_CASES: ReadonlyArray<readonly [alg: string, key: string]> = [
  ['RS256', 'rsa'],
  ['PS256', 'rsa'],
  ['ES256', 'p256'],
  ['EdDSA', 'ed25519'],
]
