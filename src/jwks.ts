/**
 * The key source: where signing keys come from, and how they are cached.
 *
 * jose's `createRemoteJWKSet` has no last-known-good keys through an outage and no background
 * refresh, so this file owns fetching and caching. Keys come only from the configured JWKS, the
 * configured discovery document's `jwks_uri`, or static keys: never from a token's `jwk`, `jku`,
 * `x5u` or `x5c` header (RFC 8725 §3.10).
 *
 * Behaviour of a remote source:
 * - single flight: however many requests need keys at once, one fetch runs;
 * - an unknown `kid` causes at most one fetch per `cooldownDuration`;
 * - keys older than about 80-90 % of `cacheMaxAge` (jittered) are refreshed in the background
 *   by the next request, which does not wait;
 * - when refreshes fail, the last known good keys keep serving for `maxStaleAge` after their
 *   fetch; past that, or before any fetch succeeded, requests get a 503;
 * - every fetch is bounded by `timeoutDuration` and `maxResponseSize`, refuses redirects, and a
 *   bad response (not JSON, not a JWKS, no usable key) never replaces good keys.
 */
import { type CryptoKey, importJWK, type JWK } from 'jose'
import { InvalidTokenError, KeysUnavailableError } from './errors.js'
import { emitEvent } from './events.js'
import { checkKeyUrl, type ResolvedOptions } from './options.js'

/** A verification key as the validator uses it. */
export interface VerificationKey {
  /** The JWK as published. */
  readonly jwk: Readonly<JWK> & { readonly issuer?: unknown }
  /** The imported key for `alg`. */
  readonly key: CryptoKey
}

/** The header fields key selection looks at. */
export interface KeySelector {
  readonly alg: string
  readonly kid?: string | undefined
}

/** Where the validator gets keys. */
export interface KeySource {
  /** The key that should have signed a token with this header; throws 401 or 503 errors. */
  getKey(selector: KeySelector): Promise<VerificationKey>
  /** Loads the keys now; rejects with a {@link KeysUnavailableError} when they cannot be had. */
  warmUp(): Promise<void>
}

type Trigger = 'initial' | 'unknown_kid' | 'background' | 'expired'

interface KeyEntry {
  readonly jwk: JWK
  readonly imported: Map<string, Promise<CryptoKey>>
}

interface KeySet {
  readonly byKid: ReadonlyMap<string, readonly KeyEntry[]>
  readonly all: readonly KeyEntry[]
  readonly fetchedAt: number
}

const KTY_OF_ALG: Readonly<Record<string, string>> = {
  RS: 'RSA',
  PS: 'RSA',
  ES: 'EC',
  Ed: 'OKP',
}
const CURVE_OF_ALG: Readonly<Record<string, string>> = {
  ES256: 'P-256',
  ES384: 'P-384',
  ES512: 'P-521',
}
const USABLE_KTY = new Set(['RSA', 'EC', 'OKP'])

/** Whether a JWK may verify a signature made with `alg` (RFC 7517 §4, RFC 7518 §3). */
export function keyFitsAlgorithm(jwk: JWK, alg: string): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false
  if (jwk.use !== undefined && jwk.use !== 'sig') return false
  if (
    jwk.key_ops !== undefined &&
    (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes('verify'))
  ) {
    return false
  }
  if (jwk.kty !== KTY_OF_ALG[alg.slice(0, 2)]) return false
  if (alg === 'EdDSA') return jwk.crv === 'Ed25519' || jwk.crv === 'Ed448'
  const curve = CURVE_OF_ALG[alg]
  return curve === undefined || jwk.crv === curve
}

function isUsableJwk(value: unknown): value is JWK {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const jwk = value as Record<string, unknown>
  // Symmetric and private keys never verify anything here, whatever a JWKS says.
  if (typeof jwk.kty !== 'string' || !USABLE_KTY.has(jwk.kty) || 'd' in jwk) return false
  return jwk.kid === undefined || (typeof jwk.kid === 'string' && jwk.kid.length <= 1024)
}

