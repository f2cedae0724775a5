import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type AuthInfo,
  createValidator,
  InsufficientScopeError,
  requireClaims,
  UnauthorizedError,
} from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { insufficientScope, thrownBy } from './support.js'

const validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })
const DEFAULT = 'the token does not meet the requirements of this resource'

async function authWith(claims: Record<string, unknown>, by = validator): Promise<AuthInfo> {
  return by.verify(await mintToken({ claims }))
}

function forbidden(fn: () => unknown): InsufficientScopeError {
  const error = thrownBy(fn)
  expect(error).toBeInstanceOf(InsufficientScopeError)
  const e = error as InsufficientScopeError
  expect(e.status).toBe(403)
  expect(e.code).toBe('insufficient_scope')
  expect(e.reason).toBe('invalid_claim')
  expect(e.scopes).toEqual([])
  return e
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('requireClaims', () => {
  it('passes when the predicate returns true, and hands it the verified AuthInfo', async () => {
    const auth = await authWith({ department: 'finance' })
    const seen: AuthInfo[] = []
    const guard = requireClaims((a) => {
      seen.push(a)
      return a.claims.department === 'finance'
    })
    expect(() => guard(auth)).not.toThrow()
    expect(seen).toEqual([auth])
  })

  it('answers 403 insufficient_scope with the default description when it returns false', async () => {
    const auth = await authWith({ department: 'sales' })
    const error = forbidden(() => requireClaims((a) => a.claims.department === 'finance')(auth))
    expect(error.headers['WWW-Authenticate']).toBe(insufficientScope(DEFAULT))
  })

  it('answers 403 for a truthy value that is not true', async () => {
    const auth = await authWith({})
    const truthy = requireClaims((() => 'yes') as unknown as (a: AuthInfo) => boolean)
    forbidden(() => truthy(auth))
  })

  it('uses the given description, sanitised for the challenge', async () => {
    const auth = await authWith({})
    const error = forbidden(() => requireClaims(() => false, 'finance "staff" only\n')(auth))
    expect(error.message).toBe('finance "staff" only\n')
    expect(error.headers['WWW-Authenticate']).toBe(insufficientScope("finance 'staff' only?"))
  })

  it('names the realm of the validator that verified the token', async () => {
    const orders = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: toJwks(rsaKey),
      realm: 'orders',
    })
    const auth = await authWith({}, orders)
    const error = forbidden(() => requireClaims(() => false)(auth))
    expect(error.headers['WWW-Authenticate']).toBe(insufficientScope(DEFAULT, undefined, 'orders'))
  })

  it('answers 401 without calling the predicate when no authentication ran', () => {
    let called = false
    const error = thrownBy(() =>
      requireClaims(() => {
        called = true
        return true
      })(undefined),
    )
    expect(called).toBe(false)
    expect(error).toBeInstanceOf(UnauthorizedError)
    expect((error as UnauthorizedError).status).toBe(401)
    expect((error as UnauthorizedError).headers['WWW-Authenticate']).toBe('Bearer realm="api"')
  })

  it.each([[undefined], ['department'], [{}], [null]])(
    'throws a TypeError when created with %j instead of a function',
    (predicate) => {
      expect(() => requireClaims(predicate as unknown as (a: AuthInfo) => boolean)).toThrow(
        TypeError,
      )
    },
  )
})
