/**
 * Discovery of an issuer's keys: the `jwks_uri` of its OpenID Connect discovery document
 * (OpenID Connect Discovery 1.0 §4) or, failing that, of its RFC 8414 authorization server
 * metadata. A document is used only when its `issuer` is the configured issuer, character for
 * character (RFC 8414 §3.3, OpenID Connect Discovery §4.3): otherwise a document served for
 * another issuer (or by anyone able to answer at that URL) could name its own keys. Its
 * `jwks_uri` must be https, or http on a loopback host, as the `jwksUri` option.
 *
 * Fetching is the key source's (jwks.ts): bounded in time and size, no redirects, the `fetch`
 * option, done with the first key fetch or by `warmUp()`.
 */
/** Refuses a URL keys may not come from (options.ts's `checkKeyUrl`), throwing a `TypeError`. */
export type KeyUrlCheck = (name: string, value: unknown) => URL

/** Where the key source finds the JWKS URL of an issuer, and which issuer its document must name. */
export interface DiscoveryLocation {
  /** The discovery document tried first. */
  readonly url: URL
  /** RFC 8414's metadata URL, tried when the first document cannot be used (discovery from `issuer` only). */
  readonly fallback?: URL | undefined
}

const OIDC_SUFFIX = '/.well-known/openid-configuration'
const OAUTH_SUFFIX = '/.well-known/oauth-authorization-server'
// How much of a document's `issuer` an error message repeats (it goes to logs, never to clients).
const MAX_QUOTED = 200

/**
 * The discovery URLs of an issuer: `{issuer}/.well-known/openid-configuration` (OpenID Connect
 * Discovery §4.1, a terminating `/` removed first) and RFC 8414 §3.1's
 * `{origin}/.well-known/oauth-authorization-server{path}`, the well-known part inserted between
 * the host and the path.
 *
 * @example
 * ```ts
 * discoveryLocationOf(new URL('https://id.example/tenant-1/'))
 * // url: https://id.example/tenant-1/.well-known/openid-configuration
 * // fallback: https://id.example/.well-known/oauth-authorization-server/tenant-1
 * ```
 */
export function discoveryLocationOf(issuer: URL): DiscoveryLocation {
  const path = issuer.pathname.replace(/\/$/, '')
  return {
    url: new URL(`${issuer.origin}${path}${OIDC_SUFFIX}`),
    fallback: new URL(`${issuer.origin}${OAUTH_SUFFIX}${path}`),
  }
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value))
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text)
}

/**
 * The JWKS URL a discovery document names, once the document is checked: its `jwks_uri` a
 * URL `checkKeyUrl` accepts (https, or http on a loopback host), its `issuer` one of `issuers` (when the accepted issuers are
 * values, not a predicate). Throws an error that says why the document is not used.
 */
export function jwksUriOf(
  document: unknown,
  where: URL,
  issuers: ReadonlySet<string> | undefined,
  checkKeyUrl: KeyUrlCheck,
): URL {
  const { jwks_uri: uri, issuer } = (document ?? {}) as { jwks_uri?: unknown; issuer?: unknown }
  if (typeof uri !== 'string') throw new Error('the discovery document has no "jwks_uri"')
  let url: URL
  try {
    url = checkKeyUrl('jwks_uri', uri)
  } catch (error) {
    throw new Error(`the discovery document's jwks_uri is refused: ${(error as Error).message}`)
  }
  if (issuers !== undefined && (typeof issuer !== 'string' || !issuers.has(issuer))) {
    const expected = [...issuers].map(quote).join(' or ')
    throw new Error(
      issuer === undefined
        ? `the discovery document at ${where.origin}${where.pathname} names no "issuer": it is not used (RFC 8414 §3.3)`
        : `the discovery document at ${where.origin}${where.pathname} names the issuer ${quote(issuer)}, not the configured ${expected}: it is not used (RFC 8414 §3.3, OpenID Connect Discovery §4.3)`,
    )
  }
  return url
}

/**
 * Finds the JWKS URL of an issuer through its discovery document(s): the first document, then,
 * when it cannot be used for any reason (an HTTP error, not JSON, another issuer...), the
 * fallback. Both failing, the error names both reasons. At most two fetches, each bounded by
 * `fetchDocument`.
 */
export async function discoverJwksUri(
  location: DiscoveryLocation,
  issuers: ReadonlySet<string> | undefined,
  fetchDocument: (url: URL) => Promise<unknown>,
  checkKeyUrl: KeyUrlCheck,
): Promise<URL> {
  try {
    return jwksUriOf(await fetchDocument(location.url), location.url, issuers, checkKeyUrl)
  } catch (first) {
    if (location.fallback === undefined) throw first
    try {
      return jwksUriOf(
        await fetchDocument(location.fallback),
        location.fallback,
        issuers,
        checkKeyUrl,
      )
    } catch (second) {
      throw new Error(
        `no usable discovery document for the issuer: ${(first as Error).message}; then ${(second as Error).message}`,
        { cause: second },
      )
    }
  }
}