function buildKeySet(document: unknown, fetchedAt: number): KeySet {
  if (
    typeof document !== 'object' ||
    document === null ||
    !Array.isArray((document as { keys?: unknown }).keys)
  ) {
    throw new Error('the response is not a JSON Web Key Set (no "keys" array)')
  }
  const all: KeyEntry[] = []
  const byKid = new Map<string, KeyEntry[]>()
  for (const value of (document as { keys: unknown[] }).keys) {
    if (!isUsableJwk(value)) continue
    const entry: KeyEntry = { jwk: Object.freeze({ ...value }), imported: new Map() }
    all.push(entry)
    if (value.kid !== undefined) {
      const list = byKid.get(value.kid)
      if (list === undefined) byKid.set(value.kid, [entry])
      else list.push(entry)
    }
  }
  if (all.length === 0) throw new Error('the JSON Web Key Set holds no usable public signing key')
  return { byKid, all, fetchedAt }
}

async function readLimited(response: Response, limit: number): Promise<string> {
  const declared = response.headers.get('content-length')
  if (declared !== null && Number(declared) > limit) {
    await response.body?.cancel()
    throw new Error(`the response is larger than ${limit} bytes`)
  }
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      throw new Error(`the response is larger than ${limit} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}

/** Fetches a JSON document with a time and size limit, refusing redirects. */
export async function fetchJson(url: URL, timeout: number, maxSize: number): Promise<unknown> {
  const signal = AbortSignal.timeout(timeout)
  let response: Response
  try {
    response = await fetch(url, {
      signal,
      redirect: 'error',
      headers: { accept: 'application/json' },
    })
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new Error(`${url.origin}${url.pathname} answered HTTP ${response.status}`)
    }
    const text = await readLimited(response, maxSize)
    try {
      return JSON.parse(text)
    } catch {
      throw new Error(`${url.origin}${url.pathname} did not answer with JSON`)
    }
  } catch (error) {
    if (signal.aborted) {
      throw new Error(`${url.origin}${url.pathname} did not answer within ${timeout} ms`, {
        cause: error,
      })
    }
    throw error
  }
}

function unknownKey(realm: string, description: string): InvalidTokenError {
  return new InvalidTokenError(description, { reason: 'unknown_key', realm })
}

function selectKey(keys: KeySet, selector: KeySelector, realm: string): KeyEntry | undefined {
  const candidates = selector.kid === undefined ? keys.all : keys.byKid.get(selector.kid)
  if (candidates === undefined) return undefined
  let found: KeyEntry | undefined
  for (const entry of candidates) {
    if (!keyFitsAlgorithm(entry.jwk, selector.alg)) continue
    if (found !== undefined) {
      throw unknownKey(
        realm,
        selector.kid === undefined
          ? 'the token has no kid and several keys could have signed it'
          : 'several keys share the kid of the token',
      )
    }
    found = entry
  }
  return found
}

async function importKey(entry: KeyEntry, alg: string, realm: string): Promise<VerificationKey> {
  let pending = entry.imported.get(alg)
  if (pending === undefined) {
    pending = importJWK(entry.jwk, alg) as Promise<CryptoKey>
    entry.imported.set(alg, pending)
  }
  try {
    return { jwk: entry.jwk, key: await pending }
  } catch (cause) {
    throw new InvalidTokenError('the signing key of the token cannot be used', {
      reason: 'unknown_key',
      realm,
      cause,
    })
  }
}

/**
 * A key source over fixed public keys (the `keys` option).
 *
 * @example
 * ```ts
 * const source = createStaticKeySource(resolveOptions({ issuer, audience, keys: jwks }))
 * ```
 */
export function createStaticKeySource(options: ResolvedOptions, jwks: { keys: JWK[] }): KeySource {
  const keys = buildKeySet(jwks, 0)
  return {
    async getKey(selector) {
      const entry = selectKey(keys, selector, options.realm)
      if (entry === undefined)
        throw unknownKey(options.realm, 'no configured key matches the kid and alg of the token')
      return importKey(entry, selector.alg, options.realm)
    },
    async warmUp() {},
  }
}

/**
 * A key source that fetches a JWKS (directly, or through OIDC discovery) and caches it as the
 * file header describes. One per validator; every request of every route shares it.
 *
 * @example
 * ```ts
 * const source = createRemoteKeySource(resolveOptions({ issuer, audience, jwksUri }))
 * await source.warmUp()
 * ```
 */
export function createRemoteKeySource(
  options: ResolvedOptions,
  location: { kind: 'jwks' | 'discovery'; url: URL },
): KeySource {
  const { realm, cooldownDuration, cacheMaxAge, maxStaleAge, timeoutDuration, maxResponseSize } =
    options
  let keys: KeySet | undefined
  let jwksUrl: URL | undefined = location.kind === 'jwks' ? location.url : undefined
  let inflight: Promise<KeySet> | undefined
  let lastAttemptAt = Number.NEGATIVE_INFINITY
  let nextBackgroundAt = Number.POSITIVE_INFINITY
  const retryAfter = Math.max(1, Math.ceil(timeoutDuration / 1000))

  async function resolveJwksUrl(): Promise<URL> {
    if (jwksUrl !== undefined) return jwksUrl
    const document = await fetchJson(location.url, timeoutDuration, maxResponseSize)
    const uri = (document as { jwks_uri?: unknown } | null)?.jwks_uri
    if (typeof uri !== 'string') throw new Error('the discovery document has no "jwks_uri"')
    try {
      jwksUrl = checkKeyUrl('jwks_uri', uri)
    } catch (error) {
      throw new Error(`the discovery document's jwks_uri is refused: ${(error as Error).message}`)
    }
    return jwksUrl
  }

  async function load(trigger: Trigger): Promise<KeySet> {
    lastAttemptAt = Date.now()
    try {
      const url = await resolveJwksUrl()
      const next = buildKeySet(await fetchJson(url, timeoutDuration, maxResponseSize), Date.now())
      const before = keys
      keys = next
      nextBackgroundAt = next.fetchedAt + cacheMaxAge * (0.8 + Math.random() * 0.1)
      const keyIds = [...next.byKid.keys()]
      const previous = before === undefined ? [] : [...before.byKid.keys()]
      emitEvent(options.onEvent, {
        type: 'keys_refreshed',
        keyIds,
        added: keyIds.filter((kid) => !before?.byKid.has(kid)),
        removed: previous.filter((kid) => !next.byKid.has(kid)),
        trigger,
      })
      return next
    } catch (error) {
      const usable = keys !== undefined && Date.now() - keys.fetchedAt <= maxStaleAge
      // Retry a failed background refresh after a pause, not on every request.
      nextBackgroundAt = Date.now() + Math.max(cooldownDuration, 1_000)
      emitEvent(options.onEvent, {
        type: 'keys_refresh_failed',
        message: error instanceof Error ? error.message : 'the key fetch failed',
        servingStaleKeys: usable,
        trigger,
      })
      throw error
    }
  }

  function refresh(trigger: Trigger): Promise<KeySet> {
    if (inflight === undefined) {
      inflight = load(trigger).finally(() => {
        inflight = undefined
      })
    }
    return inflight
  }

  async function usableKeys(now: number): Promise<KeySet> {
    const current = keys
    if (current !== undefined && now - current.fetchedAt <= maxStaleAge) {
      if (now >= nextBackgroundAt && inflight === undefined) {
        refresh('background').catch(() => {
          // Reported through onEvent; the current keys keep serving.
        })
      }
      return current
    }
    try {
      return await refresh(current === undefined ? 'initial' : 'expired')
    } catch (cause) {
      throw new KeysUnavailableError(retryAfter, { reason: 'keys_unavailable', realm, cause })
    }
  }

  return {
    async getKey(selector) {
      const now = Date.now()
      const current = await usableKeys(now)
      let entry = selectKey(current, selector, realm)
      if (entry === undefined) {
        // A key rotated in since the last fetch: fetch again, at most once per cooldown.
        if (inflight === undefined && now - lastAttemptAt < cooldownDuration) {
          throw unknownKey(realm, 'no key of the issuer matches the kid and alg of the token')
        }
        let fresh: KeySet
        try {
          fresh = await refresh('unknown_kid')
        } catch (cause) {
          throw new KeysUnavailableError(retryAfter, { reason: 'keys_unavailable', realm, cause })
        }
        entry = selectKey(fresh, selector, realm)
        if (entry === undefined) {
          throw unknownKey(realm, 'no key of the issuer matches the kid and alg of the token')
        }
      }
      return importKey(entry, selector.alg, realm)
    },
    async warmUp() {
      await usableKeys(Date.now())
    },
  }
}
