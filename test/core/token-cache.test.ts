/**
 * `createTokenCache`: a hit is the very string that was verified, within its time window, while
 * its signing key is trusted; the cache is bounded and drops the least recently used first.
 */
import { describe, expect, it } from 'vitest'
import type { Accepted } from '../../src/decision.js'
import type { KeyEntry } from '../../src/jwks.js'
import { createTokenCache, doorkeeperSlots } from '../../src/token-cache.js'
import type { AuthInfo } from '../../src/types.js'

function keyEntry(overrides: Partial<KeyEntry> = {}): KeyEntry {
  return {
    jwk: { kty: 'RSA', kid: 'k' },
    key: undefined,
    retired: false,
    usableUntil: Number.POSITIVE_INFINITY,
    verifiers: new Map(),
    ...overrides,
  }
}

/** A stored decision whose AuthInfo has only a subject. */
const auth = (subject: string): Accepted => ({
  auth: { subject } as unknown as AuthInfo,
  error: undefined,
  headers: undefined,
})
/** A token-like string: `head.payload.` and a 43-character signature tail unique to `n`. */
const token = (n: number, head = 'h.p.') => `${head}${String(n).padStart(43, 'S')}`

describe('createTokenCache', () => {
  it('answers only the exact string that was stored', () => {
    const cache = createTokenCache(10)
    const a = token(1)
    cache.set(a, auth('a'), keyEntry(), 0, 100)
    expect(cache.get(a, 10)?.auth?.subject).toBe('a')
    // Same end (the lookup key is read from it), different token.
    expect(cache.get(token(1, 'x.y.'), 10)).toBeUndefined()
    expect(cache.get(a.slice(1), 10)).toBeUndefined()
    expect(cache.size).toBe(1)
  })

  it('keeps one of two tokens that share a lookup key, and never answers one for the other', () => {
    const cache = createTokenCache(10)
    const a = token(1, 'a.b.')
    const b = token(1, 'c.d.')
    cache.set(a, auth('a'), keyEntry(), 0, 100)
    cache.set(b, auth('b'), keyEntry(), 0, 100)
    expect(cache.get(a, 1)).toBeUndefined()
    expect(cache.get(b, 1)?.auth?.subject).toBe('b')
    expect(cache.size).toBe(1)
  })

  it('handles tokens no longer than the lookup key', () => {
    const cache = createTokenCache(10)
    cache.set('short', auth('s'), keyEntry(), 0, 100)
    cache.set('x'.repeat(43), auth('x'), keyEntry(), 0, 100)
    expect(cache.get('short', 1)?.auth?.subject).toBe('s')
    expect(cache.get('x'.repeat(43), 1)?.auth?.subject).toBe('x')
    expect(cache.get('hort', 1)).toBeUndefined()
    expect(cache.size).toBe(2)
  })

  it('serves until just before expires, then drops the entry', () => {
    const cache = createTokenCache(10)
    cache.set(token(1), auth('a'), keyEntry(), 0, 100)
    expect(cache.get(token(1), 99)?.auth?.subject).toBe('a')
    expect(cache.get(token(1), 100)).toBeUndefined()
    expect(cache.size).toBe(0)
    expect(cache.get(token(1), 50)).toBeUndefined()
  })

  it('serves from notBefore on, keeping the entry while it is not yet valid', () => {
    const cache = createTokenCache(10)
    cache.set(token(1), auth('a'), keyEntry(), 50, 100)
    expect(cache.get(token(1), 49)).toBeUndefined()
    expect(cache.size).toBe(1)
    expect(cache.get(token(1), 50)?.auth?.subject).toBe('a')
  })

  it('drops an entry whose key was retired', () => {
    const key = keyEntry()
    const cache = createTokenCache(10)
    cache.set(token(1), auth('a'), key, 0, 100)
    expect(cache.get(token(1), 1)?.auth?.subject).toBe('a')
    key.retired = true
    expect(cache.get(token(1), 1)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('serves while its key is usable (usableUntil, in ms), then drops the entry', () => {
    const cache = createTokenCache(10)
    cache.set(token(1), auth('a'), keyEntry({ usableUntil: 100_000 }), 0, 1_000)
    expect(cache.get(token(1), 100)?.auth?.subject).toBe('a')
    expect(cache.get(token(1), 101)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('keeps at most maxEntries, evicting the oldest', () => {
    const cache = createTokenCache(3)
    for (let n = 1; n <= 5; n++) cache.set(token(n), auth(`t${n}`), keyEntry(), 0, 100)
    expect(cache.size).toBe(3)
    expect([1, 2, 3, 4, 5].map((n) => cache.get(token(n), 1)?.auth?.subject)).toEqual([
      undefined,
      undefined,
      't3',
      't4',
      't5',
    ])
  })

  it('replaces an entry stored again without evicting another', () => {
    const cache = createTokenCache(2)
    cache.set(token(1), auth('old'), keyEntry(), 0, 100)
    cache.set(token(2), auth('b'), keyEntry(), 0, 100)
    cache.set(token(1), auth('new'), keyEntry(), 0, 100)
    expect(cache.size).toBe(2)
    // token(1) was stored last: token(2) is now the oldest.
    cache.set(token(3), auth('c'), keyEntry(), 0, 100)
    expect(cache.get(token(2), 1)).toBeUndefined()
    expect(cache.get(token(1), 1)?.auth?.subject).toBe('new')
    expect(cache.get(token(3), 1)?.auth?.subject).toBe('c')
  })

  it('keeps a token used after it aged by half the cache, evicting an unused older one', () => {
    const cache = createTokenCache(4)
    cache.set(token(1), auth('hot'), keyEntry(), 0, 100)
    cache.set(token(2), auth('b'), keyEntry(), 0, 100)
    cache.set(token(3), auth('c'), keyEntry(), 0, 100)
    // Two insertions since token(1) was stored: a hit now moves it to the young end.
    expect(cache.get(token(1), 1)?.auth?.subject).toBe('hot')
    cache.set(token(4), auth('d'), keyEntry(), 0, 100)
    cache.set(token(5), auth('e'), keyEntry(), 0, 100)
    expect(cache.get(token(2), 1)).toBeUndefined()
    expect(cache.get(token(1), 1)?.auth?.subject).toBe('hot')
    expect(cache.size).toBe(4)
  })

  it('does not reorder on a hit within half the cache of the last move', () => {
    const cache = createTokenCache(4)
    cache.set(token(1), auth('a'), keyEntry(), 0, 100)
    cache.set(token(2), auth('b'), keyEntry(), 0, 100)
    // One insertion since token(1): the hit leaves it where it is, the oldest.
    expect(cache.get(token(1), 1)?.auth?.subject).toBe('a')
    cache.set(token(3), auth('c'), keyEntry(), 0, 100)
    cache.set(token(4), auth('d'), keyEntry(), 0, 100)
    cache.set(token(5), auth('e'), keyEntry(), 0, 100)
    expect(cache.get(token(1), 1)).toBeUndefined()
    expect(cache.get(token(2), 1)?.auth?.subject).toBe('b')
  })

  it('holds() renews nothing: an entry probed by it is still the oldest', () => {
    const cache = createTokenCache(4)
    for (let n = 1; n <= 4; n++) cache.set(token(n), auth(`t${n}`), keyEntry(), 0, 100)
    for (let i = 0; i < 10; i++) expect(cache.holds(token(1))).toBe(true)
    cache.set(token(5), auth('e'), keyEntry(), 0, 100)
    expect(cache.holds(token(1))).toBe(false)
    expect(cache.holds(token(2))).toBe(true)
  })

  it('with one entry, always keeps the latest', () => {
    const cache = createTokenCache(1)
    cache.set(token(1), auth('a'), keyEntry(), 0, 100)
    expect(cache.get(token(1), 1)?.auth?.subject).toBe('a')
    cache.set(token(2), auth('b'), keyEntry(), 0, 100)
    expect(cache.size).toBe(1)
    expect(cache.get(token(1), 1)).toBeUndefined()
    expect(cache.get(token(2), 1)?.auth?.subject).toBe('b')
  })

  it.each([
    [1, 1_024],
    [256, 1_024],
    [257, 2_048],
    [1_000, 4_096],
    [1_024, 4_096],
    [1_025, 8_192],
    [1_048_576, 4_194_304],
    [10_000_000, 4_194_304],
  ])('remembers one-off tokens of a cache of %i entries in %i slots', (entries, slots) => {
    expect(doorkeeperSlots(entries)).toBe(slots)
  })

  describe('while a full cache is flushed by one-off tokens', () => {
    /** Stores 2 × size + 1,000 tokens in a cache of `size`, none ever read. */
    function flushed(size: number) {
      const cache = createTokenCache(size)
      const stored = 2 * size + 1_000
      for (let n = 1; n <= stored; n++) cache.set(token(n), auth(`t${n}`), keyEntry(), 0, 100)
      return { cache, next: stored + 1 }
    }

    it('stores up to 2 × maxEntries + 1,000 unread tokens as plain LRU', () => {
      const cache = createTokenCache(3)
      for (let n = 1; n <= 1_006; n++) cache.set(token(n), auth(`t${n}`), keyEntry(), 0, 100)
      expect(cache.get(token(1_006), 1)?.auth?.subject).toBe('t1006')
      expect(cache.get(token(1_004), 1)?.auth?.subject).toBe('t1004')
      expect(cache.get(token(1_003), 1)).toBeUndefined()
    })

    it('lets a new token in only when it is stored a second time', () => {
      const { cache, next } = flushed(3)
      const last = next - 1
      cache.set(token(next), auth('new'), keyEntry(), 0, 100)
      expect(cache.get(token(next), 1)).toBeUndefined()
      expect(cache.size).toBe(3)
      // The entries it would have evicted are still served.
      expect(cache.get(token(last - 2), 1)?.auth?.subject).toBe(`t${last - 2}`)
      cache.set(token(next), auth('new'), keyEntry(), 0, 100)
      expect(cache.get(token(next), 1)?.auth?.subject).toBe('new')
      expect(cache.size).toBe(3)
    })

    it('is not opened again by holds(), which is no read', () => {
      const cache = createTokenCache(3)
      // Every store probed at once, as the multi-issuer validator does after an acceptance.
      for (let n = 1; n <= 1_006; n++) {
        cache.set(token(n), auth(`t${n}`), keyEntry(), 0, 100)
        expect(cache.holds(token(n))).toBe(true)
      }
      cache.set(token(1_007), auth('new'), keyEntry(), 0, 100)
      expect(cache.holds(token(1_007))).toBe(false)
      expect(cache.holds(token(1_006))).toBe(true)
      expect(cache.holds(token(1_003))).toBe(false)
      // Not the same string: a token with the same end is not held.
      expect(cache.holds(token(1_006, 'x.y.'))).toBe(false)
    })

    it('lets every new token in again after a hit', () => {
      const { cache, next } = flushed(3)
      expect(cache.get(token(next - 1), 1)).toBeDefined()
      cache.set(token(next), auth('new'), keyEntry(), 0, 100)
      expect(cache.get(token(next), 1)?.auth?.subject).toBe('new')
    })

    it('stays within maxEntries and lets in a token stored again after others', () => {
      const { cache, next } = flushed(100)
      cache.set(token(next), auth('back'), keyEntry(), 0, 100)
      for (let n = next + 1; n < next + 100; n++) cache.set(token(n), auth('x'), keyEntry(), 0, 100)
      expect(cache.size).toBe(100)
      cache.set(token(next), auth('back'), keyEntry(), 0, 100)
      expect(cache.get(token(next), 1)?.auth?.subject).toBe('back')
    })
  })
})
