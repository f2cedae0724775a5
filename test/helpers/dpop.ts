/**
 * DPoP for tests (RFC 9449): proofs built by hand with jose's `SignJWT` (and, for the hostile
 * ones, with exact JSON signed by `signRaw`, HMAC or not at all), and access tokens bound to a
 * proof key by `cnf.jkt`, minted at the real time since proofs are checked against the clock.
 */
import { createHash, randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, SignJWT } from 'jose'
import { createTestKey, type TestKey } from './keys.js'
import { hs256WithKey, mintToken, signRaw, unsigned } from './tokens.js'

/** The public origin the DPoP test validators are configured with (never the socket's). */
export const PUBLIC_ORIGIN = 'https://api.example'

/** A proof key with its RFC 7638 thumbprint. */
export interface DpopKey extends TestKey {
  readonly jkt: string
}

/** Makes an ES256 (or `alg`) proof key. */
export async function createDpopKey(alg: TestKey['alg'] = 'ES256'): Promise<DpopKey> {
  const key = await createTestKey(alg)
  const { kid: _kid, alg: _alg, use: _use, ...bare } = key.publicJwk
  return { ...key, publicJwk: bare, jkt: await calculateJwkThumbprint(bare, 'sha256') }
}

/** The public JWK of a key without `kid`, `alg` and `use`, as a proof header carries it. */
export function proofJwk(key: TestKey): Record<string, unknown> {
  const { kid: _kid, alg: _alg, use: _use, ...bare } = key.publicJwk
  return bare
}

/** Seconds now. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** An access token bound to `key` (`cnf.jkt`), valid for an hour from now. */
export function mintBoundToken(
  key: { jkt: string },
  claims: Record<string, unknown> = {},
): Promise<string> {
  const now = nowSeconds()
  return mintToken({
    claims: { iat: now, nbf: now, exp: now + 3600, cnf: { jkt: key.jkt }, ...claims },
  })
}

/** A plain Bearer token valid for an hour from now. */
export function mintCurrentToken(claims: Record<string, unknown> = {}): Promise<string> {
  const now = nowSeconds()
  return mintToken({ claims: { iat: now, nbf: now, exp: now + 3600, ...claims } })
}

/** What a proof says; each member overrides the default, `undefined` removes it. */
export interface ProofOptions {
  htm?: string | undefined
  htu?: string | undefined
  /** The access token whose hash becomes `ath`; or `ath` itself with `athValue`. */
  token?: string | undefined
  ath?: string | undefined
  iat?: number | undefined
  jti?: string | undefined
  nonce?: string | undefined
  /** Header members merged over `{ typ: 'dpop+jwt', alg, jwk }`. */
  header?: Record<string, unknown>
}

/** `ath`: base64url(SHA-256(token)), computed here independently of src/. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

function proofParts(key: TestKey, options: ProofOptions) {
  const payload: Record<string, unknown> = {
    htm: 'GET',
    htu: `${PUBLIC_ORIGIN}/dpop/me`,
    iat: nowSeconds(),
    jti: randomUUID(),
  }
  if (options.token !== undefined) payload.ath = tokenHash(options.token)
  for (const name of ['htm', 'htu', 'ath', 'iat', 'jti', 'nonce'] as const) {
    if (name in options) payload[name] = options[name]
  }
  for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name]
  const header: Record<string, unknown> = {
    typ: 'dpop+jwt',
    alg: key.alg,
    jwk: proofJwk(key),
    ...options.header,
  }
  for (const name of Object.keys(header)) if (header[name] === undefined) delete header[name]
  return { header, payload }
}

/**
 * A DPoP proof signed by `key` with jose's SignJWT: `typ` `dpop+jwt`, the key's public `jwk`,
 * `htm` GET, `htu` of `/dpop/me` at {@link PUBLIC_ORIGIN}, `iat` now, a random `jti`, and `ath`
 * of `options.token`.
 *
 * @example
 * await makeProof(key, { token, htu: `${PUBLIC_ORIGIN}/nonce/me`, nonce })
 */
export async function makeProof(key: TestKey, options: ProofOptions = {}): Promise<string> {
  const { header, payload } = proofParts(key, options)
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key.privateKey)
}

/** A proof with exact header and payload signed by `signer` (its own alg), whatever they say. */
export function makeRawProof(
  key: TestKey,
  options: ProofOptions = {},
  signer: TestKey = key,
): string {
  const { header, payload } = proofParts(key, options)
  return signRaw(JSON.stringify(header), JSON.stringify(payload), signer)
}

/** A proof "signed" with HMAC-SHA-256 (`alg` HS256), the secret being the key's public JWK. */
export function makeHmacProof(key: TestKey, options: ProofOptions = {}): string {
  const { header, payload } = proofParts(key, { ...options, header: { alg: 'HS256' } })
  return hs256WithKey(
    JSON.stringify(header),
    JSON.stringify(payload),
    JSON.stringify(key.publicJwk),
  )
}

/** An unsigned proof (`alg` none). */
export function makeUnsignedProof(key: TestKey, options: ProofOptions = {}): string {
  const { header, payload } = proofParts(key, { ...options, header: { alg: 'none' } })
  // A signature segment, so that it is the alg that refuses the proof, not its syntax.
  return unsigned(header, payload, 'c2lnbmF0dXJl')
}
