import Fastify, { type FastifyRequest, type onRequestAsyncHookHandler } from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type AuthInfo,
  authenticate,
  type BearerGuardHook,
  type BearerGuardPluginOptions,
  bearerGuard,
  requireAnyRole,
  requireAnyScope,
  requireClaims,
  requireRoles,
  requireScopes,
  requireScopesOrRoles,
  type Validator,
  type ValidatorOptions,
} from '../../adapters/fastify.js'
import type { AuthInfo as CoreAuthInfo } from '../../src/index.js'

declare const validator: Validator
declare const options: ValidatorOptions

describe('Fastify adapter types', () => {
  it('types request.auth as AuthInfo | undefined by declaration merging', () => {
    expectTypeOf<FastifyRequest['auth']>().toEqualTypeOf<AuthInfo | undefined>()
    const app = Fastify()
    app.get('/', { preHandler: requireScopes('Files.Read') }, async (request) => {
      expectTypeOf(request.auth).toEqualTypeOf<AuthInfo | undefined>()
      return { subject: request.auth?.subject }
    })
  })

  it('re-exports the core AuthInfo', () => {
    expectTypeOf<AuthInfo>().toEqualTypeOf<CoreAuthInfo>()
  })

  it('returns hooks usable as onRequest or preHandler, on routes and with addHook', () => {
    expectTypeOf(authenticate(validator)).toEqualTypeOf<BearerGuardHook>()
    expectTypeOf(
      authenticate(options, { credentialsRequired: false }),
    ).toEqualTypeOf<BearerGuardHook>()
    expectTypeOf(authenticate(validator)).toExtend<onRequestAsyncHookHandler>()
    const app = Fastify()
    app.addHook('onRequest', authenticate(validator))
    app.addHook('preHandler', authenticate(validator))
    app.addHook('preHandler', requireRoles('Admin'))
    app.get(
      '/',
      {
        onRequest: [authenticate(validator)],
        preHandler: [requireScopes('a'), requireAnyRole('b')],
      },
      async () => 'ok',
    )
    app.route({ method: 'GET', url: '/x', preHandler: authenticate(validator), handler: () => '' })
    app.get<{ Params: { id: string } }>(
      '/orders/:id',
      { preHandler: requireRoles('Orders.Admin') },
      async (request) => request.params.id,
    )
  })

  it('accepts every guard form', () => {
    expectTypeOf(requireScopes('a', 'b')).toEqualTypeOf<BearerGuardHook>()
    expectTypeOf(requireScopes(['a', 'b'], { match: 'any' })).toEqualTypeOf<BearerGuardHook>()
    expectTypeOf(requireAnyScope('a', 'b')).toEqualTypeOf<BearerGuardHook>()
    expectTypeOf(requireRoles(['A', 'B'], { match: 'all' })).toEqualTypeOf<BearerGuardHook>()
    expectTypeOf(requireAnyRole('A', 'B')).toEqualTypeOf<BearerGuardHook>()
    expectTypeOf(
      requireScopesOrRoles('Data.Read', 'Data.Read.All'),
    ).toEqualTypeOf<BearerGuardHook>()
    expectTypeOf(
      requireScopesOrRoles({ scopes: ['a'], roles: ['b'] }),
    ).toEqualTypeOf<BearerGuardHook>()
    expectTypeOf(
      requireClaims((auth) => auth.appOnly, 'apps only'),
    ).toEqualTypeOf<BearerGuardHook>()
  })

  it('registers the plugin with a validator or with validator options', () => {
    const app = Fastify()
    app.register(bearerGuard, { validator })
    app.register(bearerGuard, { validator, credentialsRequired: false })
    app.register(bearerGuard, options)
    app.register(bearerGuard, { ...options, credentialsRequired: false })
    expectTypeOf<{ validator: Validator }>().toExtend<BearerGuardPluginOptions>()
    expectTypeOf<ValidatorOptions>().toExtend<BearerGuardPluginOptions>()
  })

  it('refuses what is not options or a validator', () => {
    // @ts-expect-error a string is neither validator options nor a validator
    authenticate('https://issuer.example/')
    // @ts-expect-error credentialsRequired is a boolean
    authenticate(validator, { credentialsRequired: 'no' })
    // @ts-expect-error requireScopes takes names, not a number
    requireScopes(42)
    // @ts-expect-error the plugin needs a validator or validator options
    Fastify().register(bearerGuard, { credentialsRequired: false })
  })
})
