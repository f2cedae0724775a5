/**
 * DPoP proofs (RFC 9449): the checks of §4.3 on the `DPoP` header of a request whose access
 * token is presented with the `DPoP` scheme, and the thumbprint of §6.1 (RFC 7638).
 *
 * The proof's embedded `jwk` is the only key ever taken from a JWT, and only to verify that
 * proof: the access token itself is verified with the issuer's keys, and bound to the proof by
 * its `cnf.jkt` (the thumbprint of this `jwk`) and the proof to the token by `ath`.
 *
 * A proof header seen lately (a client sends the same one with every proof) is not decoded,
 * hashed or imported again; the thumbprint covers every member that makes the public key.
 */
import { createVerifier, importProofKey, sha256Base64url } from '#crypto'
import type { AuthorizationInput } from './authorization.js'
import { InvalidDpopProofError, type RejectionReason, UseDpopNonceError } from './errors.js'
import { normalizeHtu } from './htu.js'
import type { ResolvedDpopOptions, ResolvedOptions } from './options.js'
import { remember, type TableBounds } from './remembered.js'
import { checkSignature, parseToken } from './token.js'
import type { TokenClaims, TokenHeader } from './types.js'
import type { SignatureVerifier } from './verify.js'

/** What a verified proof tells the later steps: the key's thumbprint, `jti`, `iat`. */
export interface VerifiedProof {
  /** RFC 7638 thumbprint (SHA-256, base64url) of the proof's `jwk`. */
  readonly jkt: string
  readonly jti: string
  readonly iat: number
  /** Whether the proof's nonce is the previous one (a fresh one goes out with the answer). */
  readonly staleNonce: boolean
}

/** The request a proof must be made for. */
export interface ProofTarget {
  readonly method: string | undefined
  /** The normalised URI of the request (htu form), or `undefined` when it cannot be known. */
  readonly uri: string | undefined
}

const MAX_JTI_LENGTH = 256
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const
// RFC 7638 §3.2: the required members of each key type, in lexicographic order.
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
}

function fail(reason: RejectionReason, description: string, claim?: string): never {
  throw new InvalidDpopProofError(description, { reason, claim })
}

/**
 * The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK: the JSON of its required
 * members in lexicographic order, without white space. `undefined` for a key type other than
 * EC, OKP or RSA, or a required member that is not a string.
 *
 * @example
 * ```ts
 * computeJwkThumbprint({ kty: 'EC', crv: 'P-256', x: '...', y: '...' }) // 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
 * ```
 */
export function computeJwkThumbprint(jwk: Readonly<Record<string, unknown>>): string | undefined {
  const members = typeof jwk.kty === 'string' ? REQUIRED_MEMBERS[jwk.kty] : undefined
  if (members === undefined) return undefined
  let json = '{'
  for (const name of members) {
    const value = jwk[name]
    if (typeof value !== 'string') return undefined
    json += `${json.length === 1 ? '' : ','}"${name}":${JSON.stringify(value)}`
  }
  return sha256Base64url(`${json}}`)
}

/** The base64url SHA-256 of an access token: a proof's `ath` (RFC 9449 §4.2). */
export function accessTokenHash(token: string): string {
  // A token is ASCII: its UTF-8 bytes are its characters.
  return sha256Base64url(token)
}

/**
 * Hot-path memos (bench/tricks.ts measures each on and off: "proof-header", "proof-htu"): a
 * client repeats its proof header and its `htu`, so what they give is kept by their exact text,
 * each table bounded, its oldest entry going first. Every value is a pure function of its text.
 */
export interface KnownProofHeader {
  /** The decoded header, passed to parseToken instead of decoding the same text again. */
  readonly header: TokenHeader
  /** RFC 7638 thumbprint of its `jwk`; `undefined` when the jwk has no thumbprint. */
  readonly jkt: string | undefined
  /** The imported `jwk`'s verifier for the header's `alg`; `undefined` when it cannot be made. */
  readonly verifier: SignatureVerifier | undefined
}
/**
 * 1,024 header texts of at most 2,048 characters each (an RSA-4096 key's is about 950): a longer
 * one, which no client needs, is decoded, hashed and imported for every proof instead.
 */
