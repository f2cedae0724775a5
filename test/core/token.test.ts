import { describe, expect, it } from 'vitest'
import type { TokenClaims, TokenHeader, ValidatorOptions } from '../../src/index.js'
import { BearerGuardError } from '../../src/index.js'
import { resolveOptions } from '../../src/options.js'
import { checkClaims, checkHeader, formatAge, parseToken } from '../../src/token.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, b64url, defaultClaims, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { expectInvalidToken, parsesAsSignature, thrownBy } from './support.js'

const options = resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })

function resolved(extra: Partial<ValidatorOptions>) {
  return resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey), ...extra })
}

function expectRejected(fn: () => unknown, reason: string, description: string): void {
  const error = thrownBy(fn)
  expect(error).toBeInstanceOf(BearerGuardError)
  expectInvalidToken(error as BearerGuardError, reason, description)
}

const SEGMENTS = 'the token segments must be unpadded base64url'
const COMPACT = 'the token is not a JWS in compact serialization (three segments)'

describe('parseToken on one segment (canonical unpadded base64url only)', () => {
  it.each([
    'A',
    'AAAAA',
    '',
    'AA==',
    'AA=',
    'AB',
    'AAB',
    'a+b/',
    'ab c',
    'ab\n',
    'abc.',
    'Zg=',
    'Zh',
    'Zm9',
  ])('refuses %j', (segment) => {
    expect(parsesAsSignature(segment)).toBe(false)
  })

  it.each(['AA', 'AAA', 'AAAA', 'Zg', 'Zm8', 'Zm9v', 'YQ', '-_-_', 'A-_w'])(
    'accepts %j',
    (segment) => {
      expect(parsesAsSignature(segment)).toBe(true)
    },
  )

  it('accepts exactly one encoding of each byte string (no unused bits set)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    for (let length = 1; length <= 6; length++) {
      const bytes = Buffer.alloc(length, 0xa5)
      const canonical = bytes.toString('base64url')
      // Every variant of the last character that a lenient decoder maps to the same bytes.
      const sameBytes = [...alphabet]
        .map((ch) => canonical.slice(0, -1) + ch)
        .filter((variant) => Buffer.from(variant, 'base64url').equals(bytes))
      expect(sameBytes.length).toBe(length % 3 === 0 ? 1 : length % 3 === 1 ? 16 : 4)
      expect(sameBytes.filter(parsesAsSignature)).toEqual([canonical])
    }
  })
})

describe('parseToken', () => {
  it('decodes header and claims of a well-formed token and locates the signing input', async () => {
    const token = await mintToken()
    const parsed = parseToken(token, options)
    expect(parsed.header).toEqual({ alg: 'RS256', kid: 'rsa-1', typ: 'JWT' })
    expect(parsed.claims).toEqual({ ...defaultClaims })
    expect(token.slice(0, parsed.signingInputEnd)).toBe(token.split('.').slice(0, 2).join('.'))
  })

  it.each([
    [undefined, 'the token must be a non-empty string'],
    [null, 'the token must be a non-empty string'],
    [42, 'the token must be a non-empty string'],
    [{}, 'the token must be a non-empty string'],
    ['', 'the token must be a non-empty string'],
    ['abc', COMPACT],
    ['a.b', COMPACT],
    ['a.b.c.d', COMPACT],
    ['a.b.c.d.e', COMPACT],
    ['...', COMPACT],
    ['..', SEGMENTS],
    ['e30..', SEGMENTS],
    ['.e30.c2ln', SEGMENTS],
    ['e30..c2ln', SEGMENTS],
    ['e30=.e30.c2ln', SEGMENTS],
    ['e30.e30.c2ln=', SEGMENTS],
    ['e30.e30.c2l+', SEGMENTS],
    ['e30.e30.c2l/', SEGMENTS],
    [' e30.e30.c2ln', SEGMENTS],
    ['e30.e30.c2ln ', SEGMENTS],
    ['e30.e3 0.c2ln', SEGMENTS],
    ['e30.e30.c2ln\n', SEGMENTS],
    ['YQ.e30.c2ln', 'the token header is not valid JSON'],
    ['e30.YQ.c2ln', 'the token payload is not valid JSON'],
    [`${b64url('[]')}.e30.c2ln`, 'the token header is not a JSON object'],
    [`${b64url('null')}.e30.c2ln`, 'the token header is not a JSON object'],
    [`e30.${b64url('[1]')}.c2ln`, 'the token payload is not a JSON object'],
    [`e30.${b64url('null')}.c2ln`, 'the token payload is not a JSON object'],
    [`e30.${b64url('42')}.c2ln`, 'the token payload is not a JSON object'],
    [`e30.${b64url('"str"')}.c2ln`, 'the token payload is not a JSON object'],
    [`e30.${b64url('true')}.c2ln`, 'the token payload is not a JSON object'],
    [
      `e30.${b64url(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))}.c2ln`,
      'the token payload is not valid JSON',
    ],
    [
      `${b64url(Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d]))}.e30.c2ln`,
      'the token header is not valid JSON',
    ],
  ])('refuses %j as malformed', (token, description) => {
    expectRejected(() => parseToken(token, options), 'malformed_token', description)
  })

  it('refuses a token longer than maxTokenLength before parsing it', () => {
    const long = resolved({ maxTokenLength: 100 })
    const token = `e30.e30.${'A'.repeat(93)}`
    expect(token.length).toBe(101)
    expectRejected(
      () => parseToken(token, long),
      'token_too_large',
      'the token is longer than 100 characters',
    )
    expect(parseToken(`e30.e30.${'A'.repeat(92)}`, long).claims).toEqual({})
  })

  it('keeps the rejected token out of the error', async () => {
    const token = `${b64url('{"alg":"RS256","kid":"kid-SECRET"}')}.${b64url('[1]')}.c2ln`
    const error = thrownBy(() => parseToken(token, options)) as BearerGuardError
    expect(error.message).not.toContain('SECRET')
    expect(JSON.stringify(error.headers)).not.toContain(token.slice(0, 20))
  })
})

