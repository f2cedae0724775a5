/**
 * Every argument form the guards accept, created inside each test: names one by one, a list with
 * options, the object form of requireScopesOrRoles, and the forms that must fail at start-up.
 */
import { describe, expect, it } from 'vitest'
import {
  type AuthInfo,
  InsufficientScopeError,
  parseScopes,
  requireAnyRole,
  requireRoles,
  requireScopes,
  requireScopesOrRoles,
  UnauthorizedError,
} from '../../src/index.js'

function auth(scopes: string[], roles: string[] = [], appOnly = false): AuthInfo {
  return { scopes, roles, appOnly } as unknown as AuthInfo
}

function passes(guard: (a: AuthInfo | undefined) => void, subject: AuthInfo): boolean {
  try {
    guard(subject)
    return true
  } catch (error) {
    expect(error).toBeInstanceOf(InsufficientScopeError)
    return false
  }
}

describe('requireScopes argument forms', () => {
  it('names given one by one are all required', () => {
    const guard = requireScopes('A', 'B')
    expect(passes(guard, auth(['A', 'B']))).toBe(true)
    expect(passes(guard, auth(['A']))).toBe(false)
    expect(passes(guard, auth(['B']))).toBe(false)
  })

  it('one name and options: the options apply', () => {
    expect(passes(requireScopes('A', { match: 'any' }), auth(['A']))).toBe(true)
    expect(passes(requireScopes(['A', 'B'], { match: 'all' }), auth(['A']))).toBe(false)
    expect(passes(requireScopes(['A', 'B'], {}), auth(['B']))).toBe(false)
    expect(passes(requireScopes(['A', 'B'], { match: 'any' }), auth(['B']))).toBe(true)
  })

  it('refuses a list followed by more than the options', () => {
    const tooMany = [['A'], { match: 'any' }, 'B'] as unknown as string[]
    expect(() => requireScopes(...tooMany)).toThrow(TypeError)
  })

  it('refuses options that are not an object', () => {
    for (const options of ['any', 1, true]) {
      expect(() => requireScopes(['A'], options as never)).toThrow(
        'requireScopes: "match" option must be "all" or "any"',
      )
    }
  })

  it('a scope named with its resource URI also matches its bare name, and nothing else', () => {
    const guard = requireScopes('api://orders-app/Files.Read')
    expect(passes(guard, auth(['Files.Read']))).toBe(true)
    expect(passes(guard, auth(['api://orders-app/Files.Read']))).toBe(true)
    expect(passes(guard, auth(['Files.ReadWrite', 'api://orders-app']))).toBe(false)
    const plain = requireScopes('Files/Read')
    expect(passes(plain, auth(['Read']))).toBe(false)
  })

  it('a guard reached without authentication is a 401 with the default realm', () => {
    const error = (() => {
      try {
        requireScopes('A')(undefined)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(UnauthorizedError)
    expect((error as UnauthorizedError).headers['WWW-Authenticate']).toBe('Bearer realm="api"')
  })
})

describe('requireRoles descriptions', () => {
  it('names the roles, joined by "and" for all-of and "or" for any-of', () => {
    const all = (() => {
      try {
        requireRoles('A', 'B')(auth([], ['A']))
      } catch (e) {
        return e as InsufficientScopeError
      }
    })()
    expect(all?.message).toBe('the token lacks a role this resource accepts: A and B')
    expect(all?.reason).toBe('missing_role')
    const any = (() => {
      try {
        requireAnyRole('A', 'B')(auth([], ['C']))
      } catch (e) {
        return e as InsufficientScopeError
      }
    })()
    expect(any?.message).toBe('the token lacks every role this resource accepts: A or B')
  })
})

describe('requireScopesOrRoles argument forms', () => {
  it('the object form with scopes only', () => {
    const guard = requireScopesOrRoles({ scopes: ['S'] })
    expect(passes(guard, auth(['S']))).toBe(true)
    expect(passes(guard, auth([], ['S'], true))).toBe(false)
  })

  it('the object form with roles only', () => {
    const guard = requireScopesOrRoles({ roles: ['R'] })
    expect(passes(guard, auth([], ['R'], true))).toBe(true)
    expect(passes(guard, auth(['R']))).toBe(false)
    expect(passes(guard, auth([], ['R'], false))).toBe(false)
  })

  it('a list of scopes without roles', () => {
    const guard = requireScopesOrRoles(['S1', 'S2'])
    expect(passes(guard, auth(['S2']))).toBe(true)
    expect(passes(guard, auth([], ['S1'], true))).toBe(false)
  })

  it('empty lists on one side are allowed when the other names something', () => {
    expect(passes(requireScopesOrRoles([], ['R']), auth([], ['R'], true))).toBe(true)
    expect(passes(requireScopesOrRoles(['S'], []), auth(['S']))).toBe(true)
  })

  it.each([
    ['', 'R'],
    ['S', ''],
  ])('refuses an empty name given as a string: (%j, %j)', (scopes, roles) => {
    expect(() => requireScopesOrRoles(scopes, roles)).toThrow(TypeError)
  })
})

describe('parseScopes', () => {
  it('reads an empty string as no scope, and a single name as itself', () => {
    expect(parseScopes('')).toEqual([])
    expect(parseScopes('a')).toEqual(['a'])
    expect(parseScopes(' ')).toEqual([])
  })

  it.each([15, 16, 17, 40])(
    'drops repeats and empty names from a list of %i, keeping the first order',
    (length) => {
      const names = Array.from({ length }, (_, i) => (i % 3 === 2 ? '' : `s${i % 5}`))
      const expected = [...new Set(names)].filter((name) => name !== '')
      expect(parseScopes(names)).toEqual(expected)
      expect(parseScopes(names.join(' '))).toEqual(expected)
    },
  )

  it('leaves the list it is given alone and answers a plain array, even for a subclass', () => {
    class Names extends Array<string> {
      static override get [Symbol.species](): ArrayConstructor {
        throw new Error('species must not be read')
      }
    }
    const names = Names.from(['b', 'a', 'b', '']) as Names
    const parsed = parseScopes(names)
    expect(parsed).toEqual(['b', 'a'])
    expect(Object.getPrototypeOf(parsed)).toBe(Array.prototype)
    expect([...names]).toEqual(['b', 'a', 'b', ''])
  })
})
