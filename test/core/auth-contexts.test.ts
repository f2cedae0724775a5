import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  authContextClaims,
  azureAd,
  createValidator,
  encodeClaims,
  hasClientCapability,
  InsufficientClaimsError,
  InsufficientScopeError,
  requireAuthContext,
  UnauthorizedError,
} from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { thrownBy } from './support.js'

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const CLIENT_ID = '6e74172b-be56-4843-9ff4-e66a39bb12e3'
// base64 of {"access_token":{"acrs":{"essential":true,"value":"c1"}}}, as Microsoft's samples have it.
const C1_CLAIMS = 'eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19'

// The Entra ID profile's authorize endpoint, with the test's static keys in place of the tenant's.
const entraLike = createValidator({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: toJwks(rsaKey),
  authorizationUri: azureAd({ tenant: TENANT, clientId: CLIENT_ID }).authorizationUri,
})
const plain = createValidator({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('requireAuthContext', () => {
  it("answers a cp1 client with Entra ID's claims challenge, naming the tenant's authorize endpoint", async () => {
    const auth = await entraLike.verify(await mintToken({ claims: { xms_cc: ['cp1'] } }))
    const error = thrownBy(() => requireAuthContext('c1')(auth)) as InsufficientClaimsError
    expect(error).toBeInstanceOf(InsufficientClaimsError)
    expect(error.status).toBe(401)
    expect(error.code).toBe('insufficient_claims')
    expect(error.reason).toBe('missing_auth_context')
    expect(error.claims).toBe('{"access_token":{"acrs":{"essential":true,"value":"c1"}}}')
    expect(error.headers['www-authenticate']).toBe(
      `Bearer realm="", authorization_uri="https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/authorize", error="insufficient_claims", claims="${C1_CLAIMS}"`,
    )
  })

  it('sends no authorization_uri for a validator without one', async () => {
    const auth = await plain.verify(await mintToken({ claims: { xms_cc: 'cp1 cp2' } }))
    const error = thrownBy(() => requireAuthContext('c1')(auth)) as InsufficientClaimsError
    expect(error.headers['www-authenticate']).toBe(
      `Bearer realm="", error="insufficient_claims", claims="${C1_CLAIMS}"`,
    )
  })

  it('answers 403 to a client without cp1, with no claims challenge', async () => {
    const auth = await entraLike.verify(await mintToken({ claims: { xms_cc: ['cp2'] } }))
    const error = thrownBy(() => requireAuthContext('c1')(auth)) as InsufficientScopeError
    expect(error).toBeInstanceOf(InsufficientScopeError)
    expect(error.status).toBe(403)
    expect(error.reason).toBe('missing_auth_context')
    expect(error.headers['www-authenticate']).not.toContain('claims=')
    expect(error.headers['www-authenticate']).not.toContain('authorization_uri')
  })

  it('passes when acrs holds the context, and answers 401 without authentication', async () => {
    const auth = await plain.verify(await mintToken({ claims: { acrs: ['c1'] } }))
    expect(requireAuthContext('c1')(auth)).toBeUndefined()
    expect(thrownBy(() => requireAuthContext('c1')(undefined))).toBeInstanceOf(UnauthorizedError)
  })

  it('refuses an id that could not be named in a claims request', () => {
    for (const id of ['', 'c 1', 'c"1', 42]) {
      expect(() => requireAuthContext(id as string)).toThrow(TypeError)
    }
  })
})

describe('hasClientCapability', () => {
  it('reads xms_cc as a string or an array, case-insensitively, and nothing else', () => {
    expect(hasClientCapability({ claims: { xms_cc: ['CP1'] } } as never)).toBe(true)
    expect(hasClientCapability({ claims: { xms_cc: 'cp1' } } as never)).toBe(true)
    expect(hasClientCapability({ claims: { xms_cc: ['cp10'] } } as never)).toBe(false)
    expect(hasClientCapability({ claims: { xms_cc: { cp1: true } } } as never)).toBe(false)
    expect(hasClientCapability({ claims: {} } as never)).toBe(false)
  })
})

describe('encodeClaims and authContextClaims', () => {
  it('encode the claims request as standard padded base64', () => {
    expect(encodeClaims(authContextClaims('c1'))).toBe(C1_CLAIMS)
    expect(encodeClaims('{"a":1}')).toBe('eyJhIjoxfQ==')
  })
})

describe('azureAd authorizationUri', () => {
  it('follows the cloud, the instance and the tenant, and can be set', () => {
    expect(azureAd({ tenant: TENANT, clientId: CLIENT_ID, cloud: 'china' }).authorizationUri).toBe(
      `https://login.partner.microsoftonline.cn/${TENANT}/oauth2/v2.0/authorize`,
    )
    expect(
      azureAd({ tenant: 'organizations', clientId: CLIENT_ID, allowedTenants: '*' })
        .authorizationUri,
    ).toBe('https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize')
    expect(
      azureAd({ tenant: TENANT, clientId: CLIENT_ID, instance: 'http://127.0.0.1:9/' })
        .authorizationUri,
    ).toBe(`http://127.0.0.1:9/${TENANT}/oauth2/v2.0/authorize`)
  })

  it('is checked as a URL by createValidator', () => {
    expect(() =>
      createValidator({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: toJwks(rsaKey),
        authorizationUri: 'http://evil.example/',
      }),
    ).toThrow('"authorizationUri" option must be an https URL')
  })
})
