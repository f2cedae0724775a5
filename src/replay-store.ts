/**
 * Where DPoP proofs are remembered, so that each is accepted once (RFC 9449 §11.1): the `jti` of
 * a proof, per key, within the time its `iat` keeps it acceptable.
 *
 * The default store lives in memory, bounded and with expiry: right for one process. Several
 * replicas behind a load balancer must share one store, or a proof replayed to another replica
 * passes: `bearer-guard/redis` provides one for Redis, and any other store fits this interface.
 */

/**
 * A store of proof identifiers seen recently.
 *
 * @example
 * ```ts
 * const store: ReplayStore = {
 *   add: (id, ttl) => sharedSet.addIfAbsent(id, ttl), // true when it was new
 * }
 * ```
 */
export interface ReplayStore {
  /**
   * Records `id` for at least `ttlSeconds`, and answers whether it is new: `true` the first
   * time, `false` when it was recorded before and has not expired. Must be atomic: of two
   * concurrent calls with one `id`, only one may answer `true`. A rejected promise or a throw
   * answers the request with 503 (the store cannot be asked), never accepts the proof.
   */
  add(id: string, ttlSeconds: number): boolean | Promise<boolean>
}

/** Options of {@link createMemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /**
   * Most identifiers kept at once. When the store is full of identifiers that have not expired,
   * a new proof is refused (503) rather than an unexpired one forgotten, which would let it be
   * replayed. Default 500,000 (about 60 MB at most).
   */
  maxEntries?: number
}

/** Default size of the in-memory replay store. */
export const DEFAULT_REPLAY_ENTRIES = 500_000

/** Thrown by a store that cannot remember one more proof now; the request gets a 503. */
export class ReplayStoreFullError extends Error {
  constructor() {
    super('the DPoP replay store is full')
    this.name = 'ReplayStoreFullError'
  }
}

/**
 * The default replay store: identifiers in insertion order with their expiry (ms). Expired ones
 * are dropped from the old end as new ones come, so memory follows the rate of proofs times
 * their lifetime, and never passes `maxEntries`.
 *
 * @example
 * ```ts
 * createValidator({ ...options, dpop: { publicOrigin, replayStore: createMemoryReplayStore({ maxEntries: 100_000 }) } })
 * ```
 */
export function createMemoryReplayStore(options: MemoryReplayStoreOptions = {}): ReplayStore & {
  readonly size: number
} {
  const maxEntries = options.maxEntries ?? DEFAULT_REPLAY_ENTRIES
  if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 50_000_000) {
    throw new TypeError('"maxEntries" option must be a whole number from 1 to 50000000')
  }
  // Insertion order is expiry order as long as every ttl is the same (one validator's): the
  // oldest entry is the first to expire. A longer ttl added later only keeps older ones longer.
  const entries = new Map<string, number>()
  function sweep(now: number, budget: number): void {
    let left = budget
    for (const [id, expires] of entries) {
      if (expires > now || left-- === 0) return
      entries.delete(id)
    }
  }
  return {
    add(id, ttlSeconds) {
      const now = Date.now()
      // A few expired entries go with every call: a steady rate keeps the store at its level.
      sweep(now, 8)
      const expires = entries.get(id)
      if (expires !== undefined && expires > now) return false
      if (expires !== undefined) entries.delete(id)
      if (entries.size >= maxEntries) {
        sweep(now, Number.POSITIVE_INFINITY)
        if (entries.size >= maxEntries) throw new ReplayStoreFullError()
      }
      entries.set(id, now + ttlSeconds * 1000)
      return true
    },
    get size() {
      return entries.size
    },
  }
}
