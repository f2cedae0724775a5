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
import { createVerifier, decodeUtf8, importPublicKey, type PublicKey } from '#crypto'
import { hasKeyFetchSubscribers, type KeyFetchMessage, traceKeyFetch } from './diagnostics.js'
import { discoverJwksUri } from './discovery.js'
import { InvalidTokenError, KeysUnavailableError } from './errors.js'
import { emitEvent } from './events.js'
import { checkKeyUrl, type JWK, type ResolvedOptions } from './options.js'
import type { SignatureVerifier } from './verify.js'

/** A response refused for its content or status: its message says why, as it is. */
class FetchRefusal extends Error {}

/** A key of the key set, as the validator uses it. */
export interface KeyEntry {
  /** The JWK as published. */
  readonly jwk: Readonly<JWK> & { readonly issuer?: unknown }
  /** The imported public key; undefined when the JWK could not be imported. */
  readonly key: PublicKey | undefined
  /** True once a refresh no longer lists this key: tokens it signed are no longer accepted. */
  retired: boolean
  /** Epoch ms after which the key may not serve unless a refresh lists it again (`maxStaleAge`). */
  usableUntil: number
  /** Verifiers made so far, one per algorithm (null: the key does not fit that algorithm). */
  readonly verifiers: Map<string, SignatureVerifier | null>
}

/** A key chosen for a token, with the verifier for the token's algorithm. */
export interface VerificationKey {
  readonly entry: KeyEntry
  readonly verifier: SignatureVerifier
}

/** The header fields key selection looks at. */
export interface KeySelector {
  readonly alg: string
  readonly kid?: string | undefined
}

/** Where the validator gets keys. */
export interface KeySource {
  /**
   * The key for this header when it can be had at once (keys loaded and usable, `kid` known),
   * else `undefined`: then {@link KeySource.getKey} decides. Throws 401 errors for keys that
   * exist but cannot verify the token.
   */
  peek(selector: KeySelector): VerificationKey | undefined
  /** The key that should have signed a token with this header; throws 401 or 503 errors. */
  getKey(selector: KeySelector): Promise<VerificationKey>
  /** Loads the keys now; rejects with a {@link KeysUnavailableError} when they cannot be had. */
  warmUp(): Promise<void>
}

type Trigger = 'initial' | 'unknown_kid' | 'background' | 'expired'

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
  // RFC 7517 §4.3: an array of unique strings; jose refuses any other key_ops as well.
  const ops: unknown = jwk.key_ops
  if (
    ops !== undefined &&
    (!Array.isArray(ops) ||
      !ops.includes('verify') ||
      !ops.every((op, index) => typeof op === 'string' && ops.indexOf(op) === index))
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

function sameJwk(a: JWK, b: JWK): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/**
 * Builds a key set from a JWKS document: usable public keys only, imported once. Keys unchanged
 * since `previous` are carried over (with their verifiers); keys that disappeared are retired.
 */
async function buildKeySet(
  document: unknown,
  algorithms: ReadonlySet<string>,
  fetchedAt: number,
  usableUntil: number,
  previous?: KeySet,
): Promise<KeySet> {
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
    const kept = previous?.all.find((entry) => sameJwk(entry.jwk, value))
    const entry: KeyEntry = kept ?? {
      jwk: Object.freeze({ ...value }),
      key: await importPublicKey(value, algorithms),
      retired: false,
      usableUntil,
      verifiers: new Map(),
    }
    if (entry.key === undefined || all.includes(entry)) continue
    all.push(entry)
    if (value.kid !== undefined) {
      const list = byKid.get(value.kid)
      if (list === undefined) byKid.set(value.kid, [entry])
      else list.push(entry)
    }
  }
  if (all.length === 0) throw new Error('the JSON Web Key Set holds no usable public signing key')
  for (const entry of all) entry.usableUntil = usableUntil
  for (const entry of previous?.all ?? []) {
    if (!all.includes(entry)) entry.retired = true
  }
  return { byKid, all, fetchedAt }
}

async function readLimited(response: Response, limit: number): Promise<string> {
  const declared = response.headers.get('content-length')
  if (declared !== null && Number(declared) > limit) {
    await response.body?.cancel()
    throw new FetchRefusal(`the response is larger than ${limit} bytes`)
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
      throw new FetchRefusal(`the response is larger than ${limit} bytes`)
    }
    chunks.push(value)
  }
  return decodeUtf8(chunks, size)
}

/**
 * Whether a response is, or came through, a redirect. `redirect: 'manual'` hands back the 3xx
 * itself (Node, Bun, Deno, workerd) or an opaque one with status 0 (browsers); a `fetch` option
 * that follows redirects anyway shows it in `redirected`.
 */
function isRedirect(response: Response): boolean {
  return (
    response.redirected ||
    response.type === 'opaqueredirect' ||
    (response.status >= 300 && response.status < 400)
  )
}

