import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type AuthInfo,
  createValidator,
  type Guard,
  InsufficientScopeError,
  requireAnyRole,
  requireRoles,
  requireScopesOrRoles,
  UnauthorizedError,
} from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { insufficientScope, thrownBy } from './support.js'

const validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })
const ordersValidator = createValidator({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: toJwks(rsaKey),
  realm: 'orders',
})

const EITHER =
  'the token has none of the delegated scopes or application permissions this resource accepts'

/** A verified AuthInfo for a token with these claims (scp removed unless given). */
async function authWith(claims: Record<string, unknown>, by = validator): Promise<AuthInfo> {
  return by.verify(await mintToken({ claims: { scp: undefined, ...claims } }))
}

/** An Entra ID app-only (client credentials) token. */
const appOnly = (roles: unknown) => authWith({ idtyp: 'app', azp: 'daemon', roles })
/** An Entra ID delegated (user) token. */
const delegated = (fields: Record<string, unknown>) => authWith({ idtyp: 'user', ...fields })

function expectForbidden(
  guard: Guard,
  auth: AuthInfo,
  reason: string,
  challenge: string,
  scopes: string[] = [],
) {
  const error = thrownBy(() => guard(auth))
  expect(error).toBeInstanceOf(InsufficientScopeError)
  const e = error as InsufficientScopeError
  expect({
    status: e.status,
    code: e.code,
    reason: e.reason,
    challenge: e.headers['WWW-Authenticate'],
    scopes: e.scopes,
  }).toEqual({ status: 403, code: 'insufficient_scope', reason, challenge, scopes })
}

