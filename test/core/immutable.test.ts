/**
 * Nothing one request does to its AuthInfo is seen by another (DESIGN.md, non-negotiables): the
 * verified-token cache hands the same object to every request that repeats a token, so every part
 * reachable from it must be immutable, not only its first level.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { deepFreeze, ImmutableDate } from '../../src/immutable.js'
import { type AuthInfo, createValidator } from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  return () => vi.useRealTimers()
})

const NESTED_CLAIMS = {
  roles: ['Data.Read'],
  amr: ['pwd', 'mfa'],
  wids: ['b79fbf4d-3ef9-4689-8143-76b194e85509'],
  xms_cc: ['cp1'],
  address: { street: 'Main 1', geo: { lat: 1, lng: [2, { deep: ['x'] }] } },
  groups: [{ id: 'g1', tags: ['a'] }],
}

/** Every object reachable from `root` (arrays, nested objects, dates), each once. */
function reachable(root: object): object[] {
  const seen = new Set<object>()
  const pending: object[] = [root]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (seen.has(next)) continue
    seen.add(next)
    for (const name of Reflect.ownKeys(next)) {
      const value = (next as Record<PropertyKey, unknown>)[name]
      if (typeof value === 'object' && value !== null) pending.push(value)
    }
  }
  return [...seen]
}

type Attack = (target: object) => void

// Sloppy-mode attacks: Function bodies are not strict, so a failed write is silent there.
const sloppy = (body: string): Attack => new Function('t', body) as Attack

const STRICT_ATTACKS: Attack[] = [
  (t) => {
    for (const name of Object.keys(t)) (t as Record<string, unknown>)[name] = 'changed'
  },
  (t) => {
    ;(t as Record<string, unknown>).added = 'new'
  },
  (t) => {
    for (const name of Object.keys(t)) delete (t as Record<string, unknown>)[name]
  },
  (t) => Object.defineProperty(t, 'defined', { value: 1 }),
  (t) => Object.setPrototypeOf(t, { injected: true }),
  (t) => {
    if (Array.isArray(t)) t.push('Admin')
  },
  (t) => {
    if (Array.isArray(t)) t.pop()
  },
  (t) => {
    if (Array.isArray(t)) t.splice(0, 1, 'Admin')
  },
  (t) => {
    if (Array.isArray(t)) t.sort().reverse()
  },
  (t) => {
    if (Array.isArray(t)) t.fill('Admin')
  },
  (t) => {
    if (Array.isArray(t)) t.length = 0
  },
  (t) => {
    if (t instanceof Date) t.setTime(0)
  },
  (t) => {
    if (t instanceof Date) t.setFullYear(2999)
  },
  (t) => {
    if (t instanceof Date) t.setUTCHours(0)
  },
]

const SLOPPY_ATTACKS: Attack[] = [
  sloppy('for (const k of Object.keys(t)) t[k] = "changed"'),
  sloppy('t.added = "new"'),
  sloppy('for (const k of Object.keys(t)) delete t[k]'),
  sloppy('if (Array.isArray(t)) { t[0] = "Admin"; t[t.length] = "Admin"; t.length = 0 }'),
  sloppy('t.__proto__ = { injected: true }'),
  sloppy('if (t instanceof Date) t.setTime(0)'),
]

function attackEverything(auth: AuthInfo, attacks: Attack[]): number {
  let refused = 0
  for (const target of reachable(auth)) {
    for (const attack of attacks) {
      try {
        attack(target)
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError)
        refused++
      }
    }
  }
  return refused
}

/** A deep copy of what an AuthInfo shows, dates as numbers. */
function snapshot(auth: AuthInfo): unknown {
  return JSON.parse(JSON.stringify(auth, (_key, value) => value))
}

