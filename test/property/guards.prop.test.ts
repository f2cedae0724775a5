/**
 * The guards' contract, for any configuration and any AuthInfo (issue 6): creating a guard either
 * gives a guard or throws a `TypeError` at start-up; running one either returns or throws one of
 * the contract's errors (401 without an AuthInfo, 403 `insufficient_scope` otherwise), never
 * anything else, and passes exactly when the documented rule says so.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type AuthInfo,
  BearerGuardError,
  type Guard,
  InsufficientScopeError,
  requireAnyRole,
  requireAnyScope,
  requireClaims,
  requireRoles,
  requireScopes,
  requireScopesOrRoles,
  UnauthorizedError,
} from '../../src/index.js'

const plainName = fc.stringMatching(/^[A-Za-z0-9._-]{1,10}$/)
const qualifiedName = plainName.map((name) => `api://orders-app/${name}`)
/** Names as a configuration might hold them: mostly valid, sometimes not (space, quote, empty). */
const configName = fc.oneof(
  { weight: 6, arbitrary: plainName },
  { weight: 2, arbitrary: qualifiedName },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
)
/** What a token may carry in scp/scope/roles once parsed: any non-empty strings. */
const heldName = fc.oneof(
  { weight: 4, arbitrary: plainName },
  { weight: 1, arbitrary: qualifiedName },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }) },
)
const names = fc.array(configName, { maxLength: 4 })

type Kind = 'scopes' | 'anyScope' | 'roles' | 'anyRole' | 'scopesOrRoles'

/** One guard configuration: which factory, and the arguments it is called with. */
const guardConfig = fc.oneof(
  fc.record({
    kind: fc.constantFrom<Kind>('scopes', 'roles', 'anyScope', 'anyRole'),
    args: names.map((list) => list as unknown[]),
  }),
  fc.record({
    kind: fc.constantFrom<Kind>('scopes', 'roles'),
    args: fc.tuple(
      names,
      fc.oneof(
        fc.constant(undefined),
        fc.record({ match: fc.constantFrom('all', 'any', undefined) }),
        fc.record({ match: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) }),
      ),
    ),
  }),
  fc.record({
    kind: fc.constant<Kind>('scopesOrRoles'),
    args: fc.tuple(names, names),
  }),
)

/** An AuthInfo of the shape the validator makes, with arbitrary scopes, roles and claims. */
const authInfo = fc
  .record({
    scopes: fc.uniqueArray(heldName, { maxLength: 6 }),
    roles: fc.uniqueArray(heldName, { maxLength: 6 }),
    appOnly: fc.boolean(),
    claims: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), {
      maxKeys: 4,
    }),
  })
  .map(
    ({ scopes, roles, appOnly, claims }) =>
      Object.freeze({
        token: 'e30.e30.c2ln',
        header: { alg: 'RS256' },
        claims: { iss: 'https://issuer.example/', aud: 'api', exp: 2e9, ...claims },
        subject: 'user-1',
        issuer: 'https://issuer.example/',
        audience: ['api'],
        scopes: Object.freeze(scopes),
        roles: Object.freeze(roles),
        clientId: 'client-1',
        tenantId: undefined,
        appOnly,
        expiresAt: new Date(2e12),
        issuedAt: undefined,
      }) as unknown as AuthInfo,
  )
const maybeAuth = fc.option(authInfo, { nil: undefined, freq: 8 })

function create(kind: Kind, args: unknown[]): Guard {
  const call = <F extends (...a: never[]) => Guard>(factory: F) =>
    (factory as unknown as (...a: unknown[]) => Guard)(...args)
  switch (kind) {
    case 'scopes':
      return call(requireScopes)
    case 'anyScope':
      return call(requireAnyScope)
    case 'roles':
      return call(requireRoles)
    case 'anyRole':
      return call(requireAnyRole)
    case 'scopesOrRoles':
      return call(requireScopesOrRoles)
  }
}

// A scope named with its resource URI is also held under its bare name (DESIGN.md, Entra ID scp).
const QUALIFIED = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/.+\/([^/]+)$/

function holdsScope(held: readonly string[], name: string): boolean {
  const bare = QUALIFIED.exec(name)?.[1]
  return held.includes(name) || (bare !== undefined && held.includes(bare))
}

/** The documented rule: whether the guard made from `kind` and `args` lets `auth` through. */
function expectedVerdict(kind: Kind, args: unknown[], auth: AuthInfo): boolean {
  const [first, second] = args as [unknown, unknown]
  const listForm = Array.isArray(first) && args.length <= 2
  const list = (listForm ? first : args) as string[]
  const any =
    kind === 'anyScope' ||
    kind === 'anyRole' ||
    (listForm && (second as { match?: unknown } | undefined)?.match === 'any')
  const pick = (need: string[], holds: (name: string) => boolean) =>
    any ? need.some(holds) : need.every(holds)
  switch (kind) {
    case 'scopes':
    case 'anyScope':
      return pick(list, (name) => holdsScope(auth.scopes, name))
    case 'roles':
    case 'anyRole':
      return pick(list, (name) => auth.roles.includes(name))
    case 'scopesOrRoles': {
      const [scopes, roles] = args as [string[], string[]]
      return (
        scopes.some((name) => holdsScope(auth.scopes, name)) ||
        (auth.appOnly && roles.some((name) => auth.roles.includes(name)))
      )
    }
  }
}

