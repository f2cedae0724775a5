/**
 * Reads Bearer credentials from the Authorization header (RFC 6750 §2.1, RFC 7235 §2.1):
 *
 *   credentials = "Bearer" 1*SP b64token
 *   b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 *
 * The scheme is case-insensitive (RFC 7235 §2.1). Tokens are read from this header only, never
 * from a query string or body (RFC 6750 §2.3 is not supported on purpose: URLs end up in logs).
 */
import { DEFAULT_REALM, InvalidRequestError, UnauthorizedError } from './errors.js'

/** The Authorization header as a framework hands it over: absent, one value, or every value. */
export type AuthorizationInput = string | readonly string[] | undefined

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
const JOINED_BEARER = /,[ \t]*bearer(?:[ \t]|$)/i
// Leading and trailing optional white space is not part of a field value (RFC 9110 §5.5).
const OWS_EDGES = /^[ \t]+|[ \t]+$/g

/**
 * Pulls the token out of one Authorization value. Returns `undefined` when the value is not
 * Bearer credentials at all (absent, empty, or another scheme such as `Basic`); throws an
 * {@link InvalidRequestError} (400) when it is Bearer but malformed.
 *
 * @example
 * ```ts
 * extractBearerToken('bearer   eyJhbGciOi...') // 'eyJhbGciOi...'
 * extractBearerToken('Basic dXNlcjpwYXNz') // undefined
 * extractBearerToken('Bearer a b') // throws InvalidRequestError
 * ```
 */
export function extractBearerToken(value: string, realm = DEFAULT_REALM): string | undefined {
  return extractCredentials(value, false, realm)?.token
}

/** The schemes credentials can come with. */
export type Scheme = 'Bearer' | 'DPoP' | 'MTLS_POP'

/** Which schemes besides Bearer a validator accepts. */
export interface AcceptedSchemes {
  readonly dpop: boolean
  readonly mtlsPop: boolean
}

const BEARER_ONLY: AcceptedSchemes = Object.freeze({ dpop: false, mtlsPop: false })
const DPOP_ONLY: AcceptedSchemes = Object.freeze({ dpop: true, mtlsPop: false })

/** Credentials read from an Authorization header: the scheme and its token. */
export interface Credentials {
  /**
   * `Bearer` (RFC 6750), `DPoP` (RFC 9449 §7.1), or `MTLS_POP`, the scheme Entra ID's clients
   * present certificate-bound tokens with (Microsoft Identity Web's token binding).
   */
  readonly scheme: Scheme
  readonly token: string
}

const JOINED_CREDENTIALS = /,[ \t]*(?:bearer|dpop|mtls_pop)(?:[ \t]|$)/i

/** Whether `header` starts with `scheme` (lower case) in any case. */
function startsWithScheme(header: string, scheme: string): boolean {
  if (header.length < scheme.length) return false
  // ASCII case folding, without making a string: setting the 0x20 bit lower-cases a letter, and
  // only 'B' and 'b' give 'b' so. No other character folds to a scheme's letter in toLowerCase
  // either (the Kelvin sign gives 'k', in no scheme name).
  for (let i = 0; i < scheme.length; i++) {
    const expected = scheme.charCodeAt(i)
    const actual = header.charCodeAt(i)
    if (actual === expected) continue
    if (expected < 0x61 || expected > 0x7a || (actual | 0x20) !== expected) return false
  }
  return true
}

/**
 * Reads Bearer credentials, and DPoP (RFC 9449 §7.1) or `MTLS_POP` credentials too when
 * `accepted` says so (`true`: DPoP); both schemes take a token of the same syntax. `undefined` for no such credentials (absent,
 * empty, another scheme); an {@link InvalidRequestError} (400) when malformed.
 *
 * @example
 * ```ts
 * extractCredentials('DPoP eyJhbGciOi...', true) // { scheme: 'DPoP', token: 'eyJhbGciOi...' }
 * extractCredentials('DPoP eyJhbGciOi...', false) // undefined
 * ```
 */
export function extractCredentials(
  value: string,
  accepted: boolean | AcceptedSchemes,
  realm = DEFAULT_REALM,
): Credentials | undefined {
  return readCredentials(value, accepted, realm, true)
}

/**
 * {@link extractCredentials}, with the token's characters checked only when `checkCharacters`:
 * the validator defers that check to a token that fails to parse (see {@link checkTokenCharacters}).
 */
