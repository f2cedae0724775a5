import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type AuthInfo,
  InsufficientScopeError,
  parseScopes,
  requireAnyScope,
  requireScopes,
} from '../../src/index.js'

// NQCHAR = %x21 / %x23-5B / %x5D-7E (RFC 6749 appendix A): a scope token.
const scopeToken = fc.stringMatching(/^[\x21\x23-\x5b\x5d-\x7e]{1,20}$/)
/** Scope names without a URI form, so a guard matches them exactly. */
const plainScope = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/)
const scopeSet = fc.uniqueArray(scopeToken, { maxLength: 12 })

/** The model parseScopes is held to: the non-empty items, each once, in first order. */
function distinctNonEmpty(items: readonly string[]): string[] {
  return [...new Set(items)].filter((item) => item !== '')
}

/** The smallest AuthInfo a guard reads: its scopes. */
function authWith(scopes: string[]): AuthInfo {
  return { scopes: Object.freeze(scopes), roles: [] } as unknown as AuthInfo
}

describe('parseScopes (property)', () => {
  it('parse(join(set)) equals the set, in order', () => {
    fc.assert(
      fc.property(scopeSet, (set) => {
        expect(parseScopes(set.join(' '))).toEqual(set)
      }),
      { numRuns: 1_000, examples: [[[]], [['a']], [['!', '~']]] },
    )
  })

  it('gives the set back whatever the runs of spaces around and between the tokens', () => {
    const gap = fc.integer({ min: 1, max: 4 }).map((n) => ' '.repeat(n))
    fc.assert(
      fc.property(scopeSet, gap, gap, fc.boolean(), (set, between, edge, padded) => {
        const text = set.join(between)
        expect(parseScopes(padded ? `${edge}${text}${edge}` : text)).toEqual(set)
      }),
      { numRuns: 500 },
    )
  })

  it('never yields an empty token, nor a token holding a space, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        const scopes = parseScopes(text) as string[]
        expect(Array.isArray(scopes)).toBe(true)
        for (const scope of scopes) {
          expect(scope).not.toBe('')
          expect(scope).not.toContain(' ')
        }
        expect(scopes).toEqual(distinctNonEmpty(text.split(' ')))
      }),
      { numRuns: 1_000, examples: [[''], [' '], ['a  b'], ['\t a'], ['a b a']] },
    )
  })

  it('reads an array of strings as its distinct non-empty items, and refuses any other array', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constant(''))), (items) => {
        expect(parseScopes(items)).toEqual(distinctNonEmpty(items))
      }),
      { numRuns: 300, examples: [[['%', '%']], [['a', '', 'a', 'b']]] },
    )
    fc.assert(
      fc.property(
        fc.array(fc.string()),
        fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.object()),
        fc.nat(),
        (items, odd, at) => {
          const mixed = [...items]
          mixed.splice(at % (items.length + 1), 0, odd as unknown as string)
          expect(parseScopes(mixed)).toBeUndefined()
        },
      ),
      { numRuns: 300 },
    )
  })

  it('refuses any value that is neither a string nor an array', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.object()),
        (value) => {
          expect(parseScopes(value)).toBeUndefined()
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('requireScopes (property)', () => {
  it('passes exactly when every required scope is held (all-of) or any is (any-of)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(plainScope, { maxLength: 8 }),
        fc.uniqueArray(plainScope, { minLength: 1, maxLength: 4 }),
        (have, need) => {
          const auth = authWith(have)
          const all = need.every((scope) => have.includes(scope))
          const any = need.some((scope) => have.includes(scope))
          for (const [guard, passes] of [
            [requireScopes(...need), all],
            [requireScopes(need, { match: 'any' }), any],
            [requireAnyScope(...need), any],
          ] as const) {
            if (passes) {
              expect(() => guard(auth)).not.toThrow()
            } else {
              expect(() => guard(auth)).toThrow(InsufficientScopeError)
            }
          }
        },
      ),
      {
        numRuns: 1_000,
        examples: [
          [[], ['a']],
          [['A'], ['a']],
          [['Files.ReadWrite'], ['Files.Read']],
        ],
      },
    )
  })

  it('names the required scopes in the 403 challenge', () => {
    fc.assert(
      fc.property(fc.uniqueArray(scopeToken, { minLength: 1, maxLength: 5 }), (need) => {
        try {
          requireScopes(...need)(authWith([]))
        } catch (error) {
          expect((error as InsufficientScopeError).headers['WWW-Authenticate']).toBe(
            `Bearer realm="api", error="insufficient_scope", error_description="the token lacks a scope this resource requires", scope="${need.join(' ')}"`,
          )
          return
        }
        throw new Error('expected a 403')
      }),
      { numRuns: 300 },
    )
  })
})
