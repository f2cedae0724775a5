/**
 * Strict parsing of a compact JWS (RFC 7515 §7.1) and the checks that need no key: header
 * rules and claim rules. Everything here is cheap and runs before any key lookup, so a token
 * that would fail anyway never causes a JWKS fetch.
 */
import { bufferFor, decodeSegmentInto, isPlainAscii } from '#crypto'
import type { Scheme } from './authorization.js'
import { InvalidTokenError, type RejectionReason } from './errors.js'
import { deepFreeze } from './immutable.js'
import { normalizeTokenType, type ResolvedOptions } from './options.js'
import { MAX_REMEMBERED_TEXT, remember } from './remembered.js'
import type { TokenClaims, TokenHeader } from './types.js'

/** A token split into its parts, header and claims decoded. */
export interface ParsedToken {
  readonly header: TokenHeader
  readonly claims: TokenClaims
  /** Index of the second `.`: `token.slice(0, signingInputEnd)` is the JWS signing input. */
  readonly signingInputEnd: number
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const MAX_KID_LENGTH = 1024

function reject(
  reason: RejectionReason,
  description: string,
  claim?: string,
  cause?: unknown,
): never {
  throw new InvalidTokenError(description, { reason, claim, cause })
}

function decodeJsonObject(bytes: Uint8Array, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(bytes))
  } catch (cause) {
    reject('malformed_token', `the token ${what} is not valid JSON`, undefined, cause)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    reject('malformed_token', `the token ${what} is not a JSON object`)
  }
  return value as Record<string, unknown>
}

function notBase64url(): never {
  reject('malformed_token', 'the token segments must be unpadded base64url')
}

/**
 * Splits a compact JWS, checks each segment is canonical base64url and decodes the header and
 * payload as JSON objects. Any deviation is a 401 `invalid_token` with reason `malformed_token`.
 * `knownHeader`: the decoded header of a first segment whose exact text parsed before (a DPoP
 * client repeats its proof header), so that segment is not decoded again.
 *
 * @example
 * ```ts
 * parseToken('eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln', options).header.alg // 'RS256'
 * ```
 */
export function parseToken(
  token: unknown,
  options: ResolvedOptions,
  knownHeader?: TokenHeader,
): ParsedToken {
  if (typeof token !== 'string' || token.length === 0) {
    reject('malformed_token', 'the token must be a non-empty string')
  }
  if (token.length > options.maxTokenLength) {
    reject('token_too_large', `the token is longer than ${options.maxTokenLength} characters`)
  }
  const first = token.indexOf('.')
  const second = first === -1 ? -1 : token.indexOf('.', first + 1)
  if (second === -1 || token.indexOf('.', second + 1) !== -1) {
    reject('malformed_token', 'the token is not a JWS in compact serialization (three segments)')
  }
  if (!isPlainAscii(token)) notBase64url()
  // An unsigned token (`alg: none`) has an empty signature: name that, not the encoding.
  if (second + 1 === token.length && first > 0 && second > first + 1) {
    reject(
      'malformed_token',
      'the token is unsigned (empty signature): this API accepts signed tokens only',
    )
  }
  const buffer = bufferFor(token)
  // The signature is only checked here; checkSignature decodes it again when a key is at hand.
  if (decodeSegmentInto(token, second + 1, token.length, buffer, 0) === -1) notBase64url()
  const headerLength = knownHeader === undefined ? decodeSegmentInto(token, 0, first, buffer, 0) : 0
  const payloadLength =
    headerLength === -1 ? -1 : decodeSegmentInto(token, first + 1, second, buffer, headerLength)
  if (payloadLength === -1) notBase64url()
  const header = knownHeader ?? decodeJsonObject(buffer.subarray(0, headerLength), 'header')
  const claims = decodeJsonObject(
    buffer.subarray(headerLength, headerLength + payloadLength),
    'payload',
  )
  return {
    header: header as unknown as TokenHeader,
    claims: claims as unknown as TokenClaims,
    signingInputEnd: second,
  }
}

