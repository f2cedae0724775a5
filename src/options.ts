import { CRYPTO_BACKEND } from '#crypto'
import { isScopeToken } from './challenge.js'
import { discoveryLocationOf } from './discovery.js'
import { createNonceSource, type NonceSource } from './dpop-nonce.js'
import { DEFAULT_REALM, type RejectionReason } from './errors.js'
import type { BearerGuardEvent } from './events.js'
import { normalizeOrigin } from './htu.js'
import { createMemoryReplayStore, type ReplayStore } from './replay-store.js'
import {
  type ResolvedResourceMetadata,
  type ResourceMetadataOptions,
  resolveResourceMetadata,
} from './resource-metadata.js'
import { DEFAULT_TOKEN_CACHE_ENTRIES } from './token-cache.js'
import type { TokenClaims, TokenHeader } from './types.js'

/**
 * An accepted issuer: one value, a list, or a predicate over the token's `iss` and claims. A
 * predicate may return a promise (the Entra ID profile resolves a tenant's domain name that way);
 * a rejected promise fails the request with its error.
 */
export type IssuerOption =
  | string
  | readonly string[]
  | ((issuer: string, claims: TokenClaims) => boolean | Promise<boolean>)

/** A reason to reject a token, from a custom claim rule. */
export interface ClaimsProblem {
  reason: RejectionReason
  /** Public explanation for the developer; never echo token contents. */
  description: string
}

/**
 * A public JSON Web Key (RFC 7517 §4). Declared here rather than taken from jose, so that the
 * CommonJS type declarations do not import an ESM-only package.
 */
export interface JWK {
  kty?: string
  kid?: string
  alg?: string
  use?: string
  key_ops?: string[]
  crv?: string
  n?: string
  e?: string
  x?: string
  y?: string
  [member: string]: unknown
}

/** A JSON Web Key Set (RFC 7517 §5). */
export interface JSONWebKeySet {
  keys: readonly JWK[]
}

/** The signature algorithms bearer-guard can verify; all asymmetric (RFC 7518 §3, RFC 8037). */
export const SUPPORTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const

/** A supported signature algorithm. */
export type Algorithm = (typeof SUPPORTED_ALGORITHMS)[number]

/**
 * Which headers a trusted reverse proxy sets to tell the origin the client used, for DPoP's
 * `htu`: `x-forwarded` reads `X-Forwarded-Proto` and `X-Forwarded-Host`, `forwarded` reads the
 * `proto` and `host` of RFC 7239's `Forwarded`. The last value of each counts (the one the
 * nearest proxy wrote); the proxy must overwrite or append it on every request.
 */
export type TrustedProxyHeaders = 'x-forwarded' | 'forwarded'

/**
 * Settings of DPoP (RFC 9449), the `dpop` option of {@link ValidatorOptions}.
 *
 * @example
 * ```ts
 * createValidator({ ...options, dpop: { publicOrigin: 'https://api.example.com', nonce: true } })
 * ```
 */
export interface DpopOptions {
  /**
   * When true, only the DPoP scheme is accepted: a request with Bearer credentials counts as
   * one without credentials. Default false: Bearer and DPoP are both accepted (and both are
   * named in challenges).
   */
  required?: boolean
  /**
   * The origin clients call this API at (`https://api.example.com`, with a port when not the
   * default): a proof's `htu` must be this origin and the path of the request. Behind a reverse
   * proxy, this is the proxy's public origin. Required unless `trustedProxyHeaders` is set; the
   * `Host` header is never used.
   */
  publicOrigin?: string
  /**
   * Take the origin from headers a trusted reverse proxy sets instead of `publicOrigin` (see
   * {@link TrustedProxyHeaders}). Only when every request passes through that proxy: a client
   * reaching the API directly could name any origin. Default: none.
   */
  trustedProxyHeaders?: TrustedProxyHeaders
  /**
   * Algorithms accepted for proofs, named in the `algs` of the DPoP challenge. Default: ES256,
   * ES384, ES512, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512. `none` and HMAC never.
   */
  algorithms?: readonly Algorithm[]
  /**
   * How old a proof's `iat` may be, in seconds, on top of `clockTolerance` (which also bounds
   * an `iat` in the future). Default 60, from 1 to 600. A proof is remembered for replay checks
   * for `maxProofAge + 2 × clockTolerance`.
   */
  maxProofAge?: number
  /**
   * Where proofs are remembered so each is accepted once (RFC 9449 §11.1). Default: an
   * in-memory store (bounded, see `createMemoryReplayStore`) per validator. Several replicas need
   * a shared one, such as `bearer-guard/redis`.
   */
  replayStore?: ReplayStore
  /**
   * Server-provided nonces (RFC 9449 §8, §9): a proof must carry the current nonce, which the
   * API hands out in the `DPoP-Nonce` header (with a `use_dpop_nonce` 401 first). `true`, or
   * `{ secret, lifetime }`: `secret` (at least 32 bytes, shared by every replica; random per
   * process when not given) and `lifetime` in seconds (default 300, from 10 to 86,400; a nonce
   * is accepted for one to two lifetimes). Default off.
   */
  nonce?: boolean | { secret?: string | Uint8Array; lifetime?: number }
}

