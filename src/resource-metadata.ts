/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that tells a client which
 * authorization servers issue tokens for this API, which scopes it knows and how it takes tokens,
 * built once from the validator's options; where it is served (§3.1); and the answer to a request
 * for it, which every adapter only translates into its framework's response.
 */
import { isScopeToken } from './challenge.js'
import { targetPath } from './htu.js'
import type { Validator } from './validator.js'

/**
 * The `resourceMetadata` option of `createValidator`: what the API says about itself in its
 * RFC 9728 metadata. The rest of the document comes from the other options: `authorization_servers`
 * defaults to the configured issuers (when they are URLs), DPoP's algorithms and whether it is
 * required come from `dpop`, certificate binding from `certificateBinding`, and
 * `bearer_methods_supported` is always `["header"]` (tokens are read from the Authorization header
 * only). Challenges then carry `resource_metadata="<metadata URL>"` (§5.1).
 *
 * @example
 * ```ts
 * createValidator({ ...options, resourceMetadata: { resource: 'https://api.example.com/orders' } })
 * ```
 */
export interface ResourceMetadataOptions {
  /**
   * The resource identifier (§2): the https URL clients call the API at, without fragment or
   * query (plain http only on a loopback host, for tests). Its metadata is served at
   * `/.well-known/oauth-protected-resource` followed by its path (§3.1).
   */
  resource: string
  /**
   * Issuer identifiers of the authorization servers that issue tokens for this API (RFC 8414).
   * Default: the `issuer` option when it is one URL or a list of them; the Entra ID profile
   * names the tenant's issuer. An empty list leaves the member out.
   */
  authorizationServers?: readonly string[]
  /** Scopes a client can request for this API (`scopes_supported`), NQCHAR tokens. Default none. */
  scopesSupported?: readonly string[]
  /** A human-readable name of the API (`resource_name`). */
  resourceName?: string
  /** A page with documentation for developers (`resource_documentation`). */
  resourceDocumentation?: string
  /** The API's policy on how clients may use its data (`resource_policy_uri`). */
  resourcePolicyUri?: string
  /** The API's terms of service (`resource_tos_uri`). */
  resourceTosUri?: string
}

/** The RFC 9728 §2 document, as served. */
export interface ProtectedResourceMetadata {
  readonly resource: string
  readonly authorization_servers?: readonly string[]
  readonly scopes_supported?: readonly string[]
  readonly bearer_methods_supported: readonly string[]
  readonly resource_name?: string
  readonly resource_documentation?: string
  readonly resource_policy_uri?: string
  readonly resource_tos_uri?: string
  readonly tls_client_certificate_bound_access_tokens?: boolean
  readonly dpop_signing_alg_values_supported?: readonly string[]
  readonly dpop_bound_access_tokens_required?: boolean
}

/** The resolved `resourceMetadata` option: the document, its URL and the paths it is served at. */
export interface ResolvedResourceMetadata {
  /** The resource identifier, as given. */
  readonly resource: string
  /** Where the document is (§3.1), the value of `resource_metadata` in challenges (§5.1). */
  readonly url: string
  /** The request paths answered: the path-suffixed form first, then the root form if different. */
  readonly paths: readonly string[]
  readonly document: ProtectedResourceMetadata
  /** The document as JSON text, made once. */
  readonly body: string
}

/** What the rest of the options contribute to the document. */
export interface ResourceMetadataSources {
  readonly issuers: ReadonlySet<string> | undefined
  readonly dpop:
    | { readonly required: boolean; readonly algorithms: ReadonlySet<string> }
    | undefined
  readonly certificateBinding: object | undefined
}

/** The RFC 9728 §3 well-known URI suffix. */
export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource'

const OPTION_NAMES: ReadonlySet<string> = new Set<keyof ResourceMetadataOptions>([
  'resource',
  'authorizationServers',
  'scopesSupported',
  'resourceName',
  'resourceDocumentation',
  'resourcePolicyUri',
  'resourceTosUri',
])

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])
const PRINTABLE = /^[\x20-\x7e]+$/

function fail(message: string): never {
  throw new TypeError(message)
}

/**
 * An https URL without credentials or fragment (http on a loopback host); `query` says whether a
 * query is allowed. Returns the string as given, which is what the document and clients compare.
 */
function checkUrl(name: string, value: unknown, query: boolean): string {
  const label = `"resourceMetadata.${name}" option`
  if (typeof value !== 'string' || value === '') fail(`${label} must be a URL string`)
  // Used as written (the document, clients and aud compare strings): new URL() would forgive
  // surrounding whitespace, tabs and newlines that no client's resource ever matches.
  if (!/^[\x21-\x7e]+$/.test(value)) {
    fail(`${label} must be a URL of printable ASCII without spaces`)
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(`${label} must be an absolute URL`)
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    fail(`${label} must be an https URL (plain http is allowed only on a loopback host)`)
  }
  if (url.username !== '' || url.password !== '') fail(`${label} must not carry credentials`)
  if (value.includes('#')) fail(`${label} must not have a fragment`)
  if (!query && value.includes('?')) fail(`${label} must not have a query`)
  return value
}

