import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  createValidator,
  InsufficientUserAuthenticationError,
  requireStepUp,
  UnauthorizedError,
} from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { thrownBy } from './support.js'

const validator = createValidator({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: toJwks(rsaKey),
  realm: 'orders',
})

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
})
afterEach(() => {
  vi.useRealTimers()
})

const authWith = async (claims: Record<string, unknown>) =>
  validator.verify(await mintToken({ claims }))

describe('requireStepUp', () => {
  it('answers insufficient_user_authentication with acr_values alone, in the validator realm', async () => {
    const guard = requireStepUp({ acrValues: ['phr', 'phrh'] })
    expect(guard(await authWith({ acr: 'phrh' }))).toBeUndefined()
    const auth = await authWith({ acr: 'pwd' })
    const error = thrownBy(() => guard(auth)) as InsufficientUserAuthenticationError
    expect(error).toBeInstanceOf(InsufficientUserAuthenticationError)
    expect(error.status).toBe(401)
    expect(error.code).toBe('insufficient_user_authentication')
    expect(error.reason).toBe('weak_authentication')
    expect(error.claim).toBe('acr')
    expect(error.headers['www-authenticate']).toBe(
      'Bearer realm="orders", error="insufficient_user_authentication", error_description="a different authentication level is required", acr_values="phr phrh"',
    )
  })

  it('answers with max_age alone when auth_time is too old, and passes at the limit', async () => {
    const guard = requireStepUp({ maxAge: 0 })
    expect(guard(await authWith({ auth_time: NOW }))).toBeUndefined()
    const auth = await authWith({ auth_time: NOW - 1 })
    const error = thrownBy(() => guard(auth)) as InsufficientUserAuthenticationError
    expect(error.reason).toBe('stale_authentication')
    expect(error.headers['www-authenticate']).toBe(
      'Bearer realm="orders", error="insufficient_user_authentication", error_description="a more recent authentication is required", max_age="0"',
    )
    const noTime = await authWith({ auth_time: 'yesterday' })
    expect(thrownBy(() => guard(noTime))).toBeInstanceOf(InsufficientUserAuthenticationError)
  })

  it('answers 401 without a challenge error when no authentication ran', () => {
    expect(thrownBy(() => requireStepUp({ maxAge: 60 })(undefined))).toBeInstanceOf(
      UnauthorizedError,
    )
  })

  it('checks its options when created', () => {
    expect(() => requireStepUp({})).toThrow('requireStepUp needs "acrValues", "maxAge" or both')
    expect(() => requireStepUp({ acrValues: [] })).toThrow(TypeError)
    expect(() => requireStepUp({ acrValues: ['a b'] })).toThrow(TypeError)
    expect(() => requireStepUp({ acrValues: 'x"y' })).toThrow(TypeError)
    expect(() => requireStepUp({ maxAge: -1 })).toThrow(TypeError)
    expect(() => requireStepUp({ maxAge: 1.5 })).toThrow(TypeError)
    expect(() => requireStepUp(null as never)).toThrow(TypeError)
  })
})
