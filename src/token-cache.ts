/**
 * The verified-token cache: a repeated token (a daemon reuses its token for up to an hour) is
 * answered without parsing or verifying it again.
 *
 * - Only tokens that passed every check are stored, keyed on the whole token string, so a hit
 *   is the very string that was verified.
 * - Bounded: least recently used entries go first once `maxEntries` is reached.
 * - An entry serves only until the token's `exp` (and within `nbf` and `maxTokenAge`); the time
 *   claims are checked again on every hit.
 * - An entry whose signing key a JWKS refresh retired, or whose keys are past `maxStaleAge`
 *   without a successful refresh, is dropped.
 */
import type { KeyEntry } from './jwks.js'
import type { AuthInfo } from './types.js'

interface CacheEntry {
  readonly auth: AuthInfo
  readonly key: KeyEntry
  /** Seconds: a hit needs `notBefore <= now < expires`. */
  readonly notBefore: number
  readonly expires: number
}

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
  return {
    get(token, now) {
      const entry = entries.get(token)
      if (entry === undefined) return undefined
      if (now >= entry.expires || entry.key.retired || now * 1000 > entry.key.usableUntil) {
        entries.delete(token)
        return undefined
      }
      if (now < entry.notBefore) return undefined
      // Most recently used goes last; Map keeps insertion order.
      entries.delete(token)
      entries.set(token, entry)
      return entry.auth
    },
    set(token, auth, key, notBefore, expires) {
      if (entries.size >= maxEntries && !entries.has(token)) {
        const oldest = entries.keys().next()
        if (oldest.done !== true) entries.delete(oldest.value)
      }
      entries.set(token, { auth, key, notBefore, expires })
    },
    get size() {
      return entries.size
    },
  }
}
