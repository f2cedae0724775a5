/**
 * The verified-token cache: a repeated token (a daemon reuses its token for up to an hour) is
 * answered without parsing or verifying it again.
 *
 * - Only tokens that passed every check are stored, and a hit is the very string that was
 *   verified. Entries are found by the end of the signature (hashing a short key, not a 1-2 KB
 *   token that arrives as a new string with every request) and then compared whole.
 * - Bounded: least recently used entries go first once `maxEntries` is reached (a hit renews
 *   an entry once it has aged by half the cache, which keeps hot tokens in at a lower cost).
 * - An entry serves only until the token's `exp` (and within `nbf` and `maxTokenAge`); the time
 *   claims are checked again on every hit.
 * - An entry whose signing key a JWKS refresh retired, or whose keys are past `maxStaleAge`
 *   without a successful refresh, is dropped.
 */
import type { KeyEntry } from './jwks.js'
import type { AuthInfo } from './types.js'

interface CacheEntry {
  readonly token: string
  readonly auth: AuthInfo
  readonly key: KeyEntry
  /** Seconds: a hit needs `notBefore <= now < expires`. */
  readonly notBefore: number
  readonly expires: number
  /** The insertion count when the entry last moved to the young end. */
  stamp: number
}

// 43 base64url characters: the last 32 bytes of the signature, unpredictable without the key.
const FINGERPRINT_LENGTH = 43

/** Default number of tokens kept. Each entry holds the token and its AuthInfo (a few KB). */
export const DEFAULT_TOKEN_CACHE_ENTRIES = 1_000

/** A bounded LRU of verified tokens. */
export interface TokenCache {
  get(token: string, now: number): AuthInfo | undefined
  set(token: string, auth: AuthInfo, key: KeyEntry, notBefore: number, expires: number): void
  readonly size: number
}

/**
 * Creates a verified-token cache of at most `maxEntries` tokens.
 *
 * @example
 * ```ts
 * const cache = createTokenCache(1000)
 * cache.set(token, auth, keyEntry, nbf - tolerance, exp)
 * cache.get(token, Math.floor(Date.now() / 1000)) // auth, until exp
 * ```
 */
export function createTokenCache(maxEntries: number): TokenCache {
  const entries = new Map<string, CacheEntry>()
  // Insertions so far. A hit moves its entry to the young end only when it has aged by half the
  // cache since its last move: still least-recently-used eviction for anything used in that
  // window, without a delete and an insert on every hit of a hot token.
  let clock = 0
  const refreshAge = Math.max(1, maxEntries >> 1)
  return {
    get(token, now) {
      const id = token.length > FINGERPRINT_LENGTH ? token.slice(-FINGERPRINT_LENGTH) : token
      const entry = entries.get(id)
      if (entry === undefined || entry.token !== token) return undefined
      if (now >= entry.expires || entry.key.retired || now * 1000 > entry.key.usableUntil) {
        entries.delete(id)
        return undefined
      }
      if (now < entry.notBefore) return undefined
      if (clock - entry.stamp >= refreshAge) {
        entries.delete(id)
        entry.stamp = ++clock
        entries.set(id, entry)
      }
      return entry.auth
    },
    set(token, auth, key, notBefore, expires) {
      const id = token.length > FINGERPRINT_LENGTH ? token.slice(-FINGERPRINT_LENGTH) : token
      if (entries.size >= maxEntries && !entries.has(id)) {
        const oldest = entries.keys().next()
        if (oldest.done !== true) entries.delete(oldest.value)
      }
      entries.delete(id)
      entries.set(id, { token, auth, key, notBefore, expires, stamp: ++clock })
    },
    get size() {
      return entries.size
    },
  }
}