const PROOF_HEADER_BOUNDS: TableBounds = { texts: 1_024, textLength: 2_048 }
const knownHeaders = new Map<string, KnownProofHeader>()
const normalHtus = new Map<string, string>()

/**
 * {@link normalizeHtu}, remembered for recent URIs (the request's and the proof's `htu`), as
 * src/remembered.ts keeps texts; a value that is no URI is refused, and not kept.
 */
export function normalizeHtuCached(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const known = normalHtus.get(value)
  if (known !== undefined) return known
  const normal = normalizeHtu(value)
  return normal === undefined ? undefined : remember(normalHtus, value, normal)
}

/** The header a proof header text decoded to when it last passed the header rules, if kept. */
export function knownProofHeader(text: string): KnownProofHeader | undefined {
  return text === '' ? undefined : knownHeaders.get(text)
}

/**
 * A proof header that passed the header rules, with its `jwk`'s thumbprint and verifier (only
 * the members the thumbprint covers are imported: what was hashed is what verifies).
 */
export function readProofKey(
  header: TokenHeader,
  jwk: Readonly<Record<string, unknown>>,
): KnownProofHeader {
  const jkt = computeJwkThumbprint(jwk)
  let verifier: SignatureVerifier | undefined
  if (jkt !== undefined) {
    const members = REQUIRED_MEMBERS[jwk.kty as string] as readonly string[]
    const key = importProofKey(Object.fromEntries(members.map((name) => [name, jwk[name]])))
    verifier = key === undefined ? undefined : createVerifier(key, header.alg as string)
  }
  return { header: Object.freeze(header), jkt, verifier }
}

/** {@link readProofKey}, kept as the value of the header's text (unless it is too long). */
export function rememberProofHeader(
  text: string,
  header: TokenHeader,
  jwk: Readonly<Record<string, unknown>>,
): KnownProofHeader {
  return remember(knownHeaders, text, readProofKey(header, jwk), PROOF_HEADER_BOUNDS)
}

/** The one proof of a request's `DPoP` header lines (§4.3 check 1). */
export function onlyProof(input: AuthorizationInput): string {
  const value = typeof input === 'string' ? input : input?.length === 1 ? input[0] : input
  if (value === undefined || (Array.isArray(value) && value.length === 0)) {
    fail('missing_proof', 'the request carries no DPoP proof')
  }
  // A Fetch request joins repeated lines with ", "; a compact JWS never holds a comma.
  if (typeof value !== 'string' || value.includes(',')) {
    fail('multiple_proofs', 'the request carries more than one DPoP header')
  }
  return value.trim()
}

/**
 * Checks the DPoP proof of a request made with `token` (RFC 9449 §4.3) whose claims bind it to a
 * key (`cnf.jkt`): one proof, a well-formed JWS typed `dpop+jwt`, an allowed asymmetric `alg`,
 * a public `jwk` whose signature verifies, `htm` and `htu` of this request, a recent `iat`, a
 * `jti`, `ath` of this token, the key the token is bound to, and the server's nonce when nonces
 * are on. Throws {@link InvalidDpopProofError} or {@link UseDpopNonceError}; the replay check of
 * `jti` follows as a step of its own.
 */
