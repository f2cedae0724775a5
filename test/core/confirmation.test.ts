/**
 * Tokens bound to a key or a certificate (a `cnf` claim, RFC 7800) are never accepted as plain
 * Bearer tokens: RFC 9449 §7.2 (DPoP) and RFC 8705 §3 (mTLS) forbid it, so that a stolen bound
 * token is useless without its key.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { createValidator, inspectToken } from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { expectInvalidToken, rejectionOf } from './support.js'

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  return () => vi.useRealTimers()
})

const options = { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) }
const DESCRIPTION =
  'the token is bound to a key or certificate (cnf) and cannot be used as a Bearer token'

const BOUND: Array<[string, unknown]> = [
  ['a DPoP key thumbprint (jkt)', { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' }],
  [
    'a certificate thumbprint (x5t#S256)',
    { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' },
  ],
  ['a bare key (jwk)', { jwk: { kty: 'EC', crv: 'P-256', x: 'a', y: 'b' } }],
  ['a key id (kid)', { kid: 'k1' }],
  ['an empty object', {}],
  ['a member nobody knows', { future_method: 'x' }],
  ['a malformed value (string)', 'jkt'],
  ['null', null],
]

describe('bound tokens (cnf) sent with the Bearer scheme', () => {
  for (const cacheEntries of [1000, 0] as const) {
    for (const [what, cnf] of BOUND) {
      it(`refuses a token bound by ${what} with invalid_token (token cache ${cacheEntries ? 'on' : 'off'})`, async () => {
        const validator = createValidator(
          cacheEntries > 0 ? options : { ...options, tokenCache: false },
        )
        const token = await mintToken({ claims: { cnf } })
        for (const attempt of [
          validator.verify(token),
          validator.authenticate(`Bearer ${token}`),
          validator.verify(token),
        ]) {
          const error = await rejectionOf(attempt)
          expectInvalidToken(error, 'unproven_binding', DESCRIPTION)
        }
        expect(validator.lookup(`Bearer ${token}`)).toBeUndefined()
      })
    }
  }

  it('still accepts the same token without cnf', async () => {
    const validator = createValidator(options)
    const auth = await validator.verify(await mintToken())
    expect(auth.subject).toBe('user-123')
  })

  it('has inspect name the cnf check as the one that fails', async () => {
    const token = await mintToken({ claims: { cnf: { jkt: 'abc' } } })
    const report = await inspectToken(token, options)
    expect(report.verdict).toBe('rejected')
    const failed = report.checks.filter((check) => check.status === 'fail')
    expect(failed.map((check) => check.name)).toEqual(['cnf'])
    expect(report.error?.reason).toBe('unproven_binding')
  })
})
