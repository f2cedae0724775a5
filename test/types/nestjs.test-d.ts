import type { CanActivate, DynamicModule, ExceptionFilter } from '@nestjs/common'
import { describe, expectTypeOf, it } from 'vitest'
import {
  Auth,
  type AuthInfo,
  type BearerAuthGuard,
  type BearerGuardExceptionFilter,
  BearerGuardModule,
  type BearerGuardRequest,
  RequireAnyRole,
  RequireAnyScope,
  RequireClaims,
  RequireRoles,
  RequireScopes,
  RequireScopesOrRoles,
  type Validator,
  type ValidatorOptions,
} from '../../adapters/nestjs.js'
import type { BearerGuardError, AuthInfo as CoreAuthInfo } from '../../src/index.js'

declare const validator: Validator
declare const options: ValidatorOptions

type Decorator = ClassDecorator & MethodDecorator

describe('NestJS adapter types', () => {
  it('makes class-and-method decorators of the guards, with the guards’ arguments', () => {
    expectTypeOf(RequireScopes('Files.Read')).toEqualTypeOf<Decorator>()
    expectTypeOf(RequireScopes(['a', 'b'], { match: 'any' })).toEqualTypeOf<Decorator>()
    expectTypeOf(RequireAnyScope('a', 'b')).toEqualTypeOf<Decorator>()
    expectTypeOf(RequireRoles('Admin')).toEqualTypeOf<Decorator>()
    expectTypeOf(RequireAnyRole('a', 'b')).toEqualTypeOf<Decorator>()
    expectTypeOf(RequireScopesOrRoles('Data.Read', 'Data.Read.All')).toEqualTypeOf<Decorator>()
    expectTypeOf(RequireScopesOrRoles({ scopes: ['a'], roles: ['b'] })).toEqualTypeOf<Decorator>()
    expectTypeOf(RequireClaims((auth) => auth.tenantId === 't')).toEqualTypeOf<Decorator>()
    // @ts-expect-error a match that is neither all nor any
    RequireScopes(['a'], { match: 'some' })
  })

  it('gives @Auth() as a parameter decorator and req.auth as the core AuthInfo', () => {
    expectTypeOf(Auth()).toEqualTypeOf<ParameterDecorator>()
    expectTypeOf<BearerGuardRequest['auth']>().toEqualTypeOf<CoreAuthInfo | undefined>()
    expectTypeOf<AuthInfo>().toEqualTypeOf<CoreAuthInfo>()
  })

  it('takes options or a validator in forRoot, and a factory of either in forRootAsync', () => {
    expectTypeOf(BearerGuardModule.forRoot(validator)).toEqualTypeOf<DynamicModule>()
    expectTypeOf(
      BearerGuardModule.forRoot(options, { credentialsRequired: false }),
    ).toEqualTypeOf<DynamicModule>()
    BearerGuardModule.forRootAsync({
      inject: ['CONFIG'],
      useFactory: (jwksUri: string) => ({ ...options, jwksUri }),
    })
    BearerGuardModule.forRootAsync({ useFactory: async () => validator })
    // @ts-expect-error a factory must give options or a validator
    BearerGuardModule.forRootAsync({ useFactory: () => 42 })
  })

  it('implements Nest’s guard and filter interfaces', () => {
    expectTypeOf<BearerAuthGuard>().toMatchTypeOf<CanActivate>()
    expectTypeOf<BearerGuardExceptionFilter>().toMatchTypeOf<ExceptionFilter<BearerGuardError>>()
  })
})
