/**
 * `nbf`, `iat` and `sub` are optional (RFC 7519 §4.1): a token without them is accepted, one
 * with a value of the wrong type is not. The default test claims carry all three, so these
 * tokens leave them out on purpose.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createValidator, type Validator } from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { parsesAsSignature, rejectionOf } from './support.js'

let validator: Validator

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })
})
afterAll(() => {
  vi.useRealTimers()
})

describe('optional registered claims', () => {
  it.each([
    ['nbf', { nbf: undefined }],
    ['iat', { iat: undefined }],
    ['sub', { sub: undefined }],
    ['nbf, iat and sub', { nbf: undefined, iat: undefined, sub: undefined }],
  ])('accepts a token without %s', async (_, claims) => {
    const auth = await validator.verify(await mintToken({ claims }))
    expect(auth.issuer).toBe(ISSUER)
    expect(auth.issuedAt === undefined).toBe(!('iat' in auth.claims))
  })

  it.each([
    ['nbf', { nbf: String(NOW) }, 'the token nbf claim must be a number'],
    ['iat', { iat: null }, 'the token iat claim must be a number'],
    ['sub', { sub: 42 }, 'the token sub claim must be a string'],
  ])('refuses a token whose %s has the wrong type', async (_, claims, message) => {
    const error = await rejectionOf(validator.verify(await mintToken({ claims })))
    expect(error.reason).toBe('invalid_claim')
    expect(error.message).toBe(message)
  })
})

describe('parseToken on one segment (canonical unpadded base64url only)', () => {
  it.each(['A', 'AAAAA', 'AAAAAAAAA'])(
    'refuses %j: a length of 1 modulo 4 encodes no byte',
    (s) => {
      expect(parsesAsSignature(s)).toBe(false)
    },
  )

  it.each(['AA', 'AAA', 'AAAA', 'QQ', 'QUI', 'eyJ9'])('accepts %j', (s) => {
    expect(parsesAsSignature(s)).toBe(true)
  })

  it.each(['AB', 'AAB', 'QR', 'QUJ'])('refuses %j: its unused low bits are not zero', (s) => {
    expect(parsesAsSignature(s)).toBe(false)
  })
})
