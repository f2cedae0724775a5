/**
 * The crypto backend on WebCrypto and plain JavaScript, for runtimes without node:crypto or
 * Buffer: workerd without `nodejs_compat`, Vercel's edge-light, browsers (package.json `imports`
 * "#crypto": `workerd`, `edge-light`, `worker`, `browser`). It exports what crypto-node.ts exports,
 * with the same meaning (issue #13); test/core/crypto-web.test.ts holds the two to that.
 *
 * What differs:
 * - a signature is checked by `crypto.subtle.verify`, which answers with a promise: a token not
 *   in the verified-token cache is decided asynchronously, a cached one still at once;
 * - a key of the key set is imported once per algorithm it may verify (WebCrypto binds the hash
 *   to the key), among the validator's `algorithms`;
 * - EdDSA is Ed25519 only (WebCrypto has no Ed448);
 * - the binding checks need synchronous hashing, which WebCrypto lacks: DPoP proofs and
 *   certificate binding are refused when the options are read (`CRYPTO_BACKEND.bindings`), and
 *   the hash helpers throw.
 *
 * The algorithm-to-key binding of RFC 7518 §3 is as strict as on Node (verify.ts): RSA keys of at
 * least 2048 bits and signatures as long as the modulus; ECDSA on the algorithm's curve with IEEE
 * P1363 signatures of exactly twice the coordinate size (what WebCrypto takes, never DER).
 */
import { type CryptoKey, importJWK, type JWK as JoseJWK } from 'jose'
import type { JWK } from './options.js'
import type { SignatureVerifier } from './verify.js'

/** A public key as this backend verifies with it: one CryptoKey per algorithm it may verify. */
export type PublicKey = ReadonlyMap<string, CryptoKey>

/** Which backend this is, and whether the binding checks (DPoP proofs, certificates) can run. */
export const CRYPTO_BACKEND = Object.freeze({ name: 'WebCrypto', bindings: false })

const ALGORITHMS_OF: Readonly<Record<string, readonly string[]>> = {
  RSA: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  'P-256': ['ES256'],
  'P-384': ['ES384'],
  'P-521': ['ES512'],
  Ed25519: ['EdDSA'],
}
const MIN_RSA_BITS = 2048
const EC_PARAMS: Readonly<Record<string, { curve: string; size: number }>> = {
  ES256: { curve: 'P-256', size: 64 },
  ES384: { curve: 'P-384', size: 96 },
  ES512: { curve: 'P-521', size: 132 },
}

/**
 * Imports a public JWK of the key set once for each of `algorithms` it fits; `undefined` when it
 * is not a usable public key (as on Node: a key that fits none of `algorithms` is still checked,
 * and then verifies nothing).
 */
export async function importPublicKey(
  jwk: JWK,
  algorithms: ReadonlySet<string>,
): Promise<PublicKey | undefined> {
  const fits = ALGORITHMS_OF[jwk.kty === 'RSA' ? 'RSA' : (jwk.crv ?? '')]
  if (fits === undefined) return undefined
  const wanted = fits.filter((alg) => algorithms.has(alg))
  const keys = new Map<string, CryptoKey>()
  const plain = { ...jwk, alg: undefined, use: undefined, key_ops: undefined } as JoseJWK
  try {
    for (const alg of wanted.length === 0 ? fits.slice(0, 1) : wanted) {
      keys.set(alg, (await importJWK(plain, alg)) as CryptoKey)
    }
  } catch {
    return undefined
  }
  if (wanted.length === 0) keys.clear()
  return keys
}

function guarded(
  params: AlgorithmIdentifier,
  key: CryptoKey,
  size: number | undefined,
): SignatureVerifier {
  return (data, signature) => {
    if (size !== undefined && signature.length !== size) return false
    // Malformed signatures reject in some runtimes and answer false in others: false everywhere.
    return crypto.subtle.verify(params, key, signature, data).catch(() => false)
  }
}

type AlgorithmIdentifier = string | { name: string; saltLength?: number; hash?: string }

/**
 * Makes the verifier for `alg` with `key`, or `undefined` when the key may not verify that
 * algorithm (not imported for it, wrong curve, RSA shorter than 2048 bits).
 */