export function checkDpopProof(
  input: AuthorizationInput,
  token: string,
  claims: TokenClaims,
  target: ProofTarget,
  options: ResolvedOptions,
  now: number,
): VerifiedProof {
  const dpop = options.dpop as ResolvedDpopOptions
  const proof = onlyProof(input)
  // A client sends the same protected header (typ, alg, jwk) with every proof: a header text
  // seen before is not decoded again, and its thumbprint and verifier come with it. The rules
  // below still run on it, as they depend on this validator's options.
  const headerText = proof.slice(0, Math.max(proof.indexOf('.'), 0))
  const known = knownProofHeader(headerText)
  let parsed: ReturnType<typeof parseToken>
  try {
    parsed = parseToken(proof, options, known?.header)
  } catch {
    fail('malformed_proof', 'the DPoP proof is not a well-formed JWT')
  }
  const { header } = parsed
  const payload = parsed.claims as unknown as Record<string, unknown>
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'dpop+jwt') {
    fail('malformed_proof', 'the DPoP proof typ must be dpop+jwt', 'typ')
  }
  if (typeof header.alg !== 'string' || !dpop.algorithms.has(header.alg)) {
    fail('unsupported_proof_algorithm', 'the DPoP proof alg is not accepted', 'alg')
  }
  if (
    header.crit !== undefined ||
    header.b64 !== undefined ||
    header.zip !== undefined ||
    header.enc !== undefined
  ) {
    fail('malformed_proof', 'the DPoP proof header uses an extension this API does not process')
  }
  const jwk = header.jwk
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    fail('bad_proof_key', 'the DPoP proof has no jwk header', 'jwk')
  }
  const members = jwk as Record<string, unknown>
  for (const name of PRIVATE_MEMBERS) {
    if (members[name] !== undefined) {
      fail('bad_proof_key', 'the DPoP proof jwk must be a public key', 'jwk')
    }
  }
  const { jkt, verifier } = known ?? rememberProofHeader(headerText, header, members)
  if (jkt === undefined || verifier === undefined) {
    fail('bad_proof_key', 'the DPoP proof jwk is not a usable key for its alg', 'jwk')
  }
  // DPoP runs on node:crypto only (options.ts), whose answer is synchronous: anything else fails.
  if (checkSignature(proof, parsed, verifier) !== true) {
    fail('bad_proof_signature', 'the DPoP proof signature is invalid')
  }
  const { jti, htm, htu, iat, ath } = payload
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    fail('malformed_proof', 'the DPoP proof has no valid jti claim', 'jti')
  }
  if (typeof htm !== 'string' || htm !== target.method) {
    fail('wrong_proof_method', 'the DPoP proof htm is not the method of this request', 'htm')
  }
  if (target.uri === undefined) {
    fail('unknown_origin', 'the URI of this request cannot be established', 'htu')
  }
  // target.uri is normalised and normalising is idempotent: an identical htu needs no work.
  if (htu !== target.uri && normalizeHtuCached(htu) !== target.uri) {
    fail('wrong_proof_uri', 'the DPoP proof htu is not the URI of this request', 'htu')
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    fail('malformed_proof', 'the DPoP proof has no valid iat claim', 'iat')
  }
  if (iat > now + options.clockTolerance) {
    fail('proof_in_future', 'the DPoP proof was issued in the future (iat)', 'iat')
  }
  if (iat < now - dpop.maxProofAge - options.clockTolerance) {
    fail('stale_proof', 'the DPoP proof is too old (iat)', 'iat')
  }
  if (typeof ath !== 'string' || ath !== accessTokenHash(token)) {
    fail('wrong_proof_token', 'the DPoP proof ath does not match the access token', 'ath')
  }
  const cnf = claims.cnf as { jkt?: unknown } | undefined
  if (cnf?.jkt !== jkt) {
    fail('wrong_proof_key', 'the DPoP proof key is not the key the token is bound to', 'jkt')
  }
  let staleNonce = false
  if (dpop.nonce !== undefined) {
    const { nonce } = payload
    if (nonce === undefined) {
      throw new UseDpopNonceError('a DPoP nonce is required', { reason: 'missing_nonce' })
    }
    const age = typeof nonce === 'string' ? dpop.nonce.check(nonce, now) : 'invalid'
    if (age === 'invalid') {
      throw new UseDpopNonceError('the DPoP nonce is not valid or no longer valid', {
        reason: 'stale_nonce',
      })
    }
    staleNonce = age === 'previous'
  }
  return { jkt, jti, iat, staleNonce }
}

/** The key of a proof in the replay store: its `jti`, per key (RFC 9449 §11.1). */
export function replayKey(proof: VerifiedProof): string {
  return sha256Base64url(`${proof.jkt}.${proof.jti}`)
}