function readCredentials(
  value: string,
  accepted: boolean | AcceptedSchemes,
  realm: string,
  checkCharacters: boolean,
): Credentials | undefined {
  const schemes = accepted === true ? DPOP_ONLY : accepted === false ? BEARER_ONLY : accepted
  const acceptsOthers = schemes.dpop || schemes.mtlsPop
  let header = value
  if (
    header.length > 0 &&
    (header.charCodeAt(0) <= 32 || header.charCodeAt(header.length - 1) <= 32)
  ) {
    header = header.replace(OWS_EDGES, '')
  }
  const scheme: Scheme | undefined = startsWithScheme(header, 'bearer')
    ? 'Bearer'
    : schemes.dpop && startsWithScheme(header, 'dpop')
      ? 'DPoP'
      : schemes.mtlsPop && startsWithScheme(header, 'mtls_pop')
        ? 'MTLS_POP'
        : undefined
  if (scheme === undefined) {
    // A proxy or the Fetch API may join repeated headers with ", ": "Basic x, Bearer y" is
    // credentials sent twice, not "no Bearer credentials".
    if (header.includes(',') && (acceptsOthers ? JOINED_CREDENTIALS : JOINED_BEARER).test(header)) {
      throw new InvalidRequestError('more than one set of credentials was sent', {
        reason: 'multiple_authorization',
        realm,
      })
    }
    return undefined
  }
  const length = scheme.length
  if (header.length === length) {
    throw new InvalidRequestError(`${scheme} scheme without a token`, {
      reason: 'malformed_authorization',
      realm,
    })
  }
  if (header.charCodeAt(length) !== 32) {
    // "Bearerx ..." is another scheme; "Bearer\t..." is Bearer with the wrong separator.
    if (header.charCodeAt(length) !== 9) return undefined
    throw new InvalidRequestError(`the ${scheme} scheme must be followed by spaces, not tabs`, {
      reason: 'malformed_authorization',
      realm,
    })
  }
  let start = length + 1
  while (start < header.length && header.charCodeAt(start) === 32) start++
  const token = header.slice(start)
  if (token === '') {
    throw new InvalidRequestError(`${scheme} scheme without a token`, {
      reason: 'malformed_authorization',
      realm,
    })
  }
  if (checkCharacters) checkTokenCharacters(token, scheme, realm)
  return { scheme, token }
}

/**
 * Throws the 400 `invalid_request` for a token from an Authorization header with a character
 * outside RFC 6750's b64token. The validator reads credentials without this check and runs it
 * only when the token does not parse: a token that parses is base64url and dots, so a b64token,
 * and the check (a regular expression over 1-2 KB, about 5 % of a token's verification) is
 * saved for every token that does.
 */
export function checkTokenCharacters(token: string, scheme: Scheme, realm = DEFAULT_REALM): void {
  if (!B64TOKEN.test(token)) {
    throw new InvalidRequestError(
      `the ${scheme} credentials must be a single token of base64url characters`,
      { reason: 'malformed_authorization', realm },
    )
  }
}

/**
 * The would-be token of a plain `Bearer <token>` value, found without validating it: for a
 * lookup among tokens that were already verified, never as a token in its own right.
 */
export function peekBearerToken(input: AuthorizationInput): string | undefined {
  const value = typeof input === 'string' ? input : input?.length === 1 ? input[0] : undefined
  if (value === undefined || value.length < 8 || value.charCodeAt(6) !== 32) return undefined
  // "bearer" in any case: setting the 0x20 bit lower-cases ASCII letters.
  if (
    (value.charCodeAt(0) | 0x20) !== 0x62 ||
    (value.charCodeAt(1) | 0x20) !== 0x65 ||
    (value.charCodeAt(2) | 0x20) !== 0x61 ||
    (value.charCodeAt(3) | 0x20) !== 0x72 ||
    (value.charCodeAt(4) | 0x20) !== 0x65 ||
    (value.charCodeAt(5) | 0x20) !== 0x72
  ) {
    return undefined
  }
  let start = 7
  while (value.charCodeAt(start) === 32) start++
  return value.slice(start)
}

/**
 * The would-be credentials of a plain `<scheme> <token>` value for the schemes besides Bearer
 * (`dpop`, `mtls_pop`, lower case), found without validating them: for a lookup among tokens that
 * were already verified, as {@link peekBearerToken}.
 */