/**
 * Fetches a JSON document with a time and size limit, refusing redirects; `seen.status` gets the
 * status of the response, when one came (for the key-fetch diagnostics message).
 */
export async function fetchJson(
  url: URL,
  timeout: number,
  maxSize: number,
  fetcher: typeof fetch = fetch,
  seen?: { status: number | undefined },
): Promise<unknown> {
  const signal = AbortSignal.timeout(timeout)
  // A status seen by an earlier fetch (discovery) is not this one's.
  if (seen !== undefined) seen.status = undefined
  let response: Response
  try {
    response = await fetcher(url, {
      signal,
      // Not 'error': workerd refuses that value outright ("use manual and check the status").
      redirect: 'manual',
      headers: { accept: 'application/json' },
    })
    if (seen !== undefined) seen.status = response.status
    if (isRedirect(response)) {
      await response.body?.cancel()
      throw new FetchRefusal(
        `${url.origin}${url.pathname} answered with a redirect (HTTP ${response.status}), which is refused`,
      )
    }
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new FetchRefusal(`${url.origin}${url.pathname} answered HTTP ${response.status}`)
    }
    const text = await readLimited(response, maxSize)
    try {
      return JSON.parse(text)
    } catch {
      throw new FetchRefusal(`${url.origin}${url.pathname} did not answer with JSON`)
    }
  } catch (error) {
    const where = `${url.origin}${url.pathname}`
    if (signal.aborted) {
      throw new Error(`${where} did not answer within ${timeout} ms`, { cause: error })
    }
    if (error instanceof FetchRefusal) throw error
    // fetch says only "fetch failed"; the reason (ENOTFOUND, ECONNREFUSED, a TLS verification
    // failure...) is in its cause. Said in the message, for onEvent, inspect and logs (issue #13).
    throw new Error(`${where} could not be fetched: ${reasonOf(error)}`, { cause: error })
  }
}

/** The innermost useful reason of a network error: its code and message, e.g. `ECONNREFUSED`. */
function reasonOf(error: unknown): string {
  let reason = error instanceof Error ? error.message : String(error)
  for (let depth = 0, at: unknown = error; depth < 5 && at instanceof Error; depth++) {
    const { code } = at as { code?: unknown }
    const text = at.message
    if (typeof code === 'string' && code !== '') {
      reason = text !== '' && !text.includes(code) ? `${code} (${text})` : text || code
    } else if (text !== '' && text !== 'fetch failed') {
      reason = text
    }
    at = at.cause
  }
  return reason
}

function unknownKey(description: string): InvalidTokenError {
  return new InvalidTokenError(description, { reason: 'unknown_key', claim: 'kid' })
}

function verifierOf(entry: KeyEntry, alg: string): SignatureVerifier | undefined {
  let verifier = entry.verifiers.get(alg)
  if (verifier === undefined) {
    verifier =
      entry.key !== undefined && keyFitsAlgorithm(entry.jwk, alg)
        ? (createVerifier(entry.key, alg) ?? null)
        : null
    entry.verifiers.set(alg, verifier)
  }
  return verifier ?? undefined
}

/**
 * The key of `keys` that may have signed a token with this header: by `kid` in constant time
 * (or, without `kid`, the only key that fits `alg`). Undefined when none fits; a 401 when
 * several do, since trying each would let one token cost many verifications.
 */
