/**
 * The crypto backend on node:crypto: what the core needs of the platform to read and verify a
 * token (strict base64url into bytes, public keys, signatures) and to check a binding (SHA-256,
 * HMAC, random bytes). The core imports it as `#crypto` (package.json `imports`): Node.js, Bun
 * and Deno get this file; workerd, Vercel's edge-light and browsers get crypto-web.ts, which
 * exports the same names on WebCrypto (issue #13). Keep the two in step: test/core/crypto-web.test.ts
 * checks that one's exports against the other's types.
 *
 * Node's Buffer decodes base64url and node:crypto verifies synchronously: about 3.5 times
 * cheaper per token than WebCrypto on Node (measured in bench/), and a cache miss needs no promise.
 */
import crypto, {
  createHash,
  createHmac,
  createPublicKey,
  type JsonWebKey,
  KeyObject,
  randomBytes as nodeRandomBytes,
  timingSafeEqual as nodeTimingSafeEqual,
} from 'node:crypto'
import { type CryptoKey, importJWK, type JWK as JoseJWK } from 'jose'
import type { JWK } from './options.js'
import { createVerifier, type SignatureVerifier } from './verify.js'

export { createVerifier }

/** A public key as this backend verifies with it. */
export type PublicKey = KeyObject

/** Which backend this is, and whether the binding checks (DPoP proofs, certificates) can run. */
export const CRYPTO_BACKEND = Object.freeze({ name: 'node:crypto', bindings: true })

const IMPORT_ALG: Readonly<Record<string, string>> = {
  RSA: 'RS256',
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
  Ed25519: 'EdDSA',
  Ed448: 'EdDSA',
}

/**
 * Imports a public JWK of the key set once, for every algorithm it fits; `undefined` when it is
 * not a usable public key. `algorithms` is for backends that import a key per algorithm.
 */
export async function importPublicKey(
  jwk: JWK,
  _algorithms: ReadonlySet<string>,
): Promise<PublicKey | undefined> {
  const alg = jwk.kty === 'RSA' ? IMPORT_ALG.RSA : IMPORT_ALG[jwk.crv ?? '']
  if (alg === undefined) return undefined
  try {
    // jose 6 imports Ed25519 only (WebCrypto has no Ed448); node:crypto reads an Ed448 JWK.
    if (jwk.kty === 'OKP' && jwk.crv === 'Ed448') {
      return createPublicKey({
        key: { kty: 'OKP', crv: 'Ed448', x: jwk.x } as JsonWebKey,
        format: 'jwk',
      })
    }
    // jose checks the JWK; the KeyObject behind its CryptoKey is what node:crypto verifies with.
    const key = await importJWK(
      { ...jwk, alg: undefined, use: undefined, key_ops: undefined } as JoseJWK,
      alg,
    )
    return KeyObject.from(key as CryptoKey)
  } catch {
    return undefined
  }
}

/**
 * Imports the public key of a DPoP proof's `jwk` (only the members its thumbprint covers), at
 * once: `undefined` when it is not a public key node:crypto reads.
 */
export function importProofKey(members: Record<string, unknown>): PublicKey | undefined {
  try {
    return createPublicKey({ key: members as JsonWebKey, format: 'jwk' })
  } catch {
    return undefined
  }
}

// crypto.hash (Node.js 20.12, not in this @types/node) hashes without a Hash object: about half
// the time of createHash for the short inputs here (a DPoP replay key per request).
const oneShotHash = (crypto as { hash?: OneShotHash }).hash
type OneShotHash = (algorithm: string, data: string | Uint8Array, encoding: 'base64url') => string

/** base64url(SHA-256(data)); a string is hashed as its UTF-8 bytes. */
export function sha256Base64url(data: string | Uint8Array): string {
  return oneShotHash === undefined
    ? createHash('sha256').update(data).digest('base64url')
    : oneShotHash('sha256', data, 'base64url')
}

