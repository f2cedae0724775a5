/**
 * Builds `WWW-Authenticate` values (RFC 6750 §3, RFC 7235 §4.1) from a rejection's data, once,
 * where the answer leaves the core: the realm, the accepted schemes and parameters every
 * challenge carries come from the validator's {@link ChallengeContext}, never from the steps.
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
  return formatSchemeChallenge(
    'Bearer',
    params.realm,
    { error: params.error, description: params.description, scope: params.scope },
    undefined,
  )
}

/**
 * What a rejection says in its challenges, as data: the error code, its description, the scopes
 * that would do, and extension parameters (`claims`, `acr_values`, `max_age`, ...).
 */
export interface ChallengeData {
  /** The error code (RFC 6750 §3.1 and extensions); none for a request without credentials. */
  readonly error?: string | undefined
  readonly description?: string | undefined
  readonly scope?: readonly string[] | undefined
  /** Extension auth-params, in order, after the RFC 6750 ones. */
  readonly params?: Readonly<Record<string, string>> | undefined
  /**
   * The realm of this challenge, when the rejection has its own: Microsoft's claims challenge
   * sends `realm=""`. Default the validator's realm.
   */
  readonly realm?: string | undefined
  /**
   * The scheme the rejected request used (`Bearer` or `DPoP`): when the context accepts several,
   * only that scheme's challenge carries the error (RFC 9449 §7.1); the others name the realm
   * and their own parameters. Every challenge carries the error when unset.
   */
  readonly scheme?: string | undefined
}

/** One authentication scheme a validator accepts, with parameters its challenges always carry. */
export interface ChallengeScheme {
  /** `Bearer` (RFC 6750), later `DPoP` (RFC 9449 §7.1). */
  readonly name: string
  /** Parameters of this scheme's every challenge (`algs` for DPoP), after those of the rejection. */
  readonly params?: Readonly<Record<string, string>>
}

/**
 * What a validator adds to every challenge, where the answer leaves the core: its realm, the
 * schemes it accepts (one challenge each, RFC 7235 §4.1) and parameters every challenge carries
 * (such as RFC 9728's `resource_metadata`).
 */
export interface ChallengeContext {
  readonly realm: string
  readonly schemes: readonly ChallengeScheme[]
  readonly params?: Readonly<Record<string, string>>
  /**
   * Parameters that the challenges of one error code carry, by code, before the rejection's own:
   * Entra ID's `authorization_uri` in an `insufficient_claims` challenge, where a client can get
   * a token that satisfies the claims (see `azureAd`).
   */
  readonly errorParams?: Readonly<Record<string, Readonly<Record<string, string>>>>
}

/** The context of a validator with the default realm, Bearer only and no extra parameters. */
export const DEFAULT_CHALLENGE_CONTEXT: ChallengeContext = Object.freeze({
  realm: 'api',
  schemes: Object.freeze([Object.freeze({ name: 'Bearer' })]),
})

// auth-param names are tokens (RFC 7230 §3.2.6); names that are not are left out.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

function formatSchemeChallenge(
  scheme: string,
  realm: string,
  data: ChallengeData,
  errorParams: Readonly<Record<string, string>> | undefined,
  ...extra: ReadonlyArray<Readonly<Record<string, string>> | undefined>
): string {
  let value = `${scheme} realm=${quoteRealm(data.realm ?? realm)}`
  // Parameters the context gives an error code lead, as Microsoft writes its claims challenge:
  // `realm="", authorization_uri="...", error="insufficient_claims", claims="..."`.
  const seen = new Set(['realm', 'error', 'error_description', 'scope'])
  if (errorParams !== undefined) {
    for (const name of Object.keys(errorParams)) {
      if (seen.has(name) || !TOKEN.test(name)) continue
      seen.add(name)
      value += `, ${name}="${sanitizeParam(errorParams[name] as string)}"`
    }
  }
  if (data.error !== undefined && TOKEN.test(data.error)) value += `, error="${data.error}"`
  if (data.description !== undefined && data.description !== '') {
    value += `, error_description="${sanitizeDescription(data.description)}"`
  }
  if (data.scope !== undefined) {
    const scope = data.scope.filter(isScopeToken).join(' ')
    if (scope !== '') value += `, scope="${scope}"`
  }
  // Each parameter once per challenge (RFC 7235 §4.1): a later source does not repeat a name.
  for (const params of [data.params, ...extra]) {
    if (params === undefined) continue
    for (const name of Object.keys(params)) {
      if (seen.has(name) || !TOKEN.test(name)) continue
      seen.add(name)
      value += `, ${name}="${sanitizeParam(params[name] as string)}"`
    }
  }
  return value
}

// Extension parameter values: printable ASCII without `"` and `\`, as error_description.
const NOT_PARAM_CHAR = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g
const MAX_PARAM_LENGTH = 4096

function sanitizeParam(value: string): string {
  const text = String(value)
  const cut = text.length > MAX_PARAM_LENGTH ? text.slice(0, MAX_PARAM_LENGTH) : text
  return cut.replace(NOT_PARAM_CHAR, '?')
}

/**
 * Renders the `WWW-Authenticate` value of a rejection for a validator's context: one challenge
 * per accepted scheme (RFC 7235 §4.1), joined with `, ` as one field value (RFC 9110 §5.3), each
 * with the realm, the rejection's parameters, the scheme's and the context's.
 *
 * @example
 * ```ts
 * renderChallenges({ error: 'invalid_token', description: 'expired' }, DEFAULT_CHALLENGE_CONTEXT)
 * // 'Bearer realm="api", error="invalid_token", error_description="expired"'
 * ```
 */
export function renderChallenges(data: ChallengeData, context: ChallengeContext): string {
  const { schemes } = context
  const byError =
    context.errorParams === undefined || data.error === undefined
      ? undefined
      : Object.hasOwn(context.errorParams, data.error)
        ? context.errorParams[data.error]
        : undefined
  if (schemes.length === 1) {
    const only = schemes[0] as ChallengeScheme
    return formatSchemeChallenge(
      only.name,
      context.realm,
      data,
      byError,
      only.params,
      context.params,
    )
  }
  const target =
    data.scheme === undefined
      ? undefined
      : schemes.find((scheme) => scheme.name.toLowerCase() === data.scheme?.toLowerCase())
  return schemes
    .map((scheme) =>
      formatSchemeChallenge(
        scheme.name,
        context.realm,
        target === undefined || target === scheme ? data : NO_ERROR,
        target === undefined || target === scheme ? byError : undefined,
        scheme.params,
        context.params,
      ),
    )
    .join(', ')
}

const NO_ERROR: ChallengeData = Object.freeze({})