function checkList(
  name: string,
  value: unknown,
  check: (item: unknown) => string,
): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) fail(`"resourceMetadata.${name}" option must be an array`)
  return value.map(check)
}

function checkText(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !PRINTABLE.test(value)) {
    fail(`"resourceMetadata.${name}" option must be a non-empty string of printable ASCII`)
  }
  return value
}

/**
 * The metadata URL of a resource identifier (RFC 9728 §3.1): the well-known suffix goes between
 * the host and the path, with the path's terminating slash removed.
 *
 * @example
 * ```ts
 * resourceMetadataUrl('https://api.example.com/mcp')
 * // 'https://api.example.com/.well-known/oauth-protected-resource/mcp'
 * resourceMetadataUrl('https://api.example.com') // 'https://api.example.com/.well-known/oauth-protected-resource'
 * ```
 */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return `${url.origin}${RESOURCE_METADATA_PATH}${path}`
}

/** Issuers that are URLs an authorization server can be found at; the others are left out. */
function issuerUrls(issuers: ReadonlySet<string> | undefined): string[] | undefined {
  if (issuers === undefined) return undefined
  const urls: string[] = []
  for (const issuer of issuers) {
    try {
      urls.push(checkUrl('authorizationServers', issuer, false))
    } catch {}
  }
  return urls.length === issuers.size ? urls : undefined
}

/**
 * Checks the `resourceMetadata` option and builds the document, once, when a validator is
 * created. Bad input throws a `TypeError` naming the option.
 *
 * @example
 * ```ts
 * resolveResourceMetadata({ resource: 'https://api.example.com' }, resolvedOptions)?.url
 * // 'https://api.example.com/.well-known/oauth-protected-resource'
 * ```
 */
export function resolveResourceMetadata(
  value: unknown,
  sources: ResourceMetadataSources,
): ResolvedResourceMetadata | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) {
    fail('"resourceMetadata" option must be an object with a "resource" URL')
  }
  for (const name of Object.keys(value)) {
    if (!OPTION_NAMES.has(name)) fail(`unknown option "resourceMetadata.${name}"`)
  }
  const options = value as ResourceMetadataOptions
  if (options.resource === undefined) fail('"resourceMetadata.resource" option is required')
  const resource = checkUrl('resource', options.resource, false)
  const servers =
    checkList('authorizationServers', options.authorizationServers, (item) =>
      checkUrl('authorizationServers', item, false),
    ) ?? issuerUrls(sources.issuers)
  const scopes = checkList('scopesSupported', options.scopesSupported, (item) =>
    typeof item === 'string' && isScopeToken(item)
      ? item
      : fail(
          '"resourceMetadata.scopesSupported" option must list scopes without spaces, quotes or backslashes',
        ),
  )
  const { dpop, certificateBinding } = sources
  const document: ProtectedResourceMetadata = {
    resource,
    ...(servers === undefined || servers.length === 0 ? {} : { authorization_servers: servers }),
    ...(scopes === undefined ? {} : { scopes_supported: scopes }),
    // Tokens are read from the Authorization header only, never from a form body or the query.
    bearer_methods_supported: ['header'],
    ...optionalText('resource_name', checkText('resourceName', options.resourceName)),
    ...optionalText(
      'resource_documentation',
      options.resourceDocumentation === undefined
        ? undefined
        : checkUrl('resourceDocumentation', options.resourceDocumentation, true),
    ),
    ...optionalText(
      'resource_policy_uri',
      options.resourcePolicyUri === undefined
        ? undefined
        : checkUrl('resourcePolicyUri', options.resourcePolicyUri, true),
    ),
    ...optionalText(
      'resource_tos_uri',
      options.resourceTosUri === undefined
        ? undefined
        : checkUrl('resourceTosUri', options.resourceTosUri, true),
    ),
    ...(certificateBinding === undefined
      ? {}
      : { tls_client_certificate_bound_access_tokens: true }),
    ...(dpop === undefined
      ? {}
      : {
          dpop_signing_alg_values_supported: [...dpop.algorithms],
          dpop_bound_access_tokens_required: dpop.required,
        }),
  }
  const url = resourceMetadataUrl(resource)
  const path = new URL(url).pathname
  const paths = path === RESOURCE_METADATA_PATH ? [path] : [path, RESOURCE_METADATA_PATH]
  return Object.freeze({
    resource,
    url,
    paths: Object.freeze(paths),
    document: deepFreeze(document),
    body: JSON.stringify(document),
  })
}