function expectUnauthenticated(guard: Guard) {
  const error = thrownBy(() => guard(undefined))
  expect(error).toBeInstanceOf(UnauthorizedError)
  expect((error as UnauthorizedError).status).toBe(401)
  expect((error as UnauthorizedError).code).toBeUndefined()
  expect((error as UnauthorizedError).headers['WWW-Authenticate']).toBe('Bearer realm="api"')
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('requireRoles', () => {
  it('passes when roles carries every required role', async () => {
    const auth = await appOnly(['Orders.Admin', 'Orders.Read'])
    expect(() => requireRoles('Orders.Admin')(auth)).not.toThrow()
    expect(() => requireRoles('Orders.Admin', 'Orders.Read')(auth)).not.toThrow()
    expect(() => requireRoles(['Orders.Read', 'Orders.Admin'])(auth)).not.toThrow()
  })

  it('counts roles of a delegated token too (app roles of the user)', async () => {
    const auth = await delegated({ roles: ['Orders.Admin'], scp: 'Orders.Read' })
    expect(() => requireRoles('Orders.Admin')(auth)).not.toThrow()
  })

  it('reads roles given as a space-separated string', async () => {
    const auth = await authWith({ roles: 'Orders.Admin Orders.Read' })
    expect(auth.roles).toEqual(['Orders.Admin', 'Orders.Read'])
    expect(() => requireRoles('Orders.Read')(auth)).not.toThrow()
  })

  it('answers 403 naming the missing roles, without a scope parameter', async () => {
    const auth = await appOnly(['Orders.Read'])
    expectForbidden(
      requireRoles('Orders.Admin', 'Orders.Read'),
      auth,
      'missing_role',
      insufficientScope(
        'the token lacks a role this resource accepts: Orders.Admin and Orders.Read',
      ),
    )
  })

  it('never counts scopes as roles', async () => {
    const auth = await authWith({ scp: 'Orders.Admin', scope: 'Orders.Admin' })
    expectForbidden(
      requireRoles('Orders.Admin'),
      auth,
      'missing_role',
      insufficientScope('the token lacks a role this resource accepts: Orders.Admin'),
    )
  })

  it.each([
    [['orders.admin']],
    [['ORDERS.ADMIN']],
    [['Orders']],
    [['Orders.Admin.All']],
    [['Orders.Admi']],
    [[]],
  ])('refuses the near miss roles=%j for Orders.Admin', async (roles) => {
    const auth = await appOnly(roles)
    expectForbidden(
      requireRoles('Orders.Admin'),
      auth,
      'missing_role',
      insufficientScope('the token lacks a role this resource accepts: Orders.Admin'),
    )
  })

  it('passes on one of the roles with { match: "any" } and requireAnyRole', async () => {
    const auth = await appOnly(['Writer'])
    expect(() => requireRoles(['Reader', 'Writer'], { match: 'any' })(auth)).not.toThrow()
    expect(() => requireAnyRole('Reader', 'Writer')(auth)).not.toThrow()
    const none = await appOnly(['Guest'])
    expectForbidden(
      requireAnyRole('Reader', 'Writer'),
      none,
      'missing_role',
      insufficientScope('the token lacks every role this resource accepts: Reader or Writer'),
    )
  })

  it('answers 401 when no authentication ran', () => {
    expectUnauthenticated(requireRoles('a'))
    expectUnauthenticated(requireAnyRole('a'))
  })

  it('names the realm of the validator that verified the token', async () => {
    const auth = await authWith({ roles: [] }, ordersValidator)
    expectForbidden(
      requireRoles('a'),
      auth,
      'missing_role',
      insufficientScope('the token lacks a role this resource accepts: a', undefined, 'orders'),
    )
  })

  it.each([
    [[]],
    [['']],
    [['Orders Admin']],
    [['a"']],
    [['a\\']],
    [[7]],
    [[['a'], { match: 'one' }]],
  ])('throws a TypeError when created with the arguments %j', (args) => {
    expect(() => (requireRoles as (...a: unknown[]) => Guard)(...args)).toThrow(TypeError)
  })
})

describe('requireScopesOrRoles', () => {
  const guard = requireScopesOrRoles('Data.Read', 'Data.Read.All')
  const challenge = insufficientScope(EITHER, 'Data.Read')

  it('passes a delegated token that carries the scope', async () => {
    const subject = await delegated({ scp: 'Data.Read' })
    expect(() => guard(subject)).not.toThrow()
  })

  it('passes an app-only token that carries the application permission in roles', async () => {
    const subject = await appOnly(['Data.Read.All'])
    expect(() => guard(subject)).not.toThrow()
  })

  it('refuses a delegated token whose roles hold the permission name (user app roles)', async () => {
    const auth = await delegated({ scp: 'Other', roles: ['Data.Read.All'] })
    expect(auth.appOnly).toBe(false)
    expectForbidden(guard, auth, 'missing_scope', challenge, ['Data.Read'])
  })

  it('refuses an app-only token that has the scope name in roles (Entra ID carries no scp)', async () => {
    expectForbidden(guard, await appOnly(['Data.Read']), 'missing_scope', challenge, ['Data.Read'])
  })

  it('passes a client-credentials token that carries the scope in scope (Auth0, Okta)', async () => {
    const auth = await authWith({ gty: 'client-credentials', scope: 'Data.Read' })
    expect(() => guard(auth)).not.toThrow()
  })

  it('passes an app-only token recognised by gty or oid == sub', async () => {
    const byGty = await authWith({ gty: 'client-credentials', roles: ['Data.Read.All'] })
    expect(byGty.appOnly).toBe(true)
    expect(() => guard(byGty)).not.toThrow()
    const byOid = await authWith({ oid: 'user-123', roles: ['Data.Read.All'] })
    expect(byOid.appOnly).toBe(true)
    expect(() => guard(byOid)).not.toThrow()
  })

  it('refuses a token with neither', async () => {
    expectForbidden(guard, await appOnly(['Other']), 'missing_scope', challenge, ['Data.Read'])
    expectForbidden(guard, await delegated({ scp: 'data.read' }), 'missing_scope', challenge, [
      'Data.Read',
    ])
  })

  it('accepts lists and the object form, passing on any one name', async () => {
    const delegatedB = await delegated({ scp: 'B', roles: ['R1'] })
    const appR2 = await appOnly(['R2'])
    const lists = requireScopesOrRoles(['A', 'B'], ['R1', 'R2'])
    expect(() => lists(delegatedB)).not.toThrow()
    expect(() => lists(appR2)).not.toThrow()
    const object = requireScopesOrRoles({ scopes: ['A'], roles: ['R2'] })
    expect(() => object(appR2)).not.toThrow()
    expectForbidden(object, delegatedB, 'missing_scope', insufficientScope(EITHER, 'A'), ['A'])
  })

  it('has no scope parameter in its 403 when it names roles only', async () => {
    const rolesOnly = requireScopesOrRoles({ roles: ['R1'] })
    const delegatedR1 = await delegated({ scp: 'B', roles: ['R1'] })
    expectForbidden(rolesOnly, delegatedR1, 'missing_scope', insufficientScope(EITHER))
    const subject = await appOnly(['R1'])
    expect(() => rolesOnly(subject)).not.toThrow()
  })

  it('answers 401 when no authentication ran', () => {
    expectUnauthenticated(guard)
  })

  it.each([
    [[], undefined],
    [{}, undefined],
    [{ scopes: [], roles: [] }, undefined],
    ['a b', undefined],
    [['ok', 'not ok'], undefined],
    ['ok', 'a"b'],
    [{ scopes: [''] }, undefined],
    [{ roles: ['x\\y'] }, undefined],
  ])('throws a TypeError when created with %j and %j', (scopes, roles) => {
    expect(() => requireScopesOrRoles(scopes as string[], roles as string | undefined)).toThrow(
      TypeError,
    )
  })
})

describe('requireScopesOrRoles: bad arguments (issue #13, point 7)', () => {
  it.each([
    [
      [null],
      'requireScopesOrRoles needs scope names, a list of them, or { scopes, roles } as its first argument',
    ],
    [
      [42],
      'requireScopesOrRoles needs scope names, a list of them, or { scopes, roles } as its first argument',
    ],
    [[{ scopes: null }], 'requireScopesOrRoles: "scopes" must be a name or a list of names'],
    [[{ roles: 7 }], 'requireScopesOrRoles: "roles" must be a name or a list of names'],
    [[['Data.Read'], 5], 'requireScopesOrRoles: "roles" must be a name or a list of names'],
  ])('throws a TypeError naming the argument for %j', (args, message) => {
    expect(() => (requireScopesOrRoles as (...a: unknown[]) => unknown)(...args)).toThrow(
      new TypeError(message),
    )
  })

  it('still takes a single name in the object form', () => {
    expect(
      typeof requireScopesOrRoles({ scopes: 'Data.Read' as never, roles: 'Data.All' as never }),
    ).toBe('function')
  })
})