/** The validated form of {@link DpopOptions}. */
export interface ResolvedDpopOptions {
  readonly required: boolean
  readonly publicOrigin: string | undefined
  readonly trustedProxyHeaders: TrustedProxyHeaders | undefined
  readonly algorithms: ReadonlySet<string>
  readonly maxProofAge: number
  readonly replayStore: ReplayStore
  readonly nonce: NonceSource | undefined
}

/**
 * Options of {@link createValidator}. `issuer`, `audience` and at most one key source
 * (`jwksUri`, `discoveryUrl` or `keys`) are required; without a key source, a single https
 * `issuer` names its own keys through its discovery document. Everything else has a safe default.
 * Unknown keys are refused, so a misspelt option cannot silently weaken a check.
 *
 * @example
 * ```ts
 * const options: ValidatorOptions = {
 *   issuer: 'https://issuer.example/',
 *   audience: 'api://orders',
 *   jwksUri: 'https://issuer.example/.well-known/jwks.json',
 * }
 * ```
 */
export interface ValidatorOptions {
  /** Accepted `iss`: exact string, list of strings, or predicate `(iss, claims) => boolean`. */
  issuer: IssuerOption
  /** Accepted `aud` values; the token must name at least one. */
  audience: string | readonly string[]
  /** URL of the issuer's JWKS. https, or http on a loopback address only. */
  jwksUri?: string
  /**
   * URL of an OpenID Connect discovery document whose `jwks_uri` gives the keys. Its `issuer`
   * must be the configured issuer exactly (one of them, for a list; not compared for a
   * predicate), or the document is not used (RFC 8414 §3.3, OpenID Connect Discovery §4.3).
   * Without any key source, a single `issuer` that is an https URL (or http on a loopback host)
   * is discovered: `{issuer}/.well-known/openid-configuration`, then RFC 8414's
   * `{origin}/.well-known/oauth-authorization-server{path}`, with the same rule. Discovery is
   * made once, with the first key fetch or by `warmUp()`, bounded as a JWKS fetch.
   */
  discoveryUrl?: string
  /** Static public keys, as a JWKS or a list of JWKs. */
  keys?: JSONWebKeySet | readonly JWK[]
  /**
   * Accepted `alg` values. Default: every supported asymmetric algorithm (RS256-512,
   * PS256-512, ES256-512, EdDSA). `none` and HMAC algorithms are always refused.
   */
  algorithms?: readonly Algorithm[]
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. Default 60, at most 300. */
  clockTolerance?: number
  /** When set, tokens whose `iat` is older than this many seconds are refused (`iat` becomes required). */
  maxTokenAge?: number
  /** Claims that must be present, besides `iss`, `aud` and `exp` which always are. */
  requiredClaims?: readonly string[]
  /**
   * Accepted `typ` header values, compared case-insensitively with or without `application/`.
   * Default: `typ` may be absent, and when present must be `JWT` or `at+jwt`. When set, `typ`
   * is required and must be one of these (RFC 9068 §4 asks for `at+jwt`).
   */
  tokenTypes?: readonly string[]
  /** Longest token accepted, in characters. Default 16384. */
  maxTokenLength?: number
  /** Realm named in every `WWW-Authenticate` challenge. Default `api`. */
  realm?: string
  /**
   * A name for this configuration, reported as `AuthInfo.issuerName` of the tokens it accepts:
   * `createMultiIssuerValidator` sets it to the configuration's key. Default none.
   */
  name?: string
  /**
   * The authorize endpoint where a client can get a token that satisfies a claims challenge,
   * sent as `authorization_uri` in every `insufficient_claims` challenge (Microsoft's claims
   * challenge format). `azureAd()` sets `{instance}/{tenant}/oauth2/v2.0/authorize`. Default none.
   */
  authorizationUri?: string
  /** How long fetched keys count as fresh, in ms (as jose). Default 3,600,000 (1 h). */
  cacheMaxAge?: number
  /** Least time between two fetches caused by unknown `kid`s, in ms (as jose). Default 30,000. */
  cooldownDuration?: number
  /** Time limit of one JWKS or discovery fetch, in ms (as jose). Default 5,000. */
  timeoutDuration?: number
  /**
   * How long after the last successful fetch the last known good keys keep serving while
   * refreshes fail, in ms. Default 86,400,000 (24 h). At least `cacheMaxAge`.
   */
  maxStaleAge?: number
  /** Largest JWKS or discovery response read, in bytes. Default 524,288 (512 KiB). */
  maxResponseSize?: number
  /** Receives structured events (keys refreshed, refresh failed, token rejected). Never sees a token. */
  onEvent?: (event: BearerGuardEvent) => void
  /**
   * The fetch function for JWKS and discovery requests. Default: the global `fetch`. Pass one
   * bound to an undici `Agent` to trust a private CA, use a proxy, or add headers; bearer-guard
   * still applies its timeout, size limit and no-redirect rule.
   */
  fetch?: typeof fetch
  /**
   * Lookups the validator needs besides the keys (the Entra ID profile resolves a tenant's domain
   * name to its id this way): `warmUp()` runs it together with the key fetch and rejects, with the
   * cause, when it fails. Tokens that arrive before it has succeeded wait for the rule that needs
   * it, as they would for keys.
   */
  prefetch?: () => Promise<void>
  /**
   * The verified-token cache: a repeated token is answered without verifying it again, until
   * its `exp`, as long as its signing key stays in the JWKS. `false` turns it off.
   * Default `{ maxEntries: 1000 }` (least recently used tokens go first).
   */
  tokenCache?: false | { maxEntries?: number }
  /**
   * Calling applications allowed (`azp`, `appid`, `client_id` or `cid`). Default: any. A token
   * from another application is a 401 with reason `wrong_client`.
   */
  allowedClients?: readonly string[]
  /**
   * When true, a token that carries neither a scope (`scp`/`scope`) nor `roles` is rejected
   * (reason `no_permissions`): without it any application that can get a token for this API
   * could call it. Default false; the Entra ID profile sets it true.
   */
  requirePermissions?: boolean
  /**
   * When a key of the JWKS carries an `issuer` member (Entra ID's do), this predicate must
   * accept it for the token at hand, or the token is rejected (reason `wrong_issuer`).
   */
  signingKeyIssuer?: (keyIssuer: string, claims: TokenClaims) => boolean
  /**
   * A custom rule over the claims, run after the standard ones and before the signature check.
   * Return a {@link ClaimsProblem} to reject the token with a 401 `invalid_token`.
   */
  validateClaims?: (claims: TokenClaims, header: TokenHeader) => ClaimsProblem | undefined
  /**
   * Gives a more helpful `error_description` for a rejected token (the Entra ID profile explains
   * its usual mistakes this way). Return `undefined` to keep the standard one.
   */
  describeRejection?: (reason: RejectionReason, claims: TokenClaims) => string | undefined
  /**
   * Accept DPoP-bound tokens (RFC 9449): `Authorization: DPoP <token>` with a `DPoP` proof
   * header, checked on every request (the verified-token cache never skips a proof). See
   * {@link DpopOptions}. Default off: a DPoP-scheme request counts as one without Bearer
   * credentials, and any token with a `cnf` claim is refused.
   */
  dpop?: false | DpopOptions
  /**
   * Accept certificate-bound tokens (RFC 8705 §3): a token whose `cnf["x5t#S256"]` names a
   * client certificate passes only when the request was made with that certificate, presented
   * with the `Bearer` scheme or with Entra ID's `MTLS_POP` scheme. `true` reads the certificate
   * of the TLS connection (a `node:https` server with `requestCert`); `{ certificateHeader }`
   * reads it instead from the header a TLS-terminating proxy sets (RFC 9440 `Client-Cert`
   * `:base64 DER:`, a URL-encoded PEM, or base64 DER): only when every request passes through
   * that proxy, which must overwrite the header. Default off: any token with `cnf` is refused.
   */
  certificateBinding?: boolean | { certificateHeader: string }
  /**
   * Publish OAuth 2.0 Protected Resource Metadata (RFC 9728) for this API, served by each
   * adapter's `protectedResourceMetadata`, and name its URL in every challenge as
   * `resource_metadata` (§5.1). See {@link ResourceMetadataOptions}. Default none.
   */
  resourceMetadata?: ResourceMetadataOptions
}

