import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type AuthInfo,
  createValidator,
  type Guard,
  InsufficientScopeError,
  parseScopes,
  requireAnyScope,
  requireScopes,
  UnauthorizedError,
} from '../../src/index.js'
import { ecKey, rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { insufficientScope, thrownBy } from './support.js'

const validator = createValidator({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: toJwks(rsaKey, ecKey),
})
const ordersValidator = createValidator({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: toJwks(rsaKey),
  realm: 'orders',
})

const ALL = 'the token lacks a scope this resource requires'
const ANY = 'the token has none of the scopes this resource accepts'

/** A verified AuthInfo for a token with these claims (scp removed unless given). */
async function authWith(claims: Record<string, unknown>, by = validator): Promise<AuthInfo> {
  return by.verify(await mintToken({ claims: { scp: undefined, ...claims } }))
}

function expectForbidden(guard: Guard, auth: AuthInfo, challenge: string, scopes: string[]) {
  const error = thrownBy(() => guard(auth))
  expect(error).toBeInstanceOf(InsufficientScopeError)
  const e = error as InsufficientScopeError
  expect({
    status: e.status,
    code: e.code,
    reason: e.reason,
    challenge: e.headers['WWW-Authenticate'],
    scopes: e.scopes,
  }).toEqual({
    status: 403,
    code: 'insufficient_scope',
    reason: 'missing_scope',
    challenge,
    scopes,
  })
  expect(e.expose).toBe(true)
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('parseScopes', () => {
  it.each([
    ['Files.Read', ['Files.Read']],
    ['Files.Read Files.Write', ['Files.Read', 'Files.Write']],
    ['  Files.Read   Files.Write  ', ['Files.Read', 'Files.Write']],
    ['', []],
    ['   ', []],
    ['a\tb', ['a\tb']],
    ['a a', ['a']],
    ['b a b  a c', ['b', 'a', 'c']],
    [
      ['x', 'y', 'x', ''],
      ['x', 'y'],
    ],
    [
      ['a', 'b'],
      ['a', 'b'],
    ],
    [
      ['a', '', 'b'],
      ['a', 'b'],
    ],
    [[], []],
  ])('parses %j into %j', (value, scopes) => {
    expect(parseScopes(value)).toEqual(scopes)
  })

  it.each([[42], [null], [true], [{ 0: 'a' }], [['a', 1]], [['a', null]], [[['a']]]])(
    'returns undefined for %j',
    (value) => {
      expect(parseScopes(value)).toBeUndefined()
    },
  )
})

describe('requireScopes', () => {
  it('passes when the token carries every required scope in scp', async () => {
    const auth = await authWith({ scp: 'Files.Read Files.Write Mail.Send' })
    expect(() => requireScopes('Files.Read')(auth)).not.toThrow()
    expect(() => requireScopes('Files.Read', 'Files.Write')(auth)).not.toThrow()
    expect(() => requireScopes(['Mail.Send', 'Files.Read'])(auth)).not.toThrow()
  })

  it('answers 403 naming every required scope when one is missing', async () => {
    const auth = await authWith({ scp: 'Files.Read' })
    expectForbidden(
      requireScopes('Files.Read', 'Files.Delete'),
      auth,
      insufficientScope(ALL, 'Files.Read Files.Delete'),
      ['Files.Read', 'Files.Delete'],
    )
  })

  it('answers 403 with scope="a b" when a token has no scope at all', async () => {
    const auth = await authWith({})
    expect(auth.scopes).toEqual([])
    expectForbidden(requireScopes('a', 'b'), auth, insufficientScope(ALL, 'a b'), ['a', 'b'])
  })

  it('matches scope names case-sensitively', async () => {
    const auth = await authWith({ scp: 'files.read FILES.READ' })
    expectForbidden(requireScopes('Files.Read'), auth, insufficientScope(ALL, 'Files.Read'), [
      'Files.Read',
    ])
  })

  it.each([
    ['Files', 'Files.Read'],
    ['Files.ReadWrite', 'Files.Read'],
    ['Files.Rea', 'Files.Read'],
    ['Files.Read.All', 'Files.Read'],
    ['xFiles.Read', 'Files.Read'],
    ['Files.Read,Files.Write', 'Files.Read'],
    ['Files.Read\tFiles.Write', 'Files.Read'],
  ])('refuses the near miss %j for the scope %j', async (scp, required) => {
    const auth = await authWith({ scp })
    expectForbidden(requireScopes(required), auth, insufficientScope(ALL, required), [required])
  })

  it('reads scp as an array of strings (Okta)', async () => {
    const auth = await authWith({ scp: ['orders:read', 'orders:write'] })
    expect(auth.scopes).toEqual(['orders:read', 'orders:write'])
    expect(() => requireScopes('orders:read', 'orders:write')(auth)).not.toThrow()
  })

  it('reads the scope claim as a space-separated string (Auth0, RFC 8693)', async () => {
    const auth = await authWith({ scope: 'read:messages write:messages' })
    expect(auth.scopes).toEqual(['read:messages', 'write:messages'])
    expect(() => requireScopes('write:messages')(auth)).not.toThrow()
  })

  it('combines scp and scope', async () => {
    const auth = await authWith({ scp: 'a b', scope: 'b c' })
    expect([...auth.scopes].sort()).toEqual(['a', 'b', 'c'])
    expect(() => requireScopes('a', 'c')(auth)).not.toThrow()
  })

  it('never counts roles as scopes', async () => {
    const auth = await authWith({ roles: ['Files.Read'] })
    expectForbidden(requireScopes('Files.Read'), auth, insufficientScope(ALL, 'Files.Read'), [
      'Files.Read',
    ])
  })

  it('passes on any one of the scopes with { match: "any" } and requireAnyScope', async () => {
    const auth = await authWith({ scp: 'Files.ReadWrite' })
    expect(() =>
      requireScopes(['Files.Read', 'Files.ReadWrite'], { match: 'any' })(auth),
    ).not.toThrow()
    expect(() => requireScopes('Files.ReadWrite', { match: 'any' })(auth)).not.toThrow()
    expect(() => requireAnyScope('Files.Read', 'Files.ReadWrite')(auth)).not.toThrow()
    expect(() => requireScopes(['Files.ReadWrite'], { match: 'all' })(auth)).not.toThrow()
  })

  it('answers 403 naming all accepted scopes when none of an any-of list is present', async () => {
    const auth = await authWith({ scp: 'Mail.Send' })
    const challenge = insufficientScope(ANY, 'Files.Read Files.ReadWrite')
    expectForbidden(requireAnyScope('Files.Read', 'Files.ReadWrite'), auth, challenge, [
      'Files.Read',
      'Files.ReadWrite',
    ])
    expectForbidden(
      requireScopes(['Files.Read', 'Files.ReadWrite'], { match: 'any' }),
      auth,
      challenge,
      ['Files.Read', 'Files.ReadWrite'],
    )
  })

  it('matches a scope given with its resource URI against the bare name Entra ID puts in scp', async () => {
    const bare = await authWith({ scp: 'Files.Read' })
    const full = await authWith({ scp: 'api://orders/Files.Read' })
    for (const auth of [bare, full]) {
      expect(() => requireScopes('api://orders/Files.Read')(auth)).not.toThrow()
      expect(() =>
        requireAnyScope('api://orders/Files.Write', 'api://orders/Files.Read')(auth),
      ).not.toThrow()
    }
    expect(() => requireScopes('https://contoso.example/orders/Files.Read')(bare)).not.toThrow()
  })

  it.each([
    ['Read', 'api://orders/Files.Read'],
    ['orders/Files.Read', 'api://orders/Files.Read'],
    ['Files.Read', 'api://orders/Files.ReadWrite'],
    ['files.read', 'api://orders/Files.Read'],
  ])('refuses scp %j for the scope %j, naming it whole in the challenge', async (scp, required) => {
    const auth = await authWith({ scp })
    expectForbidden(requireScopes(required), auth, insufficientScope(ALL, required), [required])
  })

  it('answers 401 without error code when no authentication ran', () => {
    for (const guard of [requireScopes('a'), requireAnyScope('a', 'b')]) {
      const error = thrownBy(() => guard(undefined))
      expect(error).toBeInstanceOf(UnauthorizedError)
      const e = error as UnauthorizedError
      expect(e.status).toBe(401)
      expect(e.code).toBeUndefined()
      expect(e.reason).toBe('not_authenticated')
      expect(e.headers['WWW-Authenticate']).toBe('Bearer realm="api"')
    }
  })

  it('names the realm of the validator that verified the token', async () => {
    const auth = await authWith({ scp: 'x' }, ordersValidator)
    expectForbidden(requireScopes('a'), auth, insufficientScope(ALL, 'a', 'orders'), ['a'])
  })

  it.each([
    [[]],
    [['']],
    [['a b']],
    [['a"b']],
    [['a\\b']],
    [['caf\u00e9']],
    [['a', ' ']],
    [[42]],
    [[null]],
    [[['a b']]],
    [[[], { match: 'any' }]],
    [[['a'], { match: 'ANY' }]],
    [[['a'], { match: 'some' }]],
  ] as unknown[][][])('throws a TypeError when created with the arguments %j', (args) => {
    expect(() => (requireScopes as (...a: unknown[]) => Guard)(...args)).toThrow(TypeError)
    const [first] = args
    if (args.length === 1 && Array.isArray(first)) {
      expect(() => (requireAnyScope as (...a: unknown[]) => Guard)(...first)).toThrow(TypeError)
    }
  })

  it('names the guard in its TypeError', () => {
    expect(() => requireScopes('a b')).toThrow(/requireScopes/)
  })
})
