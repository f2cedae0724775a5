import { describe, expectTypeOf, it } from 'vitest'
import { authenticate as expressAuthenticate } from '../../adapters/express.js'
import { authenticate as fetchAuthenticate } from '../../adapters/fetch.js'
import { authenticate as koaAuthenticate } from '../../adapters/koa.js'
import {
  type AuthInfo,
  azureAd,
  createMultiIssuerValidator,
  inspectToken,
  type MultiIssuerOptions,
  type MultiIssuerValidator,
  type TokenInspection,
  type Validator,
} from '../../src/index.js'

declare const options: MultiIssuerOptions

describe('multi-issuer types', () => {
  it('is a Validator that every adapter takes, with its configurations by name', () => {
    const validator = createMultiIssuerValidator({
      issuers: {
        workforce: azureAd({ tenant: 'organizations', clientId: 'x', allowedTenants: '*' }),
        partners: { issuer: 'https://partner.example/', audience: 'api://orders' },
      },
    })
    expectTypeOf(validator).toExtend<Validator>()
    expectTypeOf(validator.issuers).toEqualTypeOf<ReadonlyMap<string, Validator>>()
    expressAuthenticate(validator)
    koaAuthenticate(validator)
    fetchAuthenticate(validator)
  })

  it('names the accepting configuration in AuthInfo and in an inspection', () => {
    expectTypeOf<AuthInfo['issuerName']>().toEqualTypeOf<string | undefined>()
    expectTypeOf(inspectToken('t', options)).toEqualTypeOf<Promise<TokenInspection>>()
    expectTypeOf<TokenInspection['issuerName']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<MultiIssuerValidator>().toExtend<Validator>()
  })
})