/** The validated, normalised, frozen form of {@link ValidatorOptions}. */
export interface ResolvedOptions {
  /** Accepted issuers, when `issuer` was a string or a list. */
  readonly issuers: ReadonlySet<string> | undefined
  /** The issuer predicate, when `issuer` was a function. */
  readonly issuerPredicate:
    | ((issuer: string, claims: TokenClaims) => boolean | Promise<boolean>)
    | undefined
  /** How a wrong-issuer description names what was expected. */
  readonly issuerDescription: string
  /** Accepted audiences. */
  readonly audiences: ReadonlySet<string>
  /** Where keys come from. */
  readonly keySource:
    | { readonly kind: 'jwks'; readonly url: URL }
    | { readonly kind: 'discovery'; readonly url: URL; readonly fallback?: URL | undefined }
    | { readonly kind: 'static'; readonly jwks: { keys: JWK[] } }
  /** Accepted `alg` values. */
  readonly algorithms: ReadonlySet<string>
  /** Seconds of leeway for the time claims. */
  readonly clockTolerance: number
  /** Seconds, when token age is limited. */
  readonly maxTokenAge: number | undefined
  /** Claims that must be present. */
  readonly requiredClaims: readonly string[]
  /** Accepted `typ` values, normalised (lower case, no `application/`). */
  readonly tokenTypes: ReadonlySet<string>
  /** Whether `typ` must be present (`tokenTypes` was set). */
  readonly typRequired: boolean
  /** Longest token accepted, in characters. */
  readonly maxTokenLength: number
  /** The realm of every challenge. */
  readonly realm: string
  /** The configuration's name, reported as `AuthInfo.issuerName`, if any. */
  readonly name: string | undefined
  /** The `authorization_uri` of `insufficient_claims` challenges, if any. */
  readonly authorizationUri: string | undefined
  /** Milliseconds keys count as fresh. */
  readonly cacheMaxAge: number
  /** Milliseconds between two unknown-`kid` fetches. */
  readonly cooldownDuration: number
  /** Milliseconds a fetch may take. */
  readonly timeoutDuration: number
  /** Milliseconds last known good keys keep serving through failures. */
  readonly maxStaleAge: number
  /** Largest response read, in bytes. */
  readonly maxResponseSize: number
  /** The event listener, if any. */
  readonly onEvent: ((event: BearerGuardEvent) => void) | undefined
  /** The fetch function for keys and discovery, if not the global one. */
  readonly fetch: typeof fetch | undefined
  /** Lookups besides the keys that `warmUp()` performs, if any. */
  readonly prefetch: (() => Promise<void>) | undefined
  /** Size of the verified-token cache; 0 when it is off. */
  readonly tokenCacheEntries: number
  /** Allowed calling applications, if limited. */
  readonly allowedClients: ReadonlySet<string> | undefined
  /** Whether a token must carry scopes or roles. */
  readonly requirePermissions: boolean
  /** The signing-key issuer predicate, if any. */
  readonly signingKeyIssuer: ((keyIssuer: string, claims: TokenClaims) => boolean) | undefined
  /** The custom claim rule, if any. */
  readonly validateClaims:
    | ((claims: TokenClaims, header: TokenHeader) => ClaimsProblem | undefined)
    | undefined
  /** The rejection describer, if any. */
  readonly describeRejection:
    | ((reason: RejectionReason, claims: TokenClaims) => string | undefined)
    | undefined
  /** DPoP settings, when DPoP is on. */
  readonly dpop: ResolvedDpopOptions | undefined
  /** Certificate binding, when on: the proxy's header (lower case), or `undefined` for the TLS socket. */
  readonly certificateBinding: { readonly header: string | undefined } | undefined
  /** The RFC 9728 metadata document and where it is served, when configured. */
  readonly resourceMetadata: ResolvedResourceMetadata | undefined
}

