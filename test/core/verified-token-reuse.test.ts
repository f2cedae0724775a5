/**
 * When the validator may answer a token from an earlier verification (the same AuthInfo object)
 * and when it must check again; and how rejection hooks keep the original error.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type BearerGuardEvent,
  createValidator,
  InvalidTokenError,
  type ValidatorOptions,
} from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { rejectionOf } from './support.js'

function validatorWith(extra: Partial<ValidatorOptions> = {}) {
  return createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: toJwks(rsaKey),
    ...extra,
  } as ValidatorOptions)
}

function at(seconds: number): void {
  vi.setSystemTime((NOW + seconds) * 1000)
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  at(0)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('reusing a verification (token cache)', () => {
  it('reuses it until iat + maxTokenAge + clockTolerance, then refuses the token as too old', async () => {
    const validator = validatorWith({ maxTokenAge: 600 })
    const token = await mintToken()
    const first = await validator.verify(token)
    at(659)
    expect(await validator.verify(token)).toBe(first)
    at(660)
    const again = await validator.verify(token)
    expect(again).not.toBe(first)
    at(661)
    expect((await rejectionOf(validator.verify(token))).reason).toBe('too_old')
  })

  it('reuses it until exp, then verifies again within the clock tolerance', async () => {
    const validator = validatorWith()
    const token = await mintToken({ claims: { exp: NOW + 100 } })
    const first = await validator.verify(token)
    at(99)
    expect(await validator.verify(token)).toBe(first)
    at(100)
    expect(await validator.verify(token)).not.toBe(first)
    at(160)
    expect((await rejectionOf(validator.verify(token))).reason).toBe('expired')
  })

  it('checks nbf again when the clock goes back, even for a token it verified', async () => {
    const validator = validatorWith()
    const token = await mintToken({ claims: { nbf: NOW + 30, iat: NOW - 100 } })
    await validator.verify(token)
    at(-40)
    expect((await rejectionOf(validator.verify(token))).reason).toBe('not_yet_valid')
  })

  it('checks iat again when the clock goes back, even for a token it verified', async () => {
    const validator = validatorWith()
    const token = await mintToken({ claims: { nbf: NOW - 100, iat: NOW + 30 } })
    await validator.verify(token)
    at(-40)
    expect((await rejectionOf(validator.verify(token))).reason).toBe('issued_in_future')
  })

  it('reuses it from nbf - clockTolerance on', async () => {
    const validator = validatorWith()
    const token = await mintToken({ claims: { nbf: NOW + 30, iat: NOW - 100 } })
    const first = await validator.verify(token)
    at(-30)
    expect(await validator.verify(token)).toBe(first)
  })
})

describe('signing keys with an issuer member', () => {
  it('ignores the member when no signingKeyIssuer rule is set', async () => {
    const validator = validatorWith({
      keys: [{ ...rsaKey.publicJwk, issuer: 'https://someone-else.example/' }],
    })
    expect((await validator.verify(await mintToken())).subject).toBe('user-123')
  })
})

describe('describeRejection', () => {
  it('keeps the original error when the hook gives back the standard description', async () => {
    const validator = validatorWith({
      describeRejection: () => 'the token audience (aud) is not this API',
    })
    const error = await rejectionOf(validator.verify(await mintToken({ claims: { aud: 'x' } })))
    expect(error.message).toBe('the token audience (aud) is not this API')
    expect(error.cause).toBeUndefined()
  })

  it('keeps the original error as the cause of a new description', async () => {
    const validator = validatorWith({ describeRejection: () => 'ask for a token for api://orders' })
    const error = await rejectionOf(validator.verify(await mintToken({ claims: { aud: 'x' } })))
    expect(error.message).toBe('ask for a token for api://orders')
    expect(error.reason).toBe('wrong_audience')
    expect(error.cause).toBeInstanceOf(InvalidTokenError)
    expect((error.cause as Error).message).toBe('the token audience (aud) is not this API')
  })
})

describe('onEvent and errors that are not rejections', () => {
  it('reports no token_rejected event for an error thrown by the caller own issuer rule', async () => {
    const events: BearerGuardEvent[] = []
    const boom = new Error('issuer rule failed')
    const validator = validatorWith({
      issuer: () => {
        throw boom
      },
      onEvent: (event) => events.push(event),
    })
    await expect(validator.verify(await mintToken())).rejects.toBe(boom)
    expect(events).toEqual([])
    await rejectionOf(validator.verify('a.b.c'))
    expect(events.map((event) => event.type)).toEqual(['token_rejected'])
  })
})
