import { Hono, type MiddlewareHandler } from 'hono'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type AuthInfo,
  authenticate,
  type BearerGuardEnv,
  type OptionalBearerGuardEnv,
  requireAnyRole,
  requireAnyScope,
  requireClaims,
  requireRoles,
  requireScopes,
  requireScopesOrRoles,
  type Validator,
  type ValidatorOptions,
} from '../../adapters/hono.js'
import type { AuthInfo as CoreAuthInfo } from '../../src/index.js'

declare const validator: Validator
declare const options: ValidatorOptions

type Guard = MiddlewareHandler<OptionalBearerGuardEnv>

describe('Hono adapter types', () => {
  it("types c.get('auth') as AuthInfo in a Hono<BearerGuardEnv>", () => {
    const app = new Hono<BearerGuardEnv>()
    app.use(authenticate(validator))
    app.get('/', (c) => {
      expectTypeOf(c.get('auth')).toEqualTypeOf<AuthInfo>()
      expectTypeOf(c.var.auth.scopes).toEqualTypeOf<readonly string[]>()
      return c.json({ subject: c.get('auth').subject })
    })
  })

  it("infers c.get('auth') from the route's middleware", () => {
    new Hono().get('/', authenticate(validator), requireScopes('Files.Read'), (c) => {
      expectTypeOf(c.get('auth')).toEqualTypeOf<AuthInfo>()
      return c.text('ok')
    })
    new Hono().get('/', authenticate(validator, { credentialsRequired: false }), (c) => {
      expectTypeOf(c.get('auth')).toEqualTypeOf<AuthInfo | undefined>()
      return c.text('ok')
    })
  })

  it('re-exports the core AuthInfo', () => {
    expectTypeOf<AuthInfo>().toEqualTypeOf<CoreAuthInfo>()
  })

  it('returns middleware typed with the Env it provides', () => {
    expectTypeOf(authenticate(validator)).toEqualTypeOf<MiddlewareHandler<BearerGuardEnv>>()
    expectTypeOf(authenticate(options)).toEqualTypeOf<MiddlewareHandler<BearerGuardEnv>>()
    expectTypeOf(authenticate(validator, { credentialsRequired: true })).toEqualTypeOf<
      MiddlewareHandler<BearerGuardEnv>
    >()
    expectTypeOf(authenticate(validator, { credentialsRequired: false })).toEqualTypeOf<
      MiddlewareHandler<OptionalBearerGuardEnv>
    >()
    const flag = Math.random() > 0.5
    expectTypeOf(authenticate(validator, { credentialsRequired: flag })).toEqualTypeOf<
      MiddlewareHandler<OptionalBearerGuardEnv>
    >()
  })

  it('accepts every guard form', () => {
    expectTypeOf(requireScopes('a', 'b')).toEqualTypeOf<Guard>()
    expectTypeOf(requireScopes(['a', 'b'], { match: 'any' })).toEqualTypeOf<Guard>()
    expectTypeOf(requireAnyScope('a', 'b')).toEqualTypeOf<Guard>()
    expectTypeOf(requireRoles('Admin')).toEqualTypeOf<Guard>()
    expectTypeOf(requireAnyRole('A', 'B')).toEqualTypeOf<Guard>()
    expectTypeOf(requireScopesOrRoles('Data.Read', 'Data.Read.All')).toEqualTypeOf<Guard>()
    expectTypeOf(requireScopesOrRoles({ scopes: ['a'], roles: ['b'] })).toEqualTypeOf<Guard>()
    expectTypeOf(requireClaims((auth) => auth.tenantId === 't')).toEqualTypeOf<Guard>()
  })

  it('composes with app.use on a path and on routes', () => {
    const app = new Hono<BearerGuardEnv>()
    app.use('/api/*', authenticate(validator), requireAnyRole('Reader'))
    app.get('/api/x', requireRoles('Admin'), (c) => c.text(c.get('auth').issuer))
  })

  it('refuses what is not options or a validator', () => {
    // @ts-expect-error a string is neither validator options nor a validator
    authenticate('https://issuer.example/')
    // @ts-expect-error credentialsRequired is a boolean
    authenticate(validator, { credentialsRequired: 'no' })
    // @ts-expect-error requireClaims needs a predicate
    requireClaims('admin')
  })
})
