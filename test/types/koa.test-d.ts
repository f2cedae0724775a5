import Router from '@koa/router'
import Koa, { type Middleware } from 'koa'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type AuthInfo,
  authenticate,
  type BearerGuardState,
  type OptionalBearerGuardState,
  requireAnyRole,
  requireAnyScope,
  requireClaims,
  requireRoles,
  requireScopes,
  requireScopesOrRoles,
  type Validator,
  type ValidatorOptions,
} from '../../adapters/koa.js'
import type { AuthInfo as CoreAuthInfo } from '../../src/index.js'

declare const validator: Validator
declare const options: ValidatorOptions

describe('Koa adapter types', () => {
  it('types ctx.state.auth as AuthInfo after app.use(authenticate(v))', () => {
    new Koa().use(authenticate(validator)).use((ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthInfo>()
      expectTypeOf(ctx.state.auth.scopes).toEqualTypeOf<readonly string[]>()
    })
  })

  it('types ctx.state.auth as possibly undefined when credentials are optional', () => {
    new Koa().use(authenticate(validator, { credentialsRequired: false })).use((ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthInfo | undefined>()
    })
  })

  it('re-exports the core AuthInfo', () => {
    expectTypeOf<AuthInfo>().toEqualTypeOf<CoreAuthInfo>()
  })

  it('returns Koa middleware typed with the state it provides', () => {
    expectTypeOf(authenticate(validator)).toEqualTypeOf<Middleware<BearerGuardState>>()
    expectTypeOf(authenticate(options)).toEqualTypeOf<Middleware<BearerGuardState>>()
    expectTypeOf(authenticate(validator, {})).toEqualTypeOf<Middleware<BearerGuardState>>()
    expectTypeOf(authenticate(validator, { credentialsRequired: true })).toEqualTypeOf<
      Middleware<BearerGuardState>
    >()
    expectTypeOf(authenticate(validator, { credentialsRequired: false })).toEqualTypeOf<
      Middleware<OptionalBearerGuardState>
    >()
    const flag = Math.random() > 0.5
    expectTypeOf(authenticate(validator, { credentialsRequired: flag })).toEqualTypeOf<
      Middleware<OptionalBearerGuardState>
    >()
  })

  it('accepts every guard form', () => {
    expectTypeOf(requireScopes('a', 'b')).toEqualTypeOf<Middleware<OptionalBearerGuardState>>()
    expectTypeOf(requireScopes(['a', 'b'], { match: 'any' })).toEqualTypeOf<
      Middleware<OptionalBearerGuardState>
    >()
    expectTypeOf(requireAnyScope('a', 'b')).toEqualTypeOf<Middleware<OptionalBearerGuardState>>()
    expectTypeOf(requireRoles('Admin')).toEqualTypeOf<Middleware<OptionalBearerGuardState>>()
    expectTypeOf(requireRoles(['A', 'B'], { match: 'all' })).toEqualTypeOf<
      Middleware<OptionalBearerGuardState>
    >()
    expectTypeOf(requireAnyRole('A', 'B')).toEqualTypeOf<Middleware<OptionalBearerGuardState>>()
    expectTypeOf(requireScopesOrRoles('Data.Read', 'Data.Read.All')).toEqualTypeOf<
      Middleware<OptionalBearerGuardState>
    >()
    expectTypeOf(requireScopesOrRoles({ scopes: ['a'], roles: ['b'] })).toEqualTypeOf<
      Middleware<OptionalBearerGuardState>
    >()
    expectTypeOf(requireClaims((auth) => auth.tenantId === 't')).toEqualTypeOf<
      Middleware<OptionalBearerGuardState>
    >()
  })

  it('composes guards on the app and on @koa/router routes', () => {
    new Koa()
      .use(authenticate(validator))
      .use(requireScopes('Files.Read'))
      .use((ctx) => {
        expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthInfo>()
      })
    new Router().get('/', authenticate(validator), requireRoles('Admin'), (ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthInfo>()
    })
    new Router<BearerGuardState>().get('/', requireScopes('Files.Read'), (ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthInfo>()
    })
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