const OPTION_NAMES: ReadonlySet<string> = new Set<keyof ValidatorOptions>([
  'issuer',
  'audience',
  'jwksUri',
  'discoveryUrl',
  'keys',
  'algorithms',
  'clockTolerance',
  'maxTokenAge',
  'requiredClaims',
  'tokenTypes',
  'maxTokenLength',
  'realm',
  'name',
  'authorizationUri',
  'cacheMaxAge',
  'cooldownDuration',
  'timeoutDuration',
  'maxStaleAge',
  'maxResponseSize',
  'onEvent',
  'fetch',
  'prefetch',
  'tokenCache',
  'allowedClients',
  'requirePermissions',
  'signingKeyIssuer',
  'validateClaims',
  'describeRejection',
  'dpop',
  'certificateBinding',
  'resourceMetadata',
])

const DPOP_OPTION_NAMES: ReadonlySet<string> = new Set<keyof DpopOptions>([
  'required',
  'publicOrigin',
  'trustedProxyHeaders',
  'algorithms',
  'maxProofAge',
  'replayStore',
  'nonce',
])

/** Default proof algorithms: elliptic curves first, as in the `algs` of the challenge. */
const DEFAULT_PROOF_ALGORITHMS: readonly Algorithm[] = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
]

const DEFAULT_TOKEN_TYPES = ['jwt', 'at+jwt']
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

