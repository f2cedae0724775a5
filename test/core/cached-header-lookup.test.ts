/**
 * The verified-token cache is looked up before the Authorization header is parsed strictly
 * (`peekBearerToken`). A cached token must never let a header through that strict parsing
 * refuses: another scheme, a tab, credentials sent twice.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { peekBearerToken, readAuthorization } from '../../src/authorization.js'
import { createValidator, type Validator } from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { NO_CREDENTIALS, rejectionOf } from './support.js'

let validator: Validator
let token: string

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })
  token = await mintToken()
})
afterAll(() => {
  vi.useRealTimers()
})

describe('Validator.authenticate with a cached token', () => {
  it('answers a repeated header from the cache: the same AuthInfo object', async () => {
    const first = await validator.authenticate(`Bearer ${token}`)
    expect(await validator.authenticate(`Bearer ${token}`)).toBe(first)
    expect(await validator.authenticate(`bEaReR   ${token}`)).toBe(first)
    expect(await validator.authenticate([`Bearer ${token}`])).toBe(first)
  })

  it.each([0, 1, 2, 3, 4, 5])(
    'treats the scheme with letter %i changed as another scheme (401, no error code)',
    async (at) => {
      await validator.authenticate(`Bearer ${token}`)
      const scheme = `${'Bearer'.slice(0, at)}x${'Bearer'.slice(at + 1)}`
      const error = await rejectionOf(validator.authenticate(`${scheme} ${token}`))
      expect(error.status).toBe(401)
      expect(error.headers['WWW-Authenticate']).toBe(NO_CREDENTIALS)
    },
  )

  it.each([
    ['a tab after the scheme', (t: string) => `Bearer\t${t}`, 400],
    ['the scheme glued to the token', (t: string) => `Bearer${t}`, 401],
    ['the bare token', (t: string) => t, 401],
    ['the token then a space and more', (t: string) => `Bearer ${t} x`, 400],
    ['the token twice', (t: string) => [`Bearer ${t}`, `Bearer ${t}`], 400],
  ])('refuses %s even though the token is cached', async (_, header, status) => {
    await validator.authenticate(`Bearer ${token}`)
    const error = await rejectionOf(validator.authenticate(header(token)))
    expect(error.status).toBe(status)
  })
})

describe('peekBearerToken', () => {
  it.each([
    ['Bearer x', 'x'],
    ['bearer x', 'x'],
    ['BEARER   abc', 'abc'],
    ['Bearer a b', 'a b'],
  ])('reads %j as %j', (value, expected) => {
    expect(peekBearerToken(value)).toBe(expected)
    expect(peekBearerToken([value])).toBe(expected)
  })

  it.each([
    [undefined],
    [[]],
    [['Bearer x', 'Bearer x']],
    ['Bearer'],
    ['Bearer '],
    ['Bearerxx'],
    ['Bearer\tx'],
    ['Basic dXNlcg=='],
    ['Xearer x'],
    ['Bxarer x'],
    ['Bexrer x'],
    ['Beaxer x'],
    ['Bearxr x'],
    ['Bearex x'],
    ['Bearer-x x'],
  ])('finds no token in %j', (value) => {
    expect(peekBearerToken(value as string | string[] | undefined)).toBeUndefined()
  })
})

describe('readAuthorization (raw header names)', () => {
  it('skips other headers of the same length as "Authorization"', () => {
    expect(readAuthorization(['Cache-Control', 'no-cache', 'Authorization', 'Bearer a'])).toBe(
      'Bearer a',
    )
    expect(readAuthorization(['Cache-Control', 'no-cache'])).toBeUndefined()
  })

  it('skips longer and shorter names that contain or start like it', () => {
    expect(
      readAuthorization(['Proxy-Authorization', 'Basic x', 'Authorizatio', 'y', 'X', 'z']),
    ).toBeUndefined()
  })
})

describe('credentials joined into one Authorization value', () => {
  it.each(['Basic dXNlcg==, Bearer abc', 'Digest x,bearer abc', 'Basic x,  BEARER\tabc'])(
    'refuses %j as credentials sent twice (400)',
    async (value) => {
      const error = await rejectionOf(validator.authenticate(value))
      expect(error.status).toBe(400)
      expect(error.reason).toBe('multiple_authorization')
      expect(error.message).toBe('more than one set of credentials was sent')
    },
  )

  it('still reads a comma inside another scheme as no Bearer credentials (401)', async () => {
    const error = await rejectionOf(validator.authenticate('Digest realm="a, b", nonce="c"'))
    expect(error.status).toBe(401)
    expect(error.headers['WWW-Authenticate']).toBe(NO_CREDENTIALS)
  })
})