describe('AuthInfo immutability (verified-token cache)', () => {
  const validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })
  const uncached = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: toJwks(rsaKey),
    tokenCache: false,
  })

  for (const [mode, attacks] of [
    ['strict mode', STRICT_ATTACKS],
    ['sloppy mode', SLOPPY_ATTACKS],
  ] as const) {
    it(`keeps every reachable part of a cached AuthInfo unchanged after mutations in ${mode}`, async () => {
      const token = await mintToken({
        claims: NESTED_CLAIMS,
        header: { x5t: 'abc', extra: { nested: ['h'] } },
      })
      const first = await validator.verify(token)
      const before = snapshot(first)
      const reference = snapshot(await uncached.verify(token))
      expect(before).toEqual(reference)
      const refused = attackEverything(first, attacks)
      if (mode === 'strict mode') expect(refused).toBeGreaterThan(0)
      const again = await validator.verify(token)
      expect(again).toBe(first) // the cache served it: the attacked object itself
      expect(snapshot(again)).toEqual(before)
      expect(again.claims.roles).toEqual(['Data.Read'])
      expect(again.roles).toEqual(['Data.Read'])
      expect(again.expiresAt.getTime()).toBe((NOW + 3600) * 1000)
      expect(again.issuedAt?.getTime()).toBe(NOW * 1000)
      expect(Object.getPrototypeOf(again.claims)).toBe(Object.prototype)
      expect('injected' in again.claims).toBe(false)
    })
  }

  it('answers roles.push in one request with a TypeError and the next request sees no Admin', async () => {
    const token = await mintToken({ claims: { roles: ['Data.Read'] } })
    const auth = await validator.authenticate(`Bearer ${token}`)
    expect(() => (auth.claims.roles as string[]).push('Admin')).toThrow(TypeError)
    expect(() => (auth.roles as string[]).push('Admin')).toThrow(TypeError)
    const next = await validator.authenticate(`Bearer ${token}`)
    expect(next.claims.roles).toEqual(['Data.Read'])
    expect(next.roles).toEqual(['Data.Read'])
  })

  it('keeps the lists of a token with the same scp, aud and roles as another unchanged', async () => {
    // Should the lists made from a claim's text ever be shared between tokens carrying the same
    // text, an attack on one token's lists must still not reach the next token.
    const claims = { scp: 'Files.Read User.Read', roles: ['Data.Read'] }
    const first = await uncached.verify(await mintToken({ claims }))
    const before = snapshot(first)
    for (const mode of [STRICT_ATTACKS, SLOPPY_ATTACKS]) {
      for (const list of [first.scopes, first.audience, first.roles]) {
        for (const attack of mode) {
          try {
            attack(list)
          } catch (error) {
            expect(error).toBeInstanceOf(TypeError)
          }
        }
      }
    }
    const second = await uncached.verify(await mintToken({ claims: { ...claims, jti: 'other' } }))
    expect(second).not.toBe(first)
    expect(second.scopes).toEqual(['Files.Read', 'User.Read'])
    expect(second.audience).toEqual([AUDIENCE])
    expect(second.roles).toEqual(['Data.Read'])
    expect(snapshot(first)).toEqual(before)
    for (const list of [second.scopes, second.audience, second.roles]) {
      expect(Object.isFrozen(list)).toBe(true)
    }
  })

  it('keeps the dates Dates: instanceof, arithmetic, ISO text and JSON', async () => {
    const auth = await validator.verify(await mintToken())
    expect(auth.expiresAt).toBeInstanceOf(Date)
    expect(auth.expiresAt.toISOString()).toBe(new Date((NOW + 3600) * 1000).toISOString())
    expect(JSON.stringify({ at: auth.expiresAt })).toBe(
      JSON.stringify({ at: new Date((NOW + 3600) * 1000) }),
    )
    expect(auth.expiresAt.getTime() - Date.now()).toBe(3600 * 1000)
  })
})

describe('deepFreeze', () => {
  it('freezes a nesting far deeper than the call stack allows recursion', () => {
    const depth = 200_000
    const value = JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown[]
    deepFreeze(value)
    let level: unknown = value
    let frozen = 0
    for (let i = 0; i < depth; i++) {
      if (Object.isFrozen(level)) frozen++
      level = (level as unknown[])[0]
    }
    expect(frozen).toBe(depth)
  })

  it('freezes an own __proto__ member that JSON.parse made', () => {
    const value = JSON.parse('{"__proto__":{"polluted":[1]}}') as Record<string, unknown>
    deepFreeze(value)
    const own = Object.getOwnPropertyDescriptor(value, '__proto__')?.value as { polluted: number[] }
    expect(Object.isFrozen(own)).toBe(true)
    expect(Object.isFrozen(own.polluted)).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('ImmutableDate', () => {
  it('refuses every setter Date.prototype has', () => {
    const date = new ImmutableDate(0)
    // The real Date.prototype: the fake timers of this file replace the global Date.
    const realDate = Object.getPrototypeOf(ImmutableDate.prototype) as object
    const setters = Object.getOwnPropertyNames(realDate).filter((n) => n.startsWith('set'))
    expect(setters.length).toBeGreaterThanOrEqual(14)
    for (const name of setters) {
      expect(() => (date as unknown as Record<string, (v: number) => void>)[name]?.(1)).toThrow(
        TypeError,
      )
    }
    expect(date.getTime()).toBe(0)
  })
})
