/**
 * The `htu` of a DPoP proof and the URI of the request it came with, in one comparable form
 * (RFC 9449 §4.3 step 9): syntax-based and scheme-based normalisation of RFC 3986 §6.2.2 and
 * §6.2.3, without query and fragment.
 *
 * - scheme and host in lower case, the default port (80 for http, 443 for https) dropped;
 * - percent-encodings of unreserved characters (ALPHA, DIGIT, `-`, `.`, `_`, `~`) decoded, every
 *   other percent-encoding in upper-case hex;
 * - dot segments removed, an empty path made `/`;
 * - the query and fragment left out, on both sides.
 *
 * Only `http` and `https` URIs without user information are comparable; anything else is
 * `undefined`, and a proof carrying it is refused. The path keeps its case and its trailing
 * slash: `/a` and `/a/`, `/A` and `/a` are different resources.
 */

// %XX of an unreserved character (RFC 3986 §2.3), any case of hex digits.
const PERCENT = /%([0-9A-Fa-f]{2})/g
const UNRESERVED = /^[A-Za-z0-9\-._~]$/
// What WHATWG URL parsing would forgive but RFC 3986 does not: white space or control
// characters anywhere, a backslash, an empty authority (`https:///x`), user information.
const STRICT_SHAPE = /^https?:\/\/[^/\\?#@]+(?:[/?#][^\\]*)?$/i

/** Whether `text` holds a control character or white space (C0, space, DEL). */
function hasControlOrSpace(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code <= 0x20 || code === 0x7f) return true
  }
  return false
}

function normalizePercent(_match: string, hex: string): string {
  const char = String.fromCharCode(Number.parseInt(hex, 16))
  return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`
}

/**
 * The normal form of an absolute `http` or `https` URI without its query and fragment, or
 * `undefined` when `value` is not one.
 *
 * @example
 * ```ts
 * normalizeHtu('HTTPS://API.example:443/a/./b/%7euser?x=1#f') // 'https://api.example/a/b/~user'
 * ```
 */
export function normalizeHtu(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 8192) return undefined
  if (!STRICT_SHAPE.test(value) || hasControlOrSpace(value)) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  if (url.username !== '' || url.password !== '' || url.hostname === '') return undefined
  // WHATWG URL parsing already lower-cases scheme and host, drops the default port and
  // removes dot segments (%2E included); what is left is RFC 3986 §6.2.2.1 and §6.2.2.2.
  let path = url.pathname.replace(PERCENT, normalizePercent)
  // A decoded "%2E" cannot make a new dot segment: WHATWG treated it as a dot already.
  if (path === '') path = '/'
  return `${url.protocol}//${url.host}${path}`
}

/**
 * The path of a request target as a server receives it (origin-form `/a/b?q`, or absolute-form
 * `http://host/a/b?q` from a proxy), without query and fragment; `undefined` for other forms
 * (`*`, authority-form).
 *
 * @example
 * ```ts
 * targetPath('/orders/1?expand=all') // '/orders/1'
 * ```
 */
export function targetPath(target: string | undefined): string | undefined {
  if (target === undefined || target.length === 0) return undefined
  if (target.charCodeAt(0) === 0x2f) {
    let end = target.length
    const query = target.indexOf('?')
    if (query !== -1) end = query
    const fragment = target.indexOf('#')
    if (fragment !== -1 && fragment < end) end = fragment
    return target.slice(0, end)
  }
  try {
    const url = new URL(target)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.pathname : undefined
  } catch {
    return undefined
  }
}

/**
 * The normal form of an origin given in the options (`https://api.example.com`), or
 * `undefined` when it is not an http(s) origin (a path, query, fragment or user information
 * is not an origin).
 */
export function normalizeOrigin(value: unknown): string | undefined {
  const normal = normalizeHtu(value)
  if (normal === undefined || typeof value !== 'string') return undefined
  const url = new URL(value)
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || value.includes('?')) {
    return undefined
  }
  return normal.slice(0, -1)
}
