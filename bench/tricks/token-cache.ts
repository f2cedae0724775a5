/**
 * Trick 3's plain alternatives: src/token-cache.ts's `createTokenCache`, each copy with one trick
 * taken out and everything else as it is.
 *
 * - `createStringKeyCache`: a Map keyed by the token string itself, not by `keyOf`'s integer
 *   from the signature's last 8 characters (so a token arriving as a new string is hashed whole);
 * - `createRenewEveryHitCache`: every hit moves its entry to the young end (a delete and a set),
 *   not only once it has aged by half the cache;
 * - `createNoDoorkeeperCache`: every verified token is stored, evicting the oldest, even while a
 *   full cache sees nothing but one-off tokens.
 */
import type { Accepted } from '../../src/decision.js'
import type { KeyEntry } from '../../src/jwks.js'
import { doorkeeperSlots, type TokenCache } from '../../src/token-cache.js'

class CacheEntry {
  constructor(
    readonly token: string,
    readonly decision: Accepted,
    readonly key: KeyEntry,
    readonly notBefore: number,
    readonly expires: number,
    public stamp: number,
  ) {}
}

const KEY_CHARACTERS = 8

function keyOf(token: string): number {
  let hash = 0x811c9dc5
  const end = token.length
  const start = end > KEY_CHARACTERS ? end - KEY_CHARACTERS : 0
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ token.charCodeAt(i), 0x01000193)
  return hash >>> 2
}

/** The doorkeeper of src/token-cache.ts, as the copies that keep it use it. */
function createDoorkeeper(maxEntries: number): (id: number) => boolean {
  const slots = doorkeeperSlots(maxEntries)
  let seen: Int32Array | undefined
  return (id) => {
    seen ??= new Int32Array(slots)
    const index = (Math.imul(id, 0x9e3779b1) >>> 0) & (slots - 1)
    if (seen[index] === id) return true
    seen[index] = id
    return false
  }
}

/** A Map keyed by the token string. */
export function createStringKeyCache(maxEntries: number): TokenCache {
  const entries = new Map<string, CacheEntry>()
  let clock = 0
  const refreshAge = Math.max(1, maxEntries >> 1)
  const seenBefore = createDoorkeeper(maxEntries)
  let storedSinceHit = 0
  const unread = 2 * maxEntries + 1_000
  return {
    holds(token) {
      return entries.get(token)?.token === token
    },
    get(token, now) {
      const entry = entries.get(token)
      if (entry === undefined) return undefined
      if (now >= entry.expires || entry.key.retired || now * 1000 > entry.key.usableUntil) {
        entries.delete(token)
        return undefined
      }
      if (now < entry.notBefore) return undefined
      storedSinceHit = 0
      if (clock - entry.stamp >= refreshAge) {
        entries.delete(token)
        entry.stamp = ++clock
        entries.set(token, entry)
      }
      return entry.decision
    },
    set(token, decision, key, notBefore, expires) {
      if (!entries.delete(token) && entries.size >= maxEntries) {
        // The doorkeeper still takes an integer: the same fingerprint as src's.
        if (storedSinceHit >= unread && !seenBefore(keyOf(token))) return
        const oldest = entries.keys().next()
        if (oldest.done !== true) entries.delete(oldest.value)
      }
      storedSinceHit++
      entries.set(token, new CacheEntry(token, decision, key, notBefore, expires, ++clock))
    },
    get size() {
      return entries.size
    },
  }
}

/** Every hit renews its entry. */
export function createRenewEveryHitCache(maxEntries: number): TokenCache {
  const entries = new Map<number, CacheEntry>()
  let clock = 0
  const seenBefore = createDoorkeeper(maxEntries)
  let storedSinceHit = 0
  const unread = 2 * maxEntries + 1_000
  return {
    holds(token) {
      return entries.get(keyOf(token))?.token === token
    },
    get(token, now) {
      const id = keyOf(token)
      const entry = entries.get(id)
      if (entry === undefined || entry.token !== token) return undefined
      if (now >= entry.expires || entry.key.retired || now * 1000 > entry.key.usableUntil) {
        entries.delete(id)
        return undefined
      }
      if (now < entry.notBefore) return undefined
      storedSinceHit = 0
      entries.delete(id)
      entries.set(id, entry)
      return entry.decision
    },
    set(token, decision, key, notBefore, expires) {
      const id = keyOf(token)
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

/** No doorkeeper: a full cache always evicts its oldest entry for the new token. */
export function createNoDoorkeeperCache(maxEntries: number): TokenCache {
  const entries = new Map<number, CacheEntry>()
  let clock = 0
  const refreshAge = Math.max(1, maxEntries >> 1)
  return {
    holds(token) {
      return entries.get(keyOf(token))?.token === token
    },
    get(token, now) {
      const id = keyOf(token)
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
      return entry.decision
    },
    set(token, decision, key, notBefore, expires) {
      const id = keyOf(token)
      if (!entries.delete(id) && entries.size >= maxEntries) {
        const oldest = entries.keys().next()
        if (oldest.done !== true) entries.delete(oldest.value)
      }
      entries.set(id, new CacheEntry(token, decision, key, notBefore, expires, ++clock))
    },
    get size() {
      return entries.size
    },
  }
}