function fail(message: string): never {
  throw new TypeError(message)
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0
}

function stringList(name: string, value: unknown, allowEmpty = false): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || (!allowEmpty && list.length === 0) || !list.every(isNonEmptyString)) {
    fail(`"${name}" option must be a non-empty string or an array of them`)
  }
  return [...list]
}

function number(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  unit: string,
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail(`"${name}" option must be a number of ${unit} from ${min} to ${max}`)
  }
  return value
}

function parseUrl(name: string, value: unknown): URL {
  if (!isNonEmptyString(value)) fail(`"${name}" option must be a URL string`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(`"${name}" option must be an absolute URL`)
  }
  if (url.username !== '' || url.password !== '')
    fail(`"${name}" option must not carry credentials`)
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return url
  fail(`"${name}" option must be an https URL (plain http is allowed only on a loopback host)`)
}

/**
 * Refuses URLs that a JWKS or discovery document may not lead to: like the configured ones,
 * they must be https, or http on a loopback host.
 */
export function checkKeyUrl(name: string, value: unknown): URL {
  return parseUrl(name, value)
}

function resolveIssuer(
  value: unknown,
): Pick<ResolvedOptions, 'issuers' | 'issuerPredicate' | 'issuerDescription'> {
  if (typeof value === 'function') {
    return {
      issuers: undefined,
      issuerPredicate: value as (issuer: string, claims: TokenClaims) => boolean | Promise<boolean>,
      issuerDescription: 'the accepted issuers',
    }
  }
  if (value === undefined) fail('"issuer" option is required')
  const list = stringList('issuer', value)
  return {
    issuers: new Set(list),
    issuerPredicate: undefined,
    issuerDescription: list.length === 1 ? 'the expected issuer' : 'any accepted issuer',
  }
}

function resolveKeys(value: unknown): { keys: JWK[] } {
  const keys = Array.isArray(value)
    ? value
    : typeof value === 'object' && value !== null && Array.isArray((value as JSONWebKeySet).keys)
      ? (value as JSONWebKeySet).keys
      : undefined
  if (keys === undefined || keys.length === 0) {
    fail('"keys" option must be a JSON Web Key Set or a non-empty array of JWKs')
  }
  for (const key of keys) {
    if (typeof key !== 'object' || key === null || typeof (key as JWK).kty !== 'string') {
      fail('"keys" option must contain JWK objects with a "kty"')
    }
    if ((key as JWK).kty === 'oct') fail('"keys" option must not contain symmetric ("oct") keys')
    if ('d' in key) fail('"keys" option must contain public keys only (a JWK with "d" is private)')
  }
  return { keys: keys.map((key) => ({ ...(key as JWK) })) }
}

function resolveKeySource(options: ValidatorOptions): ResolvedOptions['keySource'] {
  const given = (['jwksUri', 'discoveryUrl', 'keys'] as const).filter(
    (name) => options[name] !== undefined,
  )
  if (given.length === 0) return discoveryFromIssuer(options.issuer)
  if (given.length !== 1) {
    fail(`only one key source may be set, got ${given.map((name) => `"${name}"`).join(' and ')}`)
  }
  if (options.jwksUri !== undefined)
    return { kind: 'jwks', url: parseUrl('jwksUri', options.jwksUri) }
  if (options.discoveryUrl !== undefined) {
    return { kind: 'discovery', url: parseUrl('discoveryUrl', options.discoveryUrl) }
  }
  return { kind: 'static', jwks: resolveKeys(options.keys) }
}

