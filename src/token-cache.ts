/**
 * The verified-token cache: a repeated token (a daemon reuses its token for up to an hour) is
 * answered without parsing or verifying it again.
 *
 * - Only tokens that passed every check are stored, and a hit is the very string that was
 *   verified. Entries are found by a number read from the end of the signature (no string is
 *   made or hashed for a 1-2 KB token that arrives as a new string with every request) and then
 *   compared whole.
 * - Bounded: least recently used entries go first once `maxEntries` is reached (a hit renews
 *   an entry once it has aged by half the cache, which keeps hot tokens in at a lower cost).
 * - While a full cache sees nothing but one-off tokens (2 × maxEntries + 1,000 of them stored
 *   since the last hit), a new token is let in only when it is verified a second time: such a stream then
 *   neither flushes the tokens that do come back nor pays for storing entries nobody reads
 *   (keeping an entry alive makes the garbage collector copy it and its claims). The first hit
 *   ends this until the cache turns over unread again.
 * - An entry serves only until the token's `exp` (and within `nbf` and `maxTokenAge`); the time
 *   claims are checked again on every hit.
 * - An entry whose signing key a JWKS refresh retired, or whose keys are past `maxStaleAge`
 *   without a successful refresh, is dropped.
 */

import type { Accepted } from './decision.js'
import type { KeyEntry } from './jwks.js'

/** One cached token. */
class CacheEntry {
  constructor(
    readonly token: string,
    /** The decision to let the token's requests proceed, with its AuthInfo. */
    readonly decision: Accepted,
    readonly key: KeyEntry,
    /** Seconds: a hit needs `notBefore <= now < expires`. */
    readonly notBefore: number,
    readonly expires: number,
    /** The insertion count when the entry last moved to the young end. */
    public stamp: number,
  ) {}
}

// Characters of the signature's end folded into the lookup key: up to 6 bits of entropy each
// (the last one's low bits may be padding), unpredictable without the signing key.
const KEY_CHARACTERS = 8

/** Default number of tokens kept. Each entry holds the token and its AuthInfo (a few KB). */
export const DEFAULT_TOKEN_CACHE_ENTRIES = 1_000

/**
 * The doorkeeper remembers about 4 × maxEntries recent one-off tokens (4 bytes each): a token that
 * comes back after many more others would be evicted again before its next use anyway.
 */
const SEEN_SLOTS_PER_ENTRY = 4
const MIN_SEEN_SLOTS = 1 << 10
const MAX_SEEN_SLOTS = 1 << 22

/** How many fingerprints the doorkeeper of a cache of `maxEntries` keeps: a power of two. */
export function doorkeeperSlots(maxEntries: number): number {
  let slots = MIN_SEEN_SLOTS
  while (slots < maxEntries * SEEN_SLOTS_PER_ENTRY && slots < MAX_SEEN_SLOTS) slots <<= 1
  return slots
}

/**
 * The lookup key of a token: an FNV-1a hash of its last characters, made a small integer (V8
 * hashes those for free). Two tokens may share a key (about one pair in 2^30): then the later
 * replaces the earlier, and a hit is always compared whole. The multi-issuer validator keys its
 * table of accepted tokens the same way.
 *
 * @example
 * ```ts
 * entries.get(tokenKeyOf(token))?.token === token
 * ```
 */
export function tokenKeyOf(token: string): number {
  let hash = 0x811c9dc5
  const end = token.length
  const start = end > KEY_CHARACTERS ? end - KEY_CHARACTERS : 0
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ token.charCodeAt(i), 0x01000193)
  return hash >>> 2
}

/** A bounded LRU of verified tokens. */
export interface TokenCache {
  get(token: string, now: number): Accepted | undefined
  /** Whether `token` is stored; not a read: it renews nothing and counts as no hit. */
  holds(token: string): boolean
  set(token: string, decision: Accepted, key: KeyEntry, notBefore: number, expires: number): void
  readonly size: number
}

/**
 * Creates a verified-token cache of at most `maxEntries` tokens.
 *
 * @example
 * ```ts
 * const cache = createTokenCache(1000)
 * cache.set(token, { auth, error: undefined, headers: undefined }, keyEntry, nbf - tolerance, exp)
 * cache.get(token, Math.floor(Date.now() / 1000))?.auth // auth, until exp
 * ```
 */
export function createTokenCache(maxEntries: number): TokenCache {
  const entries = new Map<number, CacheEntry>()
  // Insertions so far. A hit moves its entry to the young end only when it has aged by half the
  // cache since its last move: still least-recently-used eviction for anything used in that
  // window, without a delete and an insert on every hit of a hot token.
  let clock = 0
  const refreshAge = Math.max(1, maxEntries >> 1)
  // Fingerprints of tokens verified while the cache was full and not let in, one per slot: a
  // later token that lands on a slot overwrites it, so "seen before" fades as others come.
  const slots = doorkeeperSlots(maxEntries)
  let seen: Int32Array | undefined
  // Entries stored since the last hit: past `unread`, the cache is being flushed by one-off tokens.
  let storedSinceHit = 0
  const unread = 2 * maxEntries + 1_000
  /** Whether a token was verified before (and remembers it for next time if not). */
  function seenBefore(id: number): boolean {
    seen ??= new Int32Array(slots)
    const index = (Math.imul(id, 0x9e3779b1) >>> 0) & (slots - 1)
    if (seen[index] === id) return true
    seen[index] = id
    return false
  }
  return {
    get(token, now) {
      const id = tokenKeyOf(token)
      const entry = entries.get(id)
      if (entry === undefined || entry.token !== token) return undefined
      if (now >= entry.expires || entry.key.retired || now * 1000 > entry.key.usableUntil) {
        entries.delete(id)
        return undefined
      }
      if (now < entry.notBefore) return undefined
      storedSinceHit = 0
      if (clock - entry.stamp >= refreshAge) {
        entries.delete(id)
        entry.stamp = ++clock
        entries.set(id, entry)
      }
      return entry.decision
    },
    holds(token) {
      return entries.get(tokenKeyOf(token))?.token === token
    },
    set(token, decision, key, notBefore, expires) {
      const id = tokenKeyOf(token)
      if (!entries.delete(id) && entries.size >= maxEntries) {
        if (storedSinceHit >= unread && !seenBefore(id)) return
        const oldest = entries.keys().next()
        if (oldest.done !== true) entries.delete(oldest.value)
      }
      storedSinceHit++
      entries.set(id, new CacheEntry(token, decision, key, notBefore, expires, ++clock))
    },
    get size() {
      return entries.size
    },
  }
}