/** Asserts that `error` is one of the errors a guard may throw, and returns it. */
function expectContractError(error: unknown, auth: AuthInfo | undefined): BearerGuardError {
  expect(error).toBeInstanceOf(BearerGuardError)
  const e = error as BearerGuardError
  const challenge = e.headers['WWW-Authenticate'] as string
  expect(e.expose).toBe(true)
  expect(challenge).toMatch(/^[\x20-\x7e]+$/)
  if (auth === undefined) {
    expect(e).toBeInstanceOf(UnauthorizedError)
    expect({ status: e.status, code: e.code, reason: e.reason, challenge }).toEqual({
      status: 401,
      code: undefined,
      reason: 'not_authenticated',
      challenge: 'Bearer realm="api"',
    })
  } else {
    expect(e).toBeInstanceOf(InsufficientScopeError)
    expect(e.status).toBe(403)
    expect(e.code).toBe('insufficient_scope')
    expect(['missing_scope', 'missing_role', 'invalid_claim']).toContain(e.reason)
    expect(challenge.startsWith('Bearer realm="api", error="insufficient_scope"')).toBe(true)
  }
  return e
}

describe('guards (property)', () => {
  it('for any configuration: a guard, or a TypeError at creation; never a guard that misbehaves', () => {
    fc.assert(
      fc.property(guardConfig, fc.array(maybeAuth, { maxLength: 4 }), (config, auths) => {
        let guard: Guard
        try {
          guard = create(config.kind, config.args)
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError)
          return
        }
        expect(typeof guard).toBe('function')
        for (const auth of auths) {
          let thrown: unknown
          let threw = false
          try {
            expect(guard(auth)).toBeUndefined()
          } catch (error) {
            threw = true
            thrown = error
          }
          if (!threw) {
            expect(auth).not.toBeUndefined()
            expect(expectedVerdict(config.kind, config.args, auth as AuthInfo)).toBe(true)
            continue
          }
          const error = expectContractError(thrown, auth)
          if (auth !== undefined) {
            expect(expectedVerdict(config.kind, config.args, auth)).toBe(false)
            if (config.kind === 'roles' || config.kind === 'anyRole') {
              expect(error.reason).toBe('missing_role')
            } else {
              expect(error.reason).toBe('missing_scope')
            }
          }
        }
      }),
      {
        numRuns: 600,
        examples: [
          [{ kind: 'scopes', args: [] }, [undefined]],
          [{ kind: 'scopes', args: ['a b'] }, [undefined]],
          [{ kind: 'scopesOrRoles', args: [[], []] }, [undefined]],
          [{ kind: 'roles', args: [['a'], { match: 'some' }] }, [undefined]],
        ],
      },
    )
  })

  it('refuses any invalid name or match option at creation, with a TypeError', () => {
    const badName = fc.oneof(
      fc.constant(''),
      fc.constantFrom('a b', 'a"b', 'a\\b', 'é', '\t'),
      fc.integer(),
      // Not an object: as the second of two arguments, any object (null and [] too) is read as
      // the options, so `requireScopes('a', null)` is `requireScopes('a')`.
      fc.boolean(),
    )
    fc.assert(
      fc.property(
        fc.constantFrom<Kind>('scopes', 'roles', 'anyScope', 'anyRole', 'scopesOrRoles'),
        fc.array(plainName, { maxLength: 3 }),
        badName,
        fc.nat(),
        (kind, good, bad, at) => {
          const list: unknown[] = [...good]
          list.splice(at % (good.length + 1), 0, bad)
          const args = kind === 'scopesOrRoles' ? [list, []] : list
          expect(() => create(kind, args)).toThrow(TypeError)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('requireClaims: passes only on a predicate answer of exactly true', () => {
    fc.assert(
      fc.property(fc.anything(), maybeAuth, (answer, auth) => {
        const guard = requireClaims(() => answer as boolean)
        let outcome: unknown = 'passed'
        try {
          guard(auth)
        } catch (error) {
          outcome = error
        }
        if (outcome === 'passed') {
          expect(answer).toBe(true)
          expect(auth).not.toBeUndefined()
        } else {
          const error = expectContractError(outcome, auth)
          if (auth !== undefined) {
            expect(answer).not.toBe(true)
            expect(error.reason).toBe('invalid_claim')
          }
        }
      }),
      {
        numRuns: 500,
        examples: [
          [1, undefined],
          ['true', undefined],
        ],
      },
    )
  })
})