describe('checkHeader', () => {
  const header = (fields: Record<string, unknown>) =>
    ({ alg: 'RS256', kid: 'rsa-1', ...fields }) as unknown as TokenHeader
  const ALG = 'the token is signed with an algorithm this API does not accept'
  const TYP = 'the token typ is not an access token type'
  const EXT = 'the token header uses an extension this API does not process'
  const KID = 'the token kid must be a non-empty string'

  it.each([
    [{ typ: 'JWT' }],
    [{ typ: 'jwt' }],
    [{ typ: 'at+jwt' }],
    [{ typ: 'AT+JWT' }],
    [{ typ: 'application/at+jwt' }],
    [{ typ: 'application/jwt' }],
    [{}],
    [{ kid: undefined }],
    [{ kid: 'k'.repeat(1024) }],
    [{ jwk: { kty: 'RSA' }, jku: 'https://evil.example/', x5u: 'https://evil.example/' }],
    [{ x5c: ['MIIB'], x5t: 'abc', cty: 'json' }],
  ])('accepts %j', (fields) => {
    expect(() => checkHeader(header(fields), options)).not.toThrow()
  })

  it.each([
    [{ alg: 'none' }, 'unsupported_algorithm', ALG],
    [{ alg: 'None' }, 'unsupported_algorithm', ALG],
    [{ alg: 'HS256' }, 'unsupported_algorithm', ALG],
    [{ alg: 'rs256' }, 'unsupported_algorithm', ALG],
    [{ alg: 'RS256 ' }, 'unsupported_algorithm', ALG],
    [{ alg: '' }, 'unsupported_algorithm', ALG],
    [{ alg: 256 }, 'unsupported_algorithm', ALG],
    [{ alg: ['RS256'] }, 'unsupported_algorithm', ALG],
    [{ alg: undefined }, 'unsupported_algorithm', ALG],
    [{ alg: 'toString' }, 'unsupported_algorithm', ALG],
    [{ alg: '__proto__' }, 'unsupported_algorithm', ALG],
    [{ kid: '' }, 'malformed_token', KID],
    [{ kid: 7 }, 'malformed_token', KID],
    [{ kid: null }, 'malformed_token', KID],
    [{ kid: { $ne: 1 } }, 'malformed_token', KID],
    [{ kid: ['rsa-1'] }, 'malformed_token', KID],
    [{ kid: 'k'.repeat(1025) }, 'malformed_token', KID],
    [{ typ: 'dpop+jwt' }, 'unsupported_token_type', TYP],
    [{ typ: 'logout+jwt' }, 'unsupported_token_type', TYP],
    [{ typ: 'secevent+jwt' }, 'unsupported_token_type', TYP],
    [{ typ: 'JWT ' }, 'unsupported_token_type', TYP],
    [{ typ: '' }, 'unsupported_token_type', TYP],
    [{ typ: 'JOSE' }, 'unsupported_token_type', TYP],
    [{ typ: 'application/jose' }, 'unsupported_token_type', TYP],
    [{ typ: 1 }, 'unsupported_token_type', TYP],
    [{ typ: null }, 'unsupported_token_type', TYP],
    [{ crit: ['exp'] }, 'unsupported_header', EXT],
    [{ crit: [] }, 'unsupported_header', EXT],
    [{ crit: null }, 'unsupported_header', EXT],
    [{ b64: false }, 'unsupported_header', EXT],
    [{ b64: true }, 'unsupported_header', EXT],
    [{ zip: 'DEF' }, 'unsupported_header', EXT],
    [{ enc: 'A256GCM' }, 'unsupported_header', EXT],
  ])('refuses %j', (fields, reason, description) => {
    expectRejected(() => checkHeader(header(fields), options), reason, description)
  })

  it('refuses an algorithm that is supported but not on a narrowed list', () => {
    const esOnly = resolved({ algorithms: ['ES256'] })
    expectRejected(() => checkHeader(header({}), esOnly), 'unsupported_algorithm', ALG)
    expect(() => checkHeader(header({ alg: 'ES256' }), esOnly)).not.toThrow()
  })

  it('requires typ, and one of the configured types, when tokenTypes is set', () => {
    const atJwt = resolved({ tokenTypes: ['at+jwt'] })
    expectRejected(
      () => checkHeader(header({}), atJwt),
      'unsupported_token_type',
      'the token has no typ header, and this API requires one',
    )
    expectRejected(() => checkHeader(header({ typ: 'JWT' }), atJwt), 'unsupported_token_type', TYP)
    expect(() => checkHeader(header({ typ: 'application/at+jwt' }), atJwt)).not.toThrow()
    expect(() => checkHeader(header({ typ: 'At+Jwt' }), atJwt)).not.toThrow()
  })
})