function selectKey(keys: KeySet, selector: KeySelector): VerificationKey | undefined {
  const candidates = selector.kid === undefined ? keys.all : keys.byKid.get(selector.kid)
  if (candidates === undefined) return undefined
  let found: VerificationKey | undefined
  for (const entry of candidates) {
    const verifier = verifierOf(entry, selector.alg)
    if (verifier === undefined) continue
    if (found !== undefined) {
      throw unknownKey(
        selector.kid === undefined
          ? 'the token has no kid and several keys could have signed it'
          : 'several keys share the kid of the token',
      )
    }
    found = { entry, verifier }
  }
  return found
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
  let keys: KeySet | undefined
  const loading = buildKeySet(jwks, options.algorithms, 0, Number.POSITIVE_INFINITY).then(
    (set) => {
      keys = set
      return set
    },
    () => undefined,
  )
  const missing = () => unknownKey('no configured key matches the kid and alg of the token')
  return {
    peek(selector) {
      return keys === undefined ? undefined : selectKey(keys, selector)
    },
    async getKey(selector) {
      const set = await loading
      const found = set === undefined ? undefined : selectKey(set, selector)
      if (found === undefined) throw missing()
      return found
    },
    async warmUp() {
      await loading
    },
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
  location: { kind: 'jwks' | 'discovery'; url: URL; fallback?: URL | undefined },
): KeySource {
  const { cooldownDuration, cacheMaxAge, maxStaleAge, timeoutDuration, maxResponseSize } = options
  let keys: KeySet | undefined
  let jwksUrl: URL | undefined = location.kind === 'jwks' ? location.url : undefined
  let inflight: Promise<KeySet> | undefined
  let lastAttemptAt = Number.NEGATIVE_INFINITY
  let nextBackgroundAt = Number.POSITIVE_INFINITY
  const retryAfter = Math.max(1, Math.ceil(timeoutDuration / 1000))

  async function resolveJwksUrl(trace?: KeyFetchMessage): Promise<URL> {
    if (jwksUrl !== undefined) return jwksUrl
    jwksUrl = await discoverJwksUri(
      location,
      options.issuers,
      (url) => fetchJson(url, timeoutDuration, maxResponseSize, options.fetch, trace),
      checkKeyUrl,
    )
    return jwksUrl
  }

  async function load(trigger: Trigger, trace?: KeyFetchMessage): Promise<KeySet> {
    lastAttemptAt = Date.now()
    try {
      const url = await resolveJwksUrl(trace)
      if (trace !== undefined) trace.url = url.href
      const document = await fetchJson(url, timeoutDuration, maxResponseSize, options.fetch, trace)
      const before = keys
      const fetchedAt = Date.now()
      const next = await buildKeySet(
        document,
        options.algorithms,
        fetchedAt,
        fetchedAt + maxStaleAge,
        before,
      )
      keys = next
      if (trace !== undefined) trace.keyCount = next.all.length
      nextBackgroundAt = next.fetchedAt + cacheMaxAge * (0.8 + Math.random() * 0.1)
      const keyIds = [...next.byKid.keys()]
      const added = keyIds.filter((kid) => !before?.byKid.has(kid))
      const removed =
        before === undefined ? [] : [...before.byKid.keys()].filter((kid) => !next.byKid.has(kid))
      emitEvent(options.onEvent, { type: 'keys_refreshed', keyIds, added, removed, trigger })
      if (before !== undefined && (added.length > 0 || removed.length > 0)) {
        emitEvent(options.onEvent, { type: 'keys_rotated', added, removed })
      }
      return next
    } catch (error) {
      const usable = keys !== undefined && Date.now() - keys.fetchedAt <= maxStaleAge
      // Retry a failed background refresh after a pause, not on every request.
      nextBackgroundAt = Date.now() + Math.max(cooldownDuration, 1_000)
      if (trace !== undefined) trace.staleKeysServed = usable
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
      const loading = hasKeyFetchSubscribers()
        ? traceKeyFetch((jwksUrl ?? location.url).href, trigger, (trace) => load(trigger, trace))
        : load(trigger)
      inflight = loading.finally(() => {
        inflight = undefined
      })
    }
    return inflight
  }

  /** The current keys when they may serve now; starts a background refresh when one is due. */
  function currentKeys(now: number): KeySet | undefined {
    const current = keys
    if (current === undefined || now - current.fetchedAt > maxStaleAge) return undefined
    if (now >= nextBackgroundAt && inflight === undefined) {
      refresh('background').catch(() => {
        // Reported through onEvent; the current keys keep serving.
      })
    }
    return current
  }

  async function usableKeys(now: number): Promise<KeySet> {
    const current = currentKeys(now)
    if (current !== undefined) return current
    try {
      return await refresh(keys === undefined ? 'initial' : 'expired')
    } catch (cause) {
      throw new KeysUnavailableError(retryAfter, { reason: 'keys_unavailable', cause })
    }
  }

  return {
    peek(selector) {
      const current = currentKeys(Date.now())
      return current === undefined ? undefined : selectKey(current, selector)
    },
    async getKey(selector) {
      const now = Date.now()
      const current = await usableKeys(now)
      const found = selectKey(current, selector)
      if (found !== undefined) return found
      // A key rotated in since the last fetch: fetch again, at most once per cooldown.
      if (inflight === undefined && now - lastAttemptAt < cooldownDuration) {
        throw unknownKey('no key of the issuer matches the kid and alg of the token')
      }
      let fresh: KeySet
      try {
        fresh = await refresh('unknown_kid')
      } catch (cause) {
        throw new KeysUnavailableError(retryAfter, { reason: 'keys_unavailable', cause })
      }
      const rotated = selectKey(fresh, selector)
      if (rotated === undefined) {
        throw unknownKey('no key of the issuer matches the kid and alg of the token')
      }
      return rotated
    },
    async warmUp() {
      await usableKeys(Date.now())
    },
  }
}

/**
 * The key source the options name: static keys, or a JWKS URL or discovery document fetched and
 * cached. What `createValidator` and `inspectToken` both use.
 *
 * @example
 * ```ts
 * const keys = createKeySourceFor(resolveOptions({ issuer, audience, jwksUri }))
 * ```
 */
export function createKeySourceFor(options: ResolvedOptions): KeySource {
  const source = options.keySource
  return source.kind === 'static'
    ? createStaticKeySource(options, source.jwks)
    : createRemoteKeySource(options, source)
}
