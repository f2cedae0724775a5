/**
 * Signature verification with node:crypto and KeyObjects, one verifier per key and algorithm.
 *
 * jose imports the JWKs (jwks.ts) and its WebCrypto path is correct but costs about 3.5 times a
 * bare `crypto.verify` on Node (measured in bench/), so the per-token check calls node:crypto
 * directly, with the algorithm-to-key binding of RFC 7518 §3 kept strict:
 * - RS256/384/512: RSA key of at least 2048 bits, RSASSA-PKCS1-v1_5 (§3.3);
 * - PS256/384/512: RSA key of at least 2048 bits, RSASSA-PSS with MGF1 and a salt as long as the
 *   hash (§3.5); for both, a signature exactly as long as the modulus;
 * - ES256/384/512: the curve of the algorithm (P-256, P-384, P-521) and a signature of exactly
 *   2 × the coordinate size in IEEE P1363 form (§3.4), never DER;
 * - EdDSA: an Ed25519 or Ed448 key (RFC 8037 §3.1).
 */
import { constants, type KeyObject, verify } from 'node:crypto'

/**
 * Checks a signature over the signing input; never throws (nor rejects) for a bad signature.
 * node:crypto answers at once; WebCrypto (crypto-web.ts) with a promise.
 */
export type SignatureVerifier = (
  data: Uint8Array,
  signature: Uint8Array,
) => boolean | Promise<boolean>

type SyncVerifier = (data: Uint8Array, signature: Uint8Array) => boolean

const MIN_RSA_BITS = 2048
const HASH_OF: Readonly<Record<string, string>> = {
  '256': 'sha256',
  '384': 'sha384',
  '512': 'sha512',
}
const EC_PARAMS: Readonly<Record<string, { curve: string; size: number }>> = {
  ES256: { curve: 'prime256v1', size: 64 },
  ES384: { curve: 'secp384r1', size: 96 },
  ES512: { curve: 'secp521r1', size: 132 },
}

function guarded(check: SyncVerifier): SyncVerifier {
  return (data, signature) => {
    try {
      return check(data, signature)
    } catch {
      // OpenSSL throws on some malformed signatures (wrong length for the modulus, ...).
      return false
    }
  }
}

/**
 * Makes the verifier for `alg` with `key`, or `undefined` when the key may not verify that
 * algorithm (wrong type, wrong curve, RSA shorter than 2048 bits).
 *
 * @example
 * ```ts
 * const check = createVerifier(createPublicKey({ key: jwk, format: 'jwk' }), 'RS256')
 * check?.(Buffer.from(signingInput), signature) // true or false
 * ```
 */
export function createVerifier(key: KeyObject, alg: string): SyncVerifier | undefined {
  const type = key.asymmetricKeyType
  const family = alg.slice(0, 2)
  if (family === 'RS' || family === 'PS') {
    const hash = HASH_OF[alg.slice(2)]
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (hash === undefined || type !== 'rsa' || bits < MIN_RSA_BITS) return undefined
    // RFC 8017 §8.1.2 and §8.2.2: the signature is exactly as long as the modulus. OpenSSL lets a
    // PSS signature with its leading zero bytes stripped pass, which would make a second,
    // different token string verify.
    const size = Math.ceil(bits / 8)
    if (family === 'RS') {
      return guarded(
        (data, signature) => signature.length === size && verify(hash, data, key, signature),
      )
    }
    const options = {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    }
    return guarded(
      (data, signature) => signature.length === size && verify(hash, data, options, signature),
    )
  }
  if (family === 'ES') {
    const params = EC_PARAMS[alg]
    const hash = HASH_OF[alg.slice(2)]
    if (params === undefined || hash === undefined || type !== 'ec') return undefined
    if (key.asymmetricKeyDetails?.namedCurve !== params.curve) return undefined
    const options = { key, dsaEncoding: 'ieee-p1363' as const }
    return guarded(
      (data, signature) =>
        signature.length === params.size && verify(hash, data, options, signature),
    )
  }
  if (alg === 'EdDSA' && (type === 'ed25519' || type === 'ed448')) {
    return guarded((data, signature) => verify(null, data, key, signature))
  }
  return undefined
}