// The decoded, frozen headers of the access tokens seen lately, by their text (remembered.ts).
const headersByText = new Map<string, TokenHeader>()

/**
 * {@link parseToken} for an access token, its header from the texts seen lately when it was seen
 * before; the header it hands back is frozen all the way down (it may be shared with other
 * tokens of the same header text).
 *
 * @example
 * ```ts
 * parseAccessToken(token, options).header === parseAccessToken(other, options).header // same header text
 * ```
 */
export function parseAccessToken(token: unknown, options: ResolvedOptions): ParsedToken {
  if (typeof token !== 'string' || token.length > options.maxTokenLength) {
    return parseToken(token, options)
  }
  const end = token.indexOf('.')
  if (end <= 0 || end > MAX_REMEMBERED_TEXT) return parseToken(token, options)
  const text = token.slice(0, end)
  const known = headersByText.get(text)
  if (known !== undefined) return parseToken(token, options, known)
  const parsed = parseToken(token, options)
  remember(headersByText, text, deepFreeze(parsed.header))
  return parsed
}

/**
 * Checks the signature of a token that {@link parseToken} accepted with `verifier`: `true` or
 * `false` at once on node:crypto, a promise of it on WebCrypto (crypto-web.ts).
 */
export { checkSignature } from '#crypto'

/** `alg`: an algorithm on the allow-list (RFC 8725 §3.1). */
export function checkAlgorithm(header: TokenHeader, options: ResolvedOptions): void {
  const { alg } = header
  if (typeof alg !== 'string' || !options.algorithms.has(alg)) {
    reject(
      'unsupported_algorithm',
      'the token is signed with an algorithm this API does not accept',
      'alg',
    )
  }
}

/** `kid`, when present: a non-empty string of sane length. */
export function checkKeyId(header: TokenHeader): void {
  const { kid } = header
  if (
    kid !== undefined &&
    (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)
  ) {
    reject('malformed_token', 'the token kid must be a non-empty string', 'kid')
  }
}

/** `typ`: absent (unless required) or an access-token type (RFC 8725 §3.11, RFC 9068 §2.1). */
export function checkTokenType(header: TokenHeader, options: ResolvedOptions): void {
  const { typ } = header
  if (typ === undefined) {
    if (options.typRequired)
      reject(
        'unsupported_token_type',
        'the token has no typ header, and this API requires one',
        'typ',
      )
  } else if (typeof typ !== 'string' || !options.tokenTypes.has(normalizeTokenType(typ))) {
    reject('unsupported_token_type', 'the token typ is not an access token type', 'typ')
  }
}

/**
 * No `crit` and no other parameter that would change how the token must be processed. RFC 7515
 * §4.1.11: a recipient must reject a token whose crit extensions it does not process, and we
 * process none (b64: false of RFC 7797 included). zip and enc have no place in a JWS.
 */
export function checkCritical(header: TokenHeader): void {
  if (
    header.crit !== undefined ||
    header.b64 !== undefined ||
    header.zip !== undefined ||
    header.enc !== undefined
  ) {
    reject(
      'unsupported_header',
      'the token header uses an extension this API does not process',
      'crit',
    )
  }
}

/**
 * Checks the protected header: `alg` on the allow-list, an access-token `typ`, no `crit` or
 * other parameter that would change how the token must be processed, a sane `kid`.
 * `jwk`, `jku`, `x5u`, `x5c` and `x5t` are ignored: keys never come from the token.
 */