/**
 * Without a key source, one issuer that is an https URL (or http on a loopback host) names its
 * own: its discovery document, then its RFC 8414 metadata (see discovery.ts).
 */
function discoveryFromIssuer(issuer: unknown): ResolvedOptions['keySource'] {
  const single = Array.isArray(issuer) && issuer.length === 1 ? issuer[0] : issuer
  let url: URL | undefined
  try {
    url = typeof single === 'string' ? parseUrl('issuer', single) : undefined
  } catch {
    url = undefined
  }
  if (url === undefined || url.search !== '' || url.hash !== '') {
    fail(
      'a key source is required: set one of "jwksUri", "discoveryUrl" or "keys" (or a single https "issuer", whose discovery document names its keys)',
    )
  }
  return { kind: 'discovery', ...discoveryLocationOf(url) }
}

function resolveAlgorithms(value: unknown, name = 'algorithms'): Set<string> {
  if (value === undefined) return new Set(SUPPORTED_ALGORITHMS)
  const list = stringList(name, value)
  for (const alg of list) {
    if (alg.toLowerCase() === 'none' || /^HS/i.test(alg)) {
      fail(`"${name}" option must not contain "${alg}": only asymmetric algorithms are accepted`)
    }
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      fail(
        `"${name}" option contains unsupported "${alg}"; supported: ${SUPPORTED_ALGORITHMS.join(', ')}`,
      )
    }
  }
  return new Set(list)
}

function resolveNonce(value: unknown): NonceSource | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return createNonceSource(undefined, 300)
  if (
    typeof value !== 'object' ||
    value === null ||
    Object.keys(value).some((key) => key !== 'secret' && key !== 'lifetime')
  ) {
    fail('"dpop.nonce" option must be a boolean or { secret, lifetime }')
  }
  const { secret, lifetime } = value as { secret?: unknown; lifetime?: unknown }
  let key: Uint8Array | undefined
  if (secret !== undefined) {
    key =
      typeof secret === 'string'
        ? new TextEncoder().encode(secret)
        : secret instanceof Uint8Array
          ? Uint8Array.from(secret)
          : undefined
    if (key === undefined || key.length < 32) {
      fail('"dpop.nonce.secret" option must be a string or Uint8Array of at least 32 bytes')
    }
  }
  return createNonceSource(key, number('dpop.nonce.lifetime', lifetime, 300, 10, 86_400, 'seconds'))
}

/**
 * DPoP proofs and certificate binding hash on every request, synchronously: on the WebCrypto
 * build (workerd, edge-light; crypto-web.ts), which cannot, they are refused here, at creation.
 */
function requireBindings(name: string): void {
  if (!CRYPTO_BACKEND.bindings) {
    fail(
      `"${name}" option is not available with the ${CRYPTO_BACKEND.name} build of bearer-guard (workerd without nodejs_compat, edge-light, browsers): it needs node:crypto`,
    )
  }
}