export function createVerifier(key: PublicKey, alg: string): SignatureVerifier | undefined {
  const cryptoKey = key.get(alg)
  if (cryptoKey === undefined) return undefined
  const algorithm = cryptoKey.algorithm as {
    name: string
    modulusLength?: number
    namedCurve?: string
  }
  const bits = alg.slice(2)
  const family = alg.slice(0, 2)
  if (family === 'RS' || family === 'PS') {
    const modulus = algorithm.modulusLength ?? 0
    if (modulus < MIN_RSA_BITS) return undefined
    const size = Math.ceil(modulus / 8)
    return family === 'RS'
      ? guarded('RSASSA-PKCS1-v1_5', cryptoKey, size)
      : guarded({ name: 'RSA-PSS', saltLength: Number(bits) / 8 }, cryptoKey, size)
  }
  const ec = EC_PARAMS[alg]
  if (ec !== undefined) {
    if (algorithm.namedCurve !== ec.curve) return undefined
    return guarded({ name: 'ECDSA', hash: `SHA-${bits}` }, cryptoKey, ec.size)
  }
  if (alg === 'EdDSA' && algorithm.name === 'Ed25519') {
    return guarded('Ed25519', cryptoKey, 64)
  }
  return undefined
}

function unavailable(what: string): never {
  throw new Error(
    `${what} needs synchronous hashing, which the WebCrypto build of bearer-guard lacks (use Node.js, Bun, Deno or workerd with nodejs_compat)`,
  )
}

/** Not on WebCrypto: DPoP is refused when the options are read. */
export function importProofKey(_members: Record<string, unknown>): PublicKey | undefined {
  return unavailable('a DPoP proof key')
}

/** Not on WebCrypto (no synchronous SHA-256). */
export function sha256Base64url(_data: string | Uint8Array): string {
  return unavailable('SHA-256')
}

/** Not on WebCrypto (no synchronous HMAC). */
export function hmacSha256(_key: Uint8Array, _text: string): Uint8Array {
  return unavailable('HMAC-SHA-256')
}

/** `size` random bytes from the platform's CSPRNG. */
export function randomBytes(size: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(size))
}

/** Whether two byte strings of equal length are equal, in time independent of their contents. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number)
  return difference === 0
}

/** The bytes of a base64url (or base64) text, decoded leniently: for display and nonces only. */
export function decodeBase64url(text: string): Uint8Array {
  const base64 = text.replace(/[=\s]/g, '').replace(/-/g, '+').replace(/_/g, '/')
  const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** Bytes as unpadded base64url. */
export function encodeBase64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
}

const utf8 = new TextDecoder('utf-8')

/** Bytes as UTF-8 text. */
export function decodeUtf8(chunks: readonly Uint8Array[], size: number): string {
  const all = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    all.set(chunk, at)
    at += chunk.byteLength
  }
  return utf8.decode(all)
}

// The value of each base64url digit by character code, -1 for any other character.
const DIGITS = new Int8Array(128).fill(-1)
for (const [value, digit] of [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
].entries()) {
  DIGITS[digit.charCodeAt(0)] = value
}

// One buffer for the decoded header and payload of every token: parsing is synchronous, so no
// other token comes in between. A longer token gets a buffer of its own.
const SCRATCH_BYTES = 16 * 1024
const scratch = new Uint8Array(SCRATCH_BYTES)

/** Room for a token's bytes: the shared buffer, or one of its own for a longer token. */
export function bufferFor(token: string): Uint8Array {
  return token.length <= SCRATCH_BYTES ? scratch : new Uint8Array(token.length)
}

/**
 * Decodes the segment `token.slice(start, end)` into `into` at `at`; returns the number of
 * bytes, or -1 when the segment is not canonical unpadded base64url (a character outside the
 * alphabet, a length of 4n + 1, or unused low bits of the last character that are not zero,
 * RFC 4648 §3.5).
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
  let out = at
  let bits = 0
  let value = 0
  for (let i = start; i < end; i++) {
    const code = token.charCodeAt(i)
    const digit = code < 128 ? (DIGITS[code] as number) : -1
    if (digit === -1) return -1
    value = (value << 6) | digit
    bits += 6
    if (bits >= 8) {
      bits -= 8
      into[out++] = (value >> bits) & 0xff
      value &= (1 << bits) - 1
    }
  }
  return value === 0 ? out - at : -1
}

/** Whether every character of the token is ASCII and none is `+`, `/` or `=`. */
export function isPlainAscii(token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i)
    if (code > 0x7f || code === 0x2b || code === 0x2f || code === 0x3d) return false
  }
  return true
}

/**
 * Checks the signature of a token that parseToken accepted with `verifier`. The signing input
 * and the signature get buffers of their own: the check answers later, and the shared buffer
 * belongs to the next token by then.
 */
export function checkSignature(
  token: string,
  parsed: { readonly signingInputEnd: number },
  verifier: SignatureVerifier,
): boolean | Promise<boolean> {
  const end = parsed.signingInputEnd
  const data = new Uint8Array(end)
  for (let i = 0; i < end; i++) data[i] = token.charCodeAt(i)
  const signature = new Uint8Array(token.length - end)
  const length = decodeSegmentInto(token, end + 1, token.length, signature, 0)
  return length === -1 ? false : verifier(data, signature.subarray(0, length))
}