describe('checkClaims', () => {
  const claims = (fields: Record<string, unknown>) => {
    const merged: Record<string, unknown> = { ...defaultClaims, ...fields }
    for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name]
    return merged as unknown as TokenClaims
  }
  const check =
    (fields: Record<string, unknown>, opts = options, now = NOW) =>
    () =>
      checkClaims(claims(fields), opts, now)

  it('accepts the default claims at NOW', () => {
    expect(check({})()).toBeUndefined()
  })

  it.each([
    [{ iss: undefined }, 'missing_claim', 'the token has no valid issuer (iss) claim'],
    [{ iss: 42 }, 'invalid_claim', 'the token has no valid issuer (iss) claim'],
    [{ iss: [ISSUER] }, 'invalid_claim', 'the token has no valid issuer (iss) claim'],
    [{ iss: null }, 'invalid_claim', 'the token has no valid issuer (iss) claim'],
    [
      { iss: 'https://issuer.example' },
      'wrong_issuer',
      'the token issuer (iss) is not the expected issuer',
    ],
    [
      { iss: 'https://ISSUER.example/' },
      'wrong_issuer',
      'the token issuer (iss) is not the expected issuer',
    ],
    [
      { iss: ' https://issuer.example/' },
      'wrong_issuer',
      'the token issuer (iss) is not the expected issuer',
    ],
    [{ aud: undefined }, 'missing_claim', 'the token has no valid audience (aud) claim'],
    [{ aud: '' }, 'invalid_claim', 'the token has no valid audience (aud) claim'],
    [{ aud: 1 }, 'invalid_claim', 'the token has no valid audience (aud) claim'],
    [{ aud: [] }, 'invalid_claim', 'the token has no valid audience (aud) claim'],
    [{ aud: [1] }, 'invalid_claim', 'the token has no valid audience (aud) claim'],
    [{ aud: [AUDIENCE, 1] }, 'invalid_claim', 'the token has no valid audience (aud) claim'],
    [{ aud: { 0: AUDIENCE } }, 'invalid_claim', 'the token has no valid audience (aud) claim'],
    [{ aud: 'API://orders' }, 'wrong_audience', 'the token audience (aud) is not this API'],
    [{ aud: ['api://other', ''] }, 'wrong_audience', 'the token audience (aud) is not this API'],
    [{ exp: undefined }, 'missing_claim', 'the token has no valid expiry (exp) claim'],
    [{ exp: String(NOW + 60) }, 'invalid_claim', 'the token has no valid expiry (exp) claim'],
    [{ exp: null }, 'invalid_claim', 'the token has no valid expiry (exp) claim'],
    [
      { exp: Number.POSITIVE_INFINITY },
      'invalid_claim',
      'the token has no valid expiry (exp) claim',
    ],
    [{ exp: Number.NaN }, 'invalid_claim', 'the token has no valid expiry (exp) claim'],
    [{ exp: NOW - 60 }, 'expired', 'the token expired 60 s ago'],
    [{ exp: NOW - 3600 }, 'expired', 'the token expired 60 min ago'],
    [{ nbf: NOW + 61 }, 'not_yet_valid', 'the token is not valid yet (nbf)'],
    [{ nbf: String(NOW) }, 'invalid_claim', 'the token nbf claim must be a number'],
    [{ nbf: null }, 'invalid_claim', 'the token nbf claim must be a number'],
    [{ iat: NOW + 61 }, 'issued_in_future', 'the token was issued in the future (iat)'],
    [{ iat: String(NOW) }, 'invalid_claim', 'the token iat claim must be a number'],
    [{ sub: 42 }, 'invalid_claim', 'the token sub claim must be a string'],
    [{ sub: null }, 'invalid_claim', 'the token sub claim must be a string'],
  ])('refuses %j', (fields, reason, description) => {
    expectRejected(check(fields), reason, description)
  })

  it('treats exp as expired at now - clockTolerance and valid one second later', () => {
    expectRejected(check({ exp: NOW - 60 }), 'expired', 'the token expired 60 s ago')
    expect(check({ exp: NOW - 59 })()).toBeUndefined()
    expect(check({ exp: NOW - 59.5 })()).toBeUndefined()
    const strict = resolved({ clockTolerance: 0 })
    expectRejected(check({ exp: NOW }, strict), 'expired', 'the token expired 0 s ago')
    expect(check({ exp: NOW + 1 }, strict)()).toBeUndefined()
  })

  it('accepts nbf up to now + clockTolerance', () => {
    expect(check({ nbf: NOW + 60 })()).toBeUndefined()
    expectRejected(check({ nbf: NOW + 61 }), 'not_yet_valid', 'the token is not valid yet (nbf)')
    expectRejected(check({ nbf: NOW + 60.5 }), 'not_yet_valid', 'the token is not valid yet (nbf)')
    const strict = resolved({ clockTolerance: 0 })
    expect(check({ nbf: NOW }, strict)()).toBeUndefined()
    expectRejected(
      check({ nbf: NOW + 1 }, strict),
      'not_yet_valid',
      'the token is not valid yet (nbf)',
    )
  })

  it('accepts iat up to now + clockTolerance', () => {
    expect(check({ iat: NOW + 60 })()).toBeUndefined()
    expectRejected(
      check({ iat: NOW + 61 }),
      'issued_in_future',
      'the token was issued in the future (iat)',
    )
  })

  it('applies maxTokenAge with the clock tolerance, and then requires iat', () => {
    const maxAge = resolved({ maxTokenAge: 600 })
    expect(check({ iat: NOW - 660 }, maxAge)()).toBeUndefined()
    expectRejected(
      check({ iat: NOW - 661 }, maxAge),
      'too_old',
      'the token is older than this API accepts (iat)',
    )
    expectRejected(
      check({ iat: undefined }, maxAge),
      'missing_claim',
      'the token has no iat claim, and this API limits token age',
    )
    expect(check({ iat: NOW - 100_000 })()).toBeUndefined()
  })

  it('accepts any of several issuers and audiences, and an aud list naming this API', () => {
    const several = resolved({
      issuer: [ISSUER, 'https://other.example/'],
      audience: [AUDIENCE, 'api://b'],
    })
    expect(check({ iss: 'https://other.example/', aud: 'api://b' }, several)()).toBeUndefined()
    expect(check({ aud: ['api://x', 'api://b'] }, several)()).toBeUndefined()
    expect(check({ aud: ['api://x', AUDIENCE] })()).toBeUndefined()
    expectRejected(
      check({ iss: 'https://third.example/' }, several),
      'wrong_issuer',
      'the token issuer (iss) is not any accepted issuer',
    )
  })

  it('asks an issuer predicate, and refuses anything but true', () => {
    const seen: [string, unknown][] = []
    const predicate = resolved({
      issuer: (iss, all) => {
        seen.push([iss, all.tid])
        return iss.startsWith('https://tenant-') && all.tid === 'T1'
      },
    })
    expect(check({ iss: 'https://tenant-1/', tid: 'T1' }, predicate)()).toBeUndefined()
    expect(seen).toEqual([['https://tenant-1/', 'T1']])
    expectRejected(
      check({ iss: 'https://tenant-1/', tid: 'T2' }, predicate),
      'wrong_issuer',
      'the token issuer (iss) is not the accepted issuers',
    )
    const truthy = resolved({ issuer: (() => 1) as unknown as () => boolean })
    expectRejected(
      check({}, truthy),
      'wrong_issuer',
      'the token issuer (iss) is not the accepted issuers',
    )
  })

  it('requires each of requiredClaims', () => {
    const required = resolved({ requiredClaims: ['sub', 'jti'] })
    expectRejected(
      check({}, required),
      'missing_claim',
      'the token lacks a claim this API requires',
    )
    expect(check({ jti: 'id-1' }, required)()).toBeUndefined()
  })
})

describe('formatAge', () => {
  it.each([
    [0, '0 s'],
    [42, '42 s'],
    [119, '119 s'],
    [120, '2 min'],
    [3600, '60 min'],
    [7_199, '120 min'],
    [7_200, '2 h'],
    [172_799, '48 h'],
    [172_800, '2 d'],
    [86_400 * 365, '365 d'],
  ])('formats %d seconds as %j', (seconds, text) => {
    expect(formatAge(seconds)).toBe(text)
  })
})