/** HMAC-SHA-256 of `text` (UTF-8) with `key`. */
export function hmacSha256(key: Uint8Array, text: string): Uint8Array {
  return createHmac('sha256', key).update(text).digest()
}

/** `size` random bytes from the platform's CSPRNG. */
export function randomBytes(size: number): Uint8Array {
  return nodeRandomBytes(size)
}

/** Whether two byte strings of equal length are equal, in time independent of their contents. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && nodeTimingSafeEqual(a, b)
}

/** The bytes of a base64url (or base64) text, decoded leniently: for display and nonces only. */
export function decodeBase64url(text: string): Uint8Array {
  return Buffer.from(text, 'base64url')
}

/** Bytes as unpadded base64url. */
export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/** Bytes as UTF-8 text. */
export function decodeUtf8(chunks: readonly Uint8Array[], size: number): string {
  return Buffer.concat(chunks, size).toString('utf8')
}

const BASE64URL_VALUES = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

// One buffer for every token's bytes (decoded segments, the signing input): the work between
// writing it and reading it back is synchronous, so no other token can come in between, and a
// token costs no allocation of its own. A longer token (maxTokenLength allows it) gets a
// buffer of its own.
const SCRATCH_BYTES = 16 * 1024
const scratch = Buffer.allocUnsafe(SCRATCH_BYTES)

/** Room for a token's bytes: the shared buffer, or one of its own for a longer token. */
export function bufferFor(token: string): Uint8Array {
  return token.length <= SCRATCH_BYTES ? scratch : Buffer.allocUnsafe(token.length)
}

/**
 * Whether the unused low bits of the last character of a segment are zero (RFC 4648 §3.5):
 * lenient decoders ignore them, and accepting them would let a changed string pass as the same
 * token.
 */
function hasZeroPadBits(segment: string): boolean {
  const rest = segment.length % 4
  if (rest === 0) return true
  const last = BASE64URL_VALUES.indexOf(segment.charAt(segment.length - 1))
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0
}

/**
 * Decodes the segment `token.slice(start, end)` of a token already known to be ASCII without
 * `+`, `/` or `=` ({@link isPlainAscii}), into `into` (from {@link bufferFor}) at `at`; returns
 * the number of bytes, or -1 when the segment is not canonical unpadded base64url. Node's decoder
 * skips characters it does not know, so a segment decodes to exactly floor(3 × length / 4) bytes
 * only when every character was a base64url digit; the leftover bits of the last one must be zero.
 */
export function decodeSegmentInto(
  token: string,
  start: number,
  end: number,
  into: Uint8Array,
  at: number,
): number {
  const length = end - start
  if (length === 0 || length % 4 === 1) return -1
  const segment = token.slice(start, end)
  const written = (into as Buffer).write(segment, at, 'base64url')
  return written === (length * 3) >> 2 && hasZeroPadBits(segment) ? written : -1
}

/**
 * Whether every character of the token is ASCII and none is `+`, `/` or `=`: with the segments'
 * lengths checked on decoding, this makes Node's lenient decoder strict (it reads the low byte of
 * a wider character, and the standard alphabet, as base64url).
 */
export function isPlainAscii(token: string): boolean {
  return (
    Buffer.byteLength(token, 'utf8') === token.length &&
    token.indexOf('+') === -1 &&
    token.indexOf('/') === -1 &&
    token.indexOf('=') === -1
  )
}

/**
 * Checks the signature of a token that parseToken accepted with `verifier`: the signing input and
 * the decoded signature are written to the shared buffer and checked at once (synchronously).
 */
export function checkSignature(
  token: string,
  parsed: { readonly signingInputEnd: number },
  verifier: SignatureVerifier,
): boolean | Promise<boolean> {
  const end = parsed.signingInputEnd
  const buffer = bufferFor(token) as Buffer
  buffer.write(token, 0, end, 'latin1')
  const signatureLength = buffer.write(token.slice(end + 1), end, 'base64url')
  return verifier(buffer.subarray(0, end), buffer.subarray(end, end + signatureLength))
}
