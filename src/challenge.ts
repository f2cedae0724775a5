/**
 * Builds `WWW-Authenticate` values for the Bearer scheme (RFC 6750 §3).
 *
 * Every parameter is made safe here, whatever its source: `error_description` keeps only the
 * characters RFC 6750 §3 allows (%x20-21 / %x23-5B / %x5D-7E, so no `"` and no `\`), the realm is
 * a quoted-string with `"` and `\` escaped (RFC 7230 §3.2.6), and `scope` keeps only NQCHAR tokens.
 */

/** The parameters of one Bearer challenge. */
export interface ChallengeParams {
  /** Protection space; always sent. */
  realm: string
  /** RFC 6750 §3.1 error code. Omitted when the request had no credentials at all (§3.1). */
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope'
  /** Human-readable explanation for the developer. Never the token. */
  description?: string
  /** Scopes that would satisfy the request (space-separated in the header). */
  scope?: readonly string[]
}

/** Longest `error_description` sent; longer text is cut. */
export const MAX_DESCRIPTION_LENGTH = 300

const QUOTED_STRING_ESCAPE = /["\\]/g
// Options only accept printable ASCII realms; direct callers may pass anything.
const NOT_PRINTABLE = /[^\x20-\x7e]/g
// Anything outside %x20-21 / %x23-5B / %x5D-7E.
const NOT_DESCRIPTION_CHAR = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g
// NQCHAR = %x21 / %x23-5B / %x5D-7E (RFC 6749 appendix A).
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

/**
 * Reports whether a string is a valid scope token (RFC 6749 §3.3, NQCHAR only).
 *
 * @example
 * ```ts
 * isScopeToken('Files.Read') // true
 * isScopeToken('a b') // false
 * ```
 */
export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value)
}

/**
 * Makes any text safe to send as `error_description`: characters outside RFC 6750's set
 * become `?` (a `"` becomes `'`), and the result is at most {@link MAX_DESCRIPTION_LENGTH} long.
 *
 * @example
 * ```ts
 * sanitizeDescription('bad "aud"\n') // "bad 'aud'?"
 * ```
 */
export function sanitizeDescription(text: string): string {
  const cut = text.length > MAX_DESCRIPTION_LENGTH ? text.slice(0, MAX_DESCRIPTION_LENGTH) : text
  return cut.replace(NOT_DESCRIPTION_CHAR, (ch) => (ch === '"' ? "'" : '?'))
}

/**
 * Quotes a realm as an RFC 7230 quoted-string.
 *
 * @example
 * ```ts
 * quoteRealm('api') // '"api"'
 * ```
 */
export function quoteRealm(realm: string): string {
  return `"${realm.replace(NOT_PRINTABLE, '?').replace(QUOTED_STRING_ESCAPE, '\\$&')}"`
}

/**
 * Formats a Bearer challenge (RFC 6750 §3): `Bearer realm="api", error="invalid_token",
 * error_description="..."`. The realm comes first, then `error`, `error_description` and `scope`.
 *
 * @example
 * ```ts
 * formatChallenge({ realm: 'api', error: 'insufficient_scope', scope: ['Files.Read'] })
 * // 'Bearer realm="api", error="insufficient_scope", scope="Files.Read"'
 * ```
 */
export function formatChallenge(params: ChallengeParams): string {
  let value = `Bearer realm=${quoteRealm(params.realm)}`
  if (params.error !== undefined) value += `, error="${params.error}"`
  if (params.description !== undefined && params.description !== '') {
    value += `, error_description="${sanitizeDescription(params.description)}"`
  }
  if (params.scope !== undefined) {
    const scope = params.scope.filter(isScopeToken).join(' ')
    if (scope !== '') value += `, scope="${scope}"`
  }
  return value
}