export function checkHeader(header: TokenHeader, options: ResolvedOptions): void {
  checkAlgorithm(header, options)
  checkKeyId(header)
  checkTokenType(header, options)
  checkCritical(header)
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string')
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/**
 * `iss`: required, and accepted by the options. Returns a promise only when an issuer predicate
 * answered with one; the caller awaits it before the caller rules.
 */
export function checkIssuer(
  claims: TokenClaims,
  options: ResolvedOptions,
): Promise<void> | undefined {
  const { iss } = claims
  if (typeof iss !== 'string') {
    reject(
      iss === undefined ? 'missing_claim' : 'invalid_claim',
      'the token has no valid issuer (iss) claim',
      'iss',
    )
  }
  if (options.issuers !== undefined) {
    if (!options.issuers.has(iss)) wrongIssuer(options)
    return undefined
  }
  const verdict = (options.issuerPredicate as NonNullable<ResolvedOptions['issuerPredicate']>)(
    iss,
    claims,
  )
  if (verdict === true) return undefined
  if (typeof verdict !== 'object' || verdict === null) wrongIssuer(options)
  const pending = Promise.resolve(verdict).then((accepted) => {
    if (accepted !== true) wrongIssuer(options)
  })
  // A later check may throw before anyone awaits this; its rejection is then moot.
  pending.catch(() => {})
  return pending
}

/** `aud`: required, a non-empty string or list of strings, one of them this API (RFC 7519 §4.1.3). */
export function checkAudience(claims: TokenClaims, options: ResolvedOptions): void {
  const { aud } = claims
  if (typeof aud === 'string' ? aud === '' : !isStringList(aud)) {
    reject(
      aud === undefined ? 'missing_claim' : 'invalid_claim',
      'the token has no valid audience (aud) claim',
      'aud',
    )
  }
  if (
    typeof aud === 'string'
      ? !options.audiences.has(aud)
      : !(aud as string[]).some((value) => options.audiences.has(value))
  ) {
    reject('wrong_audience', 'the token audience (aud) is not this API', 'aud')
  }
}

/** `exp`: required, a number, not past (within `clockTolerance`). */
export function checkExpiry(claims: TokenClaims, options: ResolvedOptions, now: number): void {
  const { exp } = claims
  if (!isNumericDate(exp)) {
    reject(
      exp === undefined ? 'missing_claim' : 'invalid_claim',
      'the token has no valid expiry (exp) claim',
      'exp',
    )
  }
  if (exp <= now - options.clockTolerance) {
    reject('expired', `the token expired ${formatAge(now - exp)} ago`, 'exp')
  }
}

/** `nbf`, when present: a number, not in the future (within `clockTolerance`). */
export function checkNotBefore(claims: TokenClaims, options: ResolvedOptions, now: number): void {
  const { nbf } = claims
  if (nbf === undefined) return
  if (!isNumericDate(nbf)) reject('invalid_claim', 'the token nbf claim must be a number', 'nbf')
  if (nbf > now + options.clockTolerance)
    reject('not_yet_valid', 'the token is not valid yet (nbf)', 'nbf')
}

/** `iat`, when present: a number, not in the future (within `clockTolerance`). */
export function checkIssuedAt(claims: TokenClaims, options: ResolvedOptions, now: number): void {
  const { iat } = claims
  if (iat === undefined) return
  if (!isNumericDate(iat)) reject('invalid_claim', 'the token iat claim must be a number', 'iat')
  if (iat > now + options.clockTolerance)
    reject('issued_in_future', 'the token was issued in the future (iat)', 'iat')
}

/** `maxTokenAge`, when set: `iat` required and recent enough. */
export function checkMaxAge(claims: TokenClaims, options: ResolvedOptions, now: number): void {
  if (options.maxTokenAge === undefined) return
  const { iat } = claims
  if (iat === undefined)
    reject('missing_claim', 'the token has no iat claim, and this API limits token age', 'iat')
  if (!isNumericDate(iat)) reject('invalid_claim', 'the token iat claim must be a number', 'iat')
  if (now - iat > options.maxTokenAge + options.clockTolerance) {
    reject('too_old', 'the token is older than this API accepts (iat)', 'iat')
  }
}

/** `sub`, when present: a string. */
export function checkSubject(claims: TokenClaims): void {
  if (claims.sub !== undefined && typeof claims.sub !== 'string')
    reject('invalid_claim', 'the token sub claim must be a string', 'sub')
}

/** `requiredClaims`: each present. */
export function checkRequiredClaims(claims: TokenClaims, options: ResolvedOptions): void {
  for (const name of options.requiredClaims) {
    // Own members only: `claims.constructor` or `claims.__proto__` come from Object.prototype.
    if (!Object.hasOwn(claims, name) || claims[name] === undefined)
      reject('missing_claim', 'the token lacks a claim this API requires')
  }
}

/**
 * Checks the registered claims against the options at time `now` (seconds): `iss`, `aud` and
 * `exp` are required; `nbf` and `iat` are honoured within `clockTolerance`; `maxTokenAge` and
 * `requiredClaims` when set (RFC 7519 §4.1, RFC 9068 §4); a bound token (`cnf`) is refused.
 * Returns a promise only when an issuer predicate answered with one.
 */
export function checkClaims(
  claims: TokenClaims,
  options: ResolvedOptions,
  now: number,
): Promise<void> | undefined {
  const pending = checkIssuer(claims, options)
  checkAudience(claims, options)
  checkExpiry(claims, options, now)
  checkNotBefore(claims, options, now)
  checkIssuedAt(claims, options, now)
  checkMaxAge(claims, options, now)
  checkSubject(claims)
  checkConfirmation(claims)
  checkRequiredClaims(claims, options)
  return pending
}

/**
 * A token with a confirmation claim (`cnf`, RFC 7800) is bound to a key (DPoP, RFC 9449 §6: `jkt`)
 * or a certificate (mTLS, RFC 8705 §3: `x5t#S256`): whoever presents it must prove possession
 * of that key, so it is never accepted as a plain Bearer token (RFC 9449 §7.2, RFC 8705 §3).
 * Whatever the `cnf` holds, even a member unknown here, the token is refused: a stolen bound
 * token must be useless without its key.
 *
 * With the `DPoP` scheme (when DPoP is on), the token must be bound to a key by `cnf.jkt` and
 * nothing else; the proof step then checks the key. With certificate binding on, a token bound
 * to a certificate by `cnf["x5t#S256"]` and nothing else may come as `Bearer` (RFC 8705 §3) or
 * as Entra ID's `MTLS_POP`, which takes nothing else; the certificate step then checks it.
 */
export function checkConfirmation(
  claims: TokenClaims,
  scheme: Scheme = 'Bearer',
  certificateBinding = false,
): void {
  const { cnf } = claims
  if (scheme === 'DPoP') {
    if (onlyMember(cnf) !== 'jkt' || typeof (cnf as { jkt?: unknown }).jkt !== 'string') {
      reject(
        'unbound_token',
        'the token is not bound to a DPoP key (cnf.jkt) and cannot be used with the DPoP scheme',
        'cnf',
      )
    }
    return
  }
  const certificateBound =
    certificateBinding &&
    onlyMember(cnf) === 'x5t#S256' &&
    typeof (cnf as Record<string, unknown>)['x5t#S256'] === 'string'
  if (scheme === 'MTLS_POP') {
    if (!certificateBound) {
      reject(
        'unbound_token',
        'the token is not bound to a client certificate (cnf x5t#S256) and cannot be used with the MTLS_POP scheme',
        'cnf',
      )
    }
    return
  }
  if (cnf !== undefined && !certificateBound) {
    reject(
      'unproven_binding',
      'the token is bound to a key or certificate (cnf) and cannot be used as a Bearer token',
      'cnf',
    )
  }
}

/** The one member of a `cnf` object, or `undefined` when it is not an object of one member. */
function onlyMember(cnf: unknown): string | undefined {
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return undefined
  const names = Object.keys(cnf)
  return names.length === 1 ? names[0] : undefined
}

function wrongIssuer(options: ResolvedOptions): never {
  reject('wrong_issuer', `the token issuer (iss) is not ${options.issuerDescription}`, 'iss')
}

/** "42 s", "3 min", "5 h" or "2 d": how long ago, for a developer reading a 401. */
export function formatAge(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`
  if (seconds < 172_800) return `${Math.round(seconds / 3_600)} h`
  return `${Math.round(seconds / 86_400)} d`
}