function resolveDpop(value: unknown): ResolvedDpopOptions | undefined {
  if (value === undefined || value === false) return undefined
  requireBindings('dpop')
  if (typeof value !== 'object' || value === null) fail('"dpop" option must be false or an object')
  for (const name of Object.keys(value)) {
    if (!DPOP_OPTION_NAMES.has(name)) fail(`unknown option "dpop.${name}"`)
  }
  const dpop = value as DpopOptions
  if (dpop.required !== undefined && typeof dpop.required !== 'boolean') {
    fail('"dpop.required" option must be a boolean')
  }
  const origin = dpop.publicOrigin === undefined ? undefined : normalizeOrigin(dpop.publicOrigin)
  if (dpop.publicOrigin !== undefined && origin === undefined) {
    fail(
      '"dpop.publicOrigin" option must be an http or https origin, such as "https://api.example.com"',
    )
  }
  const proxy = dpop.trustedProxyHeaders
  if (proxy !== undefined && proxy !== 'x-forwarded' && proxy !== 'forwarded') {
    fail('"dpop.trustedProxyHeaders" option must be "x-forwarded" or "forwarded"')
  }
  if ((origin === undefined) === (proxy === undefined)) {
    fail('"dpop" needs exactly one of "publicOrigin" or "trustedProxyHeaders" to build the htu')
  }
  const store = dpop.replayStore
  if (store !== undefined && (typeof store !== 'object' || typeof store?.add !== 'function')) {
    fail('"dpop.replayStore" option must have an add(id, ttlSeconds) method')
  }
  return Object.freeze({
    required: dpop.required ?? false,
    publicOrigin: origin,
    trustedProxyHeaders: proxy,
    algorithms: new Set(
      dpop.algorithms === undefined
        ? DEFAULT_PROOF_ALGORITHMS
        : resolveAlgorithms(dpop.algorithms, 'dpop.algorithms'),
    ),
    maxProofAge: number('dpop.maxProofAge', dpop.maxProofAge, 60, 1, 600, 'seconds'),
    replayStore: store ?? createMemoryReplayStore(),
    nonce: resolveNonce(dpop.nonce),
  })
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

function resolveCertificateBinding(value: unknown): ResolvedOptions['certificateBinding'] {
  if (value === undefined || value === false) return undefined
  requireBindings('certificateBinding')
  if (value === true) return Object.freeze({ header: undefined })
  const header = (value as { certificateHeader?: unknown } | null)?.certificateHeader
  if (
    typeof value !== 'object' ||
    Object.keys(value as object).some((key) => key !== 'certificateHeader') ||
    typeof header !== 'string' ||
    !HEADER_NAME.test(header)
  ) {
    fail('"certificateBinding" option must be a boolean or { certificateHeader: "header-name" }')
  }
  return Object.freeze({ header: header.toLowerCase() })
}

function resolveTokenCache(value: unknown): number {
  if (value === false) return 0
  if (value === undefined) return DEFAULT_TOKEN_CACHE_ENTRIES
  if (
    typeof value !== 'object' ||
    value === null ||
    Object.keys(value).some((key) => key !== 'maxEntries')
  ) {
    fail('"tokenCache" option must be false or { maxEntries }')
  }
  const { maxEntries } = value as { maxEntries?: unknown }
  if (maxEntries === undefined) return DEFAULT_TOKEN_CACHE_ENTRIES
  if (
    typeof maxEntries !== 'number' ||
    !Number.isInteger(maxEntries) ||
    maxEntries < 0 ||
    maxEntries > 10_000_000
  ) {
    fail('"tokenCache" option\'s "maxEntries" must be a whole number from 0 to 10000000')
  }
  return maxEntries
}

/** Lower-cases a `typ` value and drops an `application/` prefix (RFC 7515 §4.1.9). */
export function normalizeTokenType(typ: string): string {
  const lower = typ.toLowerCase()
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower
}

/** The option names `createValidator` takes. */
export const VALIDATOR_OPTION_NAMES: ReadonlySet<string> = OPTION_NAMES

/**
 * The option name `name` was probably meant to be, among `candidates`: one that differs only in
 * case, else the first that starts alike; `undefined` when none does.
 *
 * @example
 * ```ts
 * closestOptionName('audiance') // 'audience'
 * closestOptionName('clientID', ['tenant', 'clientId']) // 'clientId'
 * ```
 */
export function closestOptionName(
  name: string,
  candidates: Iterable<string> = OPTION_NAMES,
): string | undefined {
  const lower = name.toLowerCase()
  let close: string | undefined
  for (const candidate of candidates) {
    const c = candidate.toLowerCase()
    // A name that differs only in case wins over one that merely starts alike.
    if (c === lower) return candidate
    if (
      close === undefined &&
      (c.startsWith(lower.slice(0, 4)) || lower.startsWith(c.slice(0, 4)))
    ) {
      close = candidate
    }
  }
  return close
}

/**
 * Validates validator options, applies the defaults and freezes the result. Runs once, when a
 * validator is created, never per request. Bad input throws a `TypeError` naming the option.
 *
 * @example
 * ```ts
 * resolveOptions({ issuer: 'https://issuer.example/', audience: 'api', jwksUri: 'https://issuer.example/keys' })
 * resolveOptions({ issuer: 'x', audiance: 'api' }) // TypeError: unknown option "audiance" (did you mean "audience"?)
 * ```
 */
export function resolveOptions(options: ValidatorOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options must be an object')
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) {
      const hint = closestOptionName(name)
      fail(`unknown option "${name}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`)
    }
  }
  if (options.audience === undefined) fail('"audience" option is required')
  const audiences = new Set(stringList('audience', options.audience))
  const realm = options.realm ?? DEFAULT_REALM
  if (typeof realm !== 'string' || realm === '' || !PRINTABLE_ASCII.test(realm)) {
    fail('"realm" option must be a non-empty string of printable ASCII characters')
  }
  const name = options.name
  if (
    name !== undefined &&
    (typeof name !== 'string' || !/^[\x21-\x7e][\x20-\x7e]{0,99}$/.test(name))
  ) {
    fail('"name" option must be a string of 1 to 100 printable ASCII characters')
  }
  const cacheMaxAge = number(
    'cacheMaxAge',
    options.cacheMaxAge,
    3_600_000,
    1_000,
    604_800_000,
    'milliseconds',
  )
  const tokenTypes =
    options.tokenTypes === undefined
      ? DEFAULT_TOKEN_TYPES
      : stringList('tokenTypes', options.tokenTypes).map(normalizeTokenType)
  const requiredClaims =
    options.requiredClaims === undefined
      ? []
      : stringList('requiredClaims', options.requiredClaims, true)
  for (const name of [
    'onEvent',
    'fetch',
    'prefetch',
    'signingKeyIssuer',
    'validateClaims',
    'describeRejection',
  ] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      fail(`"${name}" option must be a function`)
    }
  }
  if (options.requirePermissions !== undefined && typeof options.requirePermissions !== 'boolean') {
    fail('"requirePermissions" option must be a boolean')
  }
  const resolved: Omit<ResolvedOptions, 'resourceMetadata'> = {
    ...resolveIssuer(options.issuer),
    audiences,
    keySource: resolveKeySource(options),
    algorithms: resolveAlgorithms(options.algorithms),
    clockTolerance: number('clockTolerance', options.clockTolerance, 60, 0, 300, 'seconds'),
    maxTokenAge:
      options.maxTokenAge === undefined
        ? undefined
        : number('maxTokenAge', options.maxTokenAge, 0, 1, 31_536_000, 'seconds'),
    requiredClaims,
    tokenTypes: new Set(tokenTypes),
    typRequired: options.tokenTypes !== undefined,
    maxTokenLength: number(
      'maxTokenLength',
      options.maxTokenLength,
      16_384,
      64,
      1_048_576,
      'characters',
    ),
    realm,
    name,
    authorizationUri:
      options.authorizationUri === undefined
        ? undefined
        : parseUrl('authorizationUri', options.authorizationUri).href,
    cacheMaxAge,
    cooldownDuration: number(
      'cooldownDuration',
      options.cooldownDuration,
      30_000,
      0,
      86_400_000,
      'milliseconds',
    ),
    timeoutDuration: number(
      'timeoutDuration',
      options.timeoutDuration,
      5_000,
      1,
      120_000,
      'milliseconds',
    ),
    maxStaleAge: number(
      'maxStaleAge',
      options.maxStaleAge,
      Math.max(86_400_000, cacheMaxAge),
      cacheMaxAge,
      2_592_000_000,
      'milliseconds',
    ),
    maxResponseSize: number(
      'maxResponseSize',
      options.maxResponseSize,
      524_288,
      1_024,
      16_777_216,
      'bytes',
    ),
    onEvent: options.onEvent,
    fetch: options.fetch,
    prefetch: options.prefetch,
    tokenCacheEntries: resolveTokenCache(options.tokenCache),
    allowedClients:
      options.allowedClients === undefined
        ? undefined
        : new Set(stringList('allowedClients', options.allowedClients)),
    requirePermissions: options.requirePermissions ?? false,
    signingKeyIssuer: options.signingKeyIssuer,
    validateClaims: options.validateClaims,
    describeRejection: options.describeRejection,
    dpop: resolveDpop(options.dpop),
    certificateBinding: resolveCertificateBinding(options.certificateBinding),
  }
  return Object.freeze({
    ...resolved,
    resourceMetadata: resolveResourceMetadata(options.resourceMetadata, resolved),
  })
}

/**
 * Checks the scope or role names given to a guard, once, when the guard is created: each must
 * be a non-empty NQCHAR token (RFC 6749 §3.3), so that it can be named in a challenge.
 */
export function checkGuardNames(what: string, names: readonly unknown[]): string[] {
  if (names.length === 0) fail(`${what} needs at least one name`)
  for (const name of names) {
    if (typeof name !== 'string' || !isScopeToken(name)) {
      fail(`${what} names must be non-empty strings without spaces, quotes or backslashes`)
    }
  }
  return names as string[]
}
