/**
 * Token factories for tests: well-formed tokens minted with jose at a fixed `NOW`, and
 * hand-built oddities (exact JSON, HMAC forgeries, unsigned tokens) for hostile tests.
 */
import { constants, createHmac, KeyObject, type SignKeyObjectInput, sign } from 'node:crypto'
import { type CompactJWSHeaderParameters, CompactSign } from 'jose'
import { rsaKey, type TestAlg, type TestKey } from './keys.js'

/** jose's own test clock, in seconds. Pair with `vi.setSystemTime(NOW * 1000)`. */
export const NOW = 1604416038
export const ISSUER = 'https://issuer.example/'
export const AUDIENCE = 'api://orders'

/** The claims of a valid delegated access token at `NOW`. Frozen; spread to vary. */
export const defaultClaims: Readonly<{
  iss: string
  aud: string
  sub: 'user-123'
  azp: 'client-abc'
  iat: number
  nbf: number
  exp: number
  scp: 'Files.Read Files.Write'
}> = Object.freeze({
  iss: ISSUER,
  aud: AUDIENCE,
  sub: 'user-123',
  azp: 'client-abc',
  iat: NOW,
  nbf: NOW,
  exp: NOW + 3600,
  scp: 'Files.Read Files.Write',
})

export interface MintOptions {
  /** Signing key; `rsaKey` unless set. */
  key?: TestKey
  /** Merged over `defaultClaims`; a value of `undefined` removes that claim. */
  claims?: Record<string, unknown>
  /** Merged over `{ alg: key.alg, kid: key.kid, typ: 'JWT' }`; `undefined` removes. */
  header?: Record<string, unknown>
}

function merge(
  base: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base, ...overrides }
  for (const [name, value] of Object.entries(merged)) {
    if (value === undefined) delete merged[name]
  }
  return merged
}

/**
 * Signs a JWT with `key` (default `rsaKey`). The header is used exactly as given: when jose
 * refuses it (an unknown `crit`, a missing or mismatched `alg`), the same header and payload are
 * signed by `signRaw` with the key's own algorithm, so the signature is still valid.
 *
 * @example
 * const expired = await mintToken({ claims: { exp: NOW - 120 } })
 * const untyped = await mintToken({ key: ecKey, header: { typ: undefined } })
 */
export async function mintToken(options: MintOptions = {}): Promise<string> {
  const key = options.key ?? rsaKey
  const header = merge({ alg: key.alg, kid: key.kid, typ: 'JWT' }, options.header)
  const payload = merge(defaultClaims, options.claims)
  const payloadJson = JSON.stringify(payload)
  try {
    return await new CompactSign(new TextEncoder().encode(payloadJson))
      .setProtectedHeader(header as CompactJWSHeaderParameters)
      .sign(key.privateKey)
  } catch {
    return signRaw(JSON.stringify(header), payloadJson, key)
  }
}

const hashes: Record<TestAlg, string | null> = {
  RS256: 'sha256',
  RS384: 'sha384',
  RS512: 'sha512',
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
  EdDSA: null,
}

/**
 * Signs exact header and payload JSON strings with `key.alg` (whatever the header says), as a
 * compact JWS: `b64url(header).b64url(payload).signature`. ECDSA signatures are IEEE P1363
 * (r || s), as RFC 7518 §3.4 requires.
 *
 * @example
 * const token = signRaw('{"alg":"RS256","alg":"none"}', JSON.stringify(defaultClaims), rsaKey)
 */
export function signRaw(headerJson: string, payloadJson: string, key: TestKey): string {
  const signingInput = `${b64url(headerJson)}.${b64url(payloadJson)}`
  const keyObject = KeyObject.from(key.privateKey)
  let signer: KeyObject | SignKeyObjectInput = keyObject
  if (key.alg.startsWith('PS')) {
    signer = {
      key: keyObject,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    }
  } else if (key.alg.startsWith('ES')) {
    signer = { key: keyObject, dsaEncoding: 'ieee-p1363' }
  }
  const signature = sign(hashes[key.alg], Buffer.from(signingInput), signer)
  return `${signingInput}.${b64url(signature)}`
}

/**
 * Base64url without padding (RFC 7515 §2). Strings are encoded as UTF-8.
 *
 * @example
 * b64url('{"alg":"none"}') // 'eyJhbGciOiJub25lIn0'
 */
export function b64url(input: string | Uint8Array): string {
  return (typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input)).toString(
    'base64url',
  )
}

/**
 * Parses the JSON inside one base64url segment of a compact token.
 *
 * @example
 * decodeSegment(token.split('.')[0] ?? '') // { alg: 'RS256', kid: 'rsa-1', typ: 'JWT' }
 */
export function decodeSegment(segment: string): unknown {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
}

/**
 * HMAC-SHA-256 over the exact JSON strings, whatever the header's `alg`: the forgery in an
 * algorithm-confusion attack, where the secret is e.g. the server's public key as PEM or JWK.
 *
 * @example
 * hs256WithKey('{"alg":"HS256","kid":"rsa-1"}', JSON.stringify(defaultClaims), publicPem)
 */
export function hs256WithKey(
  headerJson: string,
  payloadJson: string,
  secret: string | Uint8Array,
): string {
  const signingInput = `${b64url(headerJson)}.${b64url(payloadJson)}`
  const mac = createHmac('sha256', secret).update(signingInput).digest()
  return `${signingInput}.${b64url(mac)}`
}

/**
 * A token with the given header and payload and a signature segment taken as is (empty unless
 * set), as for `alg: 'none'` (RFC 7519 §6.1).
 *
 * @example
 * unsigned({ alg: 'none' }, { ...defaultClaims })
 */
export function unsigned(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signature = '',
): string {
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${signature}`
}