function optionalText(name: string, value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { [name]: value }
}

function deepFreeze<T extends object>(value: T): T {
  for (const member of Object.values(value)) {
    if (typeof member === 'object' && member !== null) Object.freeze(member)
  }
  return Object.freeze(value)
}

/**
 * Fills in `authorizationServers` of a `resourceMetadata` option that has none, for a profile
 * that knows its authorization server (the Entra ID profile's tenant issuer).
 *
 * @example
 * ```ts
 * withAuthorizationServer({ resource }, 'https://login.microsoftonline.com/{tid}/v2.0')
 * ```
 */
export function withAuthorizationServer(
  value: ResourceMetadataOptions | undefined,
  server: string | undefined,
): ResourceMetadataOptions | undefined {
  if (
    server === undefined ||
    typeof value !== 'object' ||
    value === null ||
    value.authorizationServers !== undefined
  ) {
    return value
  }
  return { ...value, authorizationServers: [server] }
}

/** How to answer a request for the metadata: status, headers and body (none for HEAD, 204, 405). */
export interface ResourceMetadataAnswer {
  readonly status: 200 | 204 | 405
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

const ALLOW = 'GET, HEAD, OPTIONS'

/**
 * Answers a request for the metadata, or `undefined` when the request is for another path (the
 * adapter passes it on). `target` is the request target (`/path?query`) or an absolute URL. GET and HEAD: 200 JSON, cacheable for an hour, readable from any
 * origin (it is public, and browser-based clients such as MCP inspectors fetch it); OPTIONS: 204
 * with what CORS asks; any other method: 405 with `Allow`.
 *
 * @example
 * ```ts
 * const answer = answerResourceMetadata(validator.options.resourceMetadata, req.method, req.url)
 * ```
 */
export function answerResourceMetadata(
  metadata: ResolvedResourceMetadata,
  method: string | undefined,
  target: string | undefined,
): ResourceMetadataAnswer | undefined {
  const path = targetPath(target)
  if (path === undefined || !metadata.paths.includes(path)) return undefined
  return answers(metadata)[methodKind(method)]
}

function methodKind(method: string | undefined): 'GET' | 'HEAD' | 'OPTIONS' | 'other' {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? method : 'other'
}

type Answers = Readonly<Record<'GET' | 'HEAD' | 'OPTIONS' | 'other', ResourceMetadataAnswer>>
const answersOf = new WeakMap<ResolvedResourceMetadata, Answers>()

/** The four answers of a document, made once per document and shared (frozen). */
function answers(metadata: ResolvedResourceMetadata): Answers {
  let made = answersOf.get(metadata)
  if (made !== undefined) return made
  const ok = Object.freeze({
    'content-type': 'application/json',
    'content-length': String(new TextEncoder().encode(metadata.body).length),
    'cache-control': 'public, max-age=3600',
    'access-control-allow-origin': '*',
  })
  made = Object.freeze({
    GET: Object.freeze({ status: 200, headers: ok, body: metadata.body }),
    HEAD: Object.freeze({ status: 200, headers: ok, body: undefined }),
    OPTIONS: Object.freeze({
      status: 204,
      headers: Object.freeze({
        allow: ALLOW,
        'access-control-allow-origin': '*',
        'access-control-allow-methods': ALLOW,
        'access-control-allow-headers': '*',
        'access-control-max-age': '86400',
      }),
      body: undefined,
    }),
    other: Object.freeze({
      status: 405,
      headers: Object.freeze({ allow: ALLOW }),
      body: undefined,
    }),
  } as const)
  answersOf.set(metadata, made)
  return made
}

/** Answers requests for a validator's metadata: see {@link answerResourceMetadata}. */
export type ResourceMetadataResponder = (
  method: string | undefined,
  target: string | undefined,
) => ResourceMetadataAnswer | undefined

/**
 * The responder every adapter's `protectedResourceMetadata` wraps: it answers the paths of the
 * validator's metadata and returns `undefined` for any other. Throws a `TypeError`, once, when the
 * validator has no `resourceMetadata` option.
 *
 * @example
 * ```ts
 * const respond = createResourceMetadataResponder(validator)
 * const answer = respond(req.method, req.url) // undefined: not a metadata request
 * ```
 */
export function createResourceMetadataResponder(validator: Validator): ResourceMetadataResponder {
  const metadata = validator.options.resourceMetadata
  if (metadata === undefined) {
    fail('protectedResourceMetadata() needs a validator created with the "resourceMetadata" option')
  }
  return (method, target) => answerResourceMetadata(metadata, method, target)
}