export function peekCredentials(
  input: AuthorizationInput,
  accepted: AcceptedSchemes,
): Credentials | undefined {
  const value = typeof input === 'string' ? input : input?.length === 1 ? input[0] : undefined
  if (value === undefined) return undefined
  const bearer = peekBearerToken(value)
  if (bearer !== undefined) return { scheme: 'Bearer', token: bearer }
  const scheme: Scheme | undefined =
    accepted.dpop &&
    value.length > 5 &&
    value.charCodeAt(4) === 32 &&
    startsWithScheme(value, 'dpop')
      ? 'DPoP'
      : accepted.mtlsPop &&
          value.length > 9 &&
          value.charCodeAt(8) === 32 &&
          startsWithScheme(value, 'mtls_pop')
        ? 'MTLS_POP'
        : undefined
  if (scheme === undefined) return undefined
  let start = scheme.length + 1
  while (value.charCodeAt(start) === 32) start++
  return { scheme, token: value.slice(start) }
}

/**
 * Collects every Authorization value from Node's `rawHeaders` (name, value, name, value...).
 * Node keeps only the first repeated Authorization header in `req.headers`, and credentials sent
 * twice must be refused, so adapters read the raw list. Returns `undefined`, one value, or all.
 *
 * @example
 * ```ts
 * readAuthorization(['Host', 'x', 'Authorization', 'Bearer a']) // 'Bearer a'
 * ```
 */
export function readAuthorization(rawHeaders: readonly string[]): AuthorizationInput {
  let found: string | string[] | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue
    const value = rawHeaders[i + 1] as string
    if (found === undefined) found = value
    else if (typeof found === 'string') found = [found, value]
    else found.push(value)
  }
  return found
}

/**
 * Turns the Authorization input into a token: `undefined` when there are no Bearer
 * credentials, the token otherwise. Several Authorization values are an `invalid_request`.
 *
 * @example
 * ```ts
 * parseAuthorization(['Bearer a', 'Bearer b']) // throws InvalidRequestError
 * ```
 */
export function parseAuthorization(
  input: AuthorizationInput,
  realm = DEFAULT_REALM,
): string | undefined {
  if (input === undefined) return undefined
  if (typeof input === 'string') return extractBearerToken(input, realm)
  if (input.length === 0) return undefined
  if (input.length > 1) {
    throw new InvalidRequestError('more than one Authorization header was sent', {
      reason: 'multiple_authorization',
      realm,
    })
  }
  return extractBearerToken(input[0] as string, realm)
}

/**
 * Turns the Authorization input into credentials, Bearer or the other `accepted` schemes:
 * `undefined` when there are none; several Authorization values are an `invalid_request`.
 *
 * @example
 * ```ts
 * parseCredentials('DPoP eyJ...', true) // { scheme: 'DPoP', token: 'eyJ...' }
 * ```
 */
export function parseCredentials(
  input: AuthorizationInput,
  accepted: boolean | AcceptedSchemes,
  realm = DEFAULT_REALM,
): Credentials | undefined {
  return credentialsOf(input, accepted, realm, true)
}

/**
 * {@link parseCredentials} for the validators: the token's characters are left to
 * {@link checkTokenCharacters}, which the caller runs when the token does not parse.
 */
export function parseCredentialsUnchecked(
  input: AuthorizationInput,
  accepted: boolean | AcceptedSchemes,
  realm = DEFAULT_REALM,
): Credentials | undefined {
  return credentialsOf(input, accepted, realm, false)
}

function credentialsOf(
  input: AuthorizationInput,
  accepted: boolean | AcceptedSchemes,
  realm: string,
  checkCharacters: boolean,
): Credentials | undefined {
  if (input === undefined) return undefined
  if (typeof input === 'string') return readCredentials(input, accepted, realm, checkCharacters)
  if (input.length === 0) return undefined
  if (input.length > 1) {
    throw new InvalidRequestError('more than one Authorization header was sent', {
      reason: 'multiple_authorization',
      realm,
    })
  }
  return readCredentials(input[0] as string, accepted, realm, checkCharacters)
}

/** Throws the 401 for a request without Bearer credentials (RFC 6750 §3.1: no error code). */
export function missingCredentials(realm = DEFAULT_REALM): UnauthorizedError {
  return new UnauthorizedError({ reason: 'missing_token', realm })
}
