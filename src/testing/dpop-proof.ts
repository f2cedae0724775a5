/**
 * DPoP proofs for tests (RFC 9449 §4.2): what a client sends in the `DPoP` header, signed with
 * node:crypto, synchronously. Pair with the emulator's `mint({ dpopKey })`, which binds a token
 * to the same key.
 */
import {
  constants,
  createHash,
  createPublicKey,
  type KeyObject,
  randomUUID,
  sign,
} from 'node:crypto'

/** Options of {@link createDpopProof}. */
export interface DpopProofOptions {
  /** The client's private key: EC P-256/384/521, Ed25519 or RSA (2048 bits or more). */
  privateKey: KeyObject
  /** `htm`: the request's method. */
  method: string
  /** `htu`: the URI the request is sent to; its query and fragment are left out. */
  url: string | URL
  /** The access token the request carries, for `ath`. */
  accessToken?: string
  /** The server's nonce (`DPoP-Nonce`), when it asked for one. */
  nonce?: string
  /** `iat`, in epoch seconds. Default now. */
  issuedAt?: number
  /** `jti`. Default a random UUID. */
  jti?: string
  /** Claims set over the generated ones; `undefined` removes one. */
  claims?: Record<string, unknown>
}

const EC_ALGS: Readonly<Record<string, [alg: string, hash: string]>> = {
  prime256v1: ['ES256', 'sha256'],
  secp384r1: ['ES384', 'sha384'],
  secp521r1: ['ES512', 'sha512'],
}

/** The JWS algorithm and node:crypto signing input of a private key. */
function algorithmOf(key: KeyObject): { alg: string; hash: string | null; pss: boolean } {
  const type = key.asymmetricKeyType
  if (type === 'ec') {
    const found = EC_ALGS[key.asymmetricKeyDetails?.namedCurve ?? '']
    if (found !== undefined) return { alg: found[0], hash: found[1], pss: false }
  }
  if (type === 'ed25519') return { alg: 'EdDSA', hash: null, pss: false }
  if (type === 'rsa') return { alg: 'PS256', hash: 'sha256', pss: true }
  throw new TypeError('"privateKey" must be an EC P-256/384/521, Ed25519 or RSA private key')
}

/** The public JWK of a key, with only the members that make it (RFC 7638 §3.2). */
export function publicJwkOf(key: KeyObject): Record<string, string> {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as Record<string, string>
  const members = jwk.kty === 'RSA' ? ['kty', 'n', 'e'] : ['kty', 'crv', 'x', 'y']
  return Object.fromEntries(
    members.filter((m) => jwk[m] !== undefined).map((m) => [m, jwk[m] as string]),
  )
}

/**
 * A DPoP proof for one request: `typ` `dpop+jwt`, the key's public `jwk`, `htm`, `htu` (without
 * query and fragment), `iat`, `jti`, and `ath` and `nonce` when given.
 *
 * @example
 * ```ts
 * const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
 * const token = emulator.mint({ resource: api, dpopKey: privateKey })
 * const proof = createDpopProof({ privateKey, method: 'GET', url: 'https://api.example/me', accessToken: token })
 * await fetch('https://api.example/me', { headers: { authorization: `DPoP ${token}`, dpop: proof } })
 * ```
 */
export function createDpopProof(options: DpopProofOptions): string {
  const { alg, hash, pss } = algorithmOf(options.privateKey)
  const url = new URL(String(options.url))
  url.search = ''
  url.hash = ''
  const claims: Record<string, unknown> = {
    htm: options.method,
    htu: url.href,
    iat: options.issuedAt ?? Math.floor(Date.now() / 1000),
    jti: options.jti ?? randomUUID(),
  }
  if (options.accessToken !== undefined) {
    claims.ath = createHash('sha256').update(options.accessToken).digest('base64url')
  }
  if (options.nonce !== undefined) claims.nonce = options.nonce
  for (const [name, value] of Object.entries(options.claims ?? {})) {
    if (value === undefined) delete claims[name]
    else claims[name] = value
  }
  const header = { typ: 'dpop+jwt', alg, jwk: publicJwkOf(options.privateKey) }
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  const signature = sign(
    hash,
    Buffer.from(input),
    pss
      ? {
          key: options.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        }
      : { key: options.privateKey, dsaEncoding: 'ieee-p1363' },
  )
  return `${input}.${signature.toString('base64url')}`
}

/** The RFC 7638 thumbprint (`cnf.jkt`) of a key, private or public. */
export function dpopThumbprint(key: KeyObject): string {
  const jwk = publicJwkOf(key)
  const members = Object.keys(jwk).sort()
  const json = `{${members.map((m) => `"${m}":${JSON.stringify(jwk[m])}`).join(',')}}`
  return createHash('sha256').update(json).digest('base64url')
}
