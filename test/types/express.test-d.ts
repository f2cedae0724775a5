import express, { type RequestHandler } from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type AuthenticateOptions,
  type AuthInfo,
  authenticate,
  requireAnyRole,
  requireAnyScope,
  requireClaims,
  requireRoles,
  requireScopes,
  requireScopesOrRoles,
  type Validator,
  type ValidatorOptions,
} from '../../adapters/express.js'
import type { AuthInfo as CoreAuthInfo } from '../../src/index.js'

declare const validator: Validator
declare const options: ValidatorOptions

describe('Express adapter types', () => {
  it('types req.auth as AuthInfo | undefined in handlers', () => {
    const app = express()
    app.use(authenticate(validator))
    app.get('/', requireScopes('Files.Read'), (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthInfo | undefined>()
      res.json({ subject: req.auth?.subject })
    })
    express.Router().get('/', (req) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthInfo | undefined>()
    })
  })

  it('types req.auth on the Request type itself', () => {
    expectTypeOf<express.Request['auth']>().toEqualTypeOf<AuthInfo | undefined>()
  })

  it('re-exports the core AuthInfo', () => {
    expectTypeOf<AuthInfo>().toEqualTypeOf<CoreAuthInfo>()
  })

  it('returns Express request handlers', () => {
    expectTypeOf(authenticate(validator)).toEqualTypeOf<RequestHandler>()
    expectTypeOf(authenticate(options)).toEqualTypeOf<RequestHandler>()
    expectTypeOf(
      authenticate(validator, { credentialsRequired: false }),
    ).toEqualTypeOf<RequestHandler>()
    expectTypeOf(authenticate).parameter(1).toEqualTypeOf<AuthenticateOptions | undefined>()
  })

  it('accepts every guard form', () => {
    expectTypeOf(requireScopes('a', 'b')).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireScopes(['a', 'b'], { match: 'any' })).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireAnyScope('a', 'b')).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireRoles('Admin')).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireRoles(['A', 'B'], { match: 'all' })).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireAnyRole('A', 'B')).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireScopesOrRoles('Data.Read', 'Data.Read.All')).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireScopesOrRoles(['a'], ['b'])).toEqualTypeOf<RequestHandler>()
    expectTypeOf(
      requireScopesOrRoles({ scopes: ['a'], roles: ['b'] }),
    ).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireClaims((auth) => auth.appOnly, 'apps only')).toEqualTypeOf<RequestHandler>()
  })

  it('refuses what is not options or a validator', () => {
    // @ts-expect-error a string is neither validator options nor a validator
    authenticate('https://issuer.example/')
    // @ts-expect-error credentialsRequired is a boolean
    authenticate(validator, { credentialsRequired: 'no' })
    // @ts-expect-error requireScopes takes names, not a number
    requireScopes(42)
  })
})
