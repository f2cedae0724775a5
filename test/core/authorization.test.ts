import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { missingCredentials } from '../../src/authorization.js'
import {
  createValidator,
  extractBearerToken,
  parseAuthorization,
  readAuthorization,
  UnauthorizedError,
} from '../../src/index.js'
import { ecKey, rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import {
  expectInvalidRequest,
  expectInvalidToken,
  NO_CREDENTIALS,
  rejectionOf,
  thrownBy,
} from './support.js'

const NO_TOKEN = 'Bearer scheme without a token'
const TAB = 'the Bearer scheme must be followed by spaces, not tabs'
const BAD_CHARS = 'the Bearer credentials must be a single token of base64url characters'
const SEVERAL = 'more than one Authorization header was sent'

describe('extractBearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['bEaReR abc', 'abc'],
    ['BeArEr abc', 'abc'],
    ['Bearer  abc', 'abc'],
    ['Bearer          abc', 'abc'],
    ['Bearer a', 'a'],
    ['Bearer abc=', 'abc='],
    ['Bearer abc==', 'abc=='],
    ['Bearer abc=====', 'abc====='],
    ['Bearer AZaz09-._~+/', 'AZaz09-._~+/'],
    ['Bearer ~~~', '~~~'],
    [
      'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
    ],
    // RFC 9110 §5.5: leading and trailing OWS is not part of the field value.
    [' Bearer abc', 'abc'],
    ['Bearer abc ', 'abc'],
    ['\tBearer abc\t', 'abc'],
  ])('returns the token of %j unchanged', (header, token) => {
    expect(extractBearerToken(header)).toBe(token)
  })

  it.each([
    ['', 'an empty value'],
    ['   ', 'white space only'],
    ['Basic dXNlcjpwYXNz', 'Basic'],
    ['Digest username="x"', 'Digest'],
    ['DPoP eyJhbGciOiJFUzI1NiJ9.e30.c2ln', 'DPoP'],
    ['Token abc', 'Token'],
    ['Bearerx abc', 'Bearerx (a longer scheme name)'],
    ['BearerToken abc', 'BearerToken'],
    ['Bearer_abc', 'Bearer_ with no space'],
    ['Bearer,abc', 'Bearer followed by a comma'],
    ['Bearer:abc', 'Bearer followed by a colon'],
    ['Bear abc', 'a shorter scheme name'],
    ['abc', 'a bare token without a scheme'],
    ['\nBearer abc', 'a value that starts with a line feed'],
    ['Bearer\u00a0abc', 'Bearer followed by a no-break space'],
  ])('returns undefined (no Bearer credentials) for %j: %s', (header) => {
    expect(extractBearerToken(header)).toBeUndefined()
  })

  it.each([
    ['Bearer', NO_TOKEN],
    ['bearer', NO_TOKEN],
    ['Bearer ', NO_TOKEN],
    ['Bearer      ', NO_TOKEN],
    ['Bearer \t ', NO_TOKEN],
    ['Bearer\tabc', TAB],
    ['BEARER\tabc', TAB],
    ['Bearer\t\tabc', TAB],
    ['Bearer a b', BAD_CHARS],
    ['Bearer  a  b', BAD_CHARS],
    ['Bearer a\tb', BAD_CHARS],
    ['Bearer \tabc', BAD_CHARS],
    ['Bearer a, Bearer b', BAD_CHARS],
    ['Bearer a,b', BAD_CHARS],
    ['Bearer a;b', BAD_CHARS],
    ['Bearer a=b', BAD_CHARS],
    ['Bearer =', BAD_CHARS],
    ['Bearer ==abc', BAD_CHARS],
    ['Bearer abc\n', BAD_CHARS],
    ['Bearer abc\r\nX-Injected: 1', BAD_CHARS],
    ['Bearer abc\u0000', BAD_CHARS],
    ['Bearer "abc"', BAD_CHARS],
    ['Bearer abc%20', BAD_CHARS],
    ['Bearer abc!', BAD_CHARS],
    ['Bearer token="abc"', BAD_CHARS],
    ['Bearer ab\u00e9c', BAD_CHARS],
    ['Bearer ab\u2028c', BAD_CHARS],
    ['Bearer \u{1F600}', BAD_CHARS],
  ])('throws a 400 invalid_request for %j', (header, description) => {
    const error = thrownBy(() => extractBearerToken(header))
    expectInvalidRequest(error, 'malformed_authorization', description)
  })

  it('names the given realm in the 400 challenge', () => {
    const error = thrownBy(() => extractBearerToken('Bearer', 'orders'))
    expectInvalidRequest(error, 'malformed_authorization', NO_TOKEN, 'orders')
  })

  it('never echoes the rejected header value in the 400 message or challenge', () => {
    const secret = 'Bearer s3cr3t-part one<script>'
    const error = thrownBy(() => extractBearerToken(secret)) as Error & {
      headers: Record<string, string>
    }
    expect(error.message).not.toContain('s3cr3t')
    expect(error.headers['WWW-Authenticate']).not.toContain('s3cr3t')
    expect(error.headers['WWW-Authenticate']).not.toContain('<script>')
  })
})

describe('parseAuthorization', () => {
  it('returns undefined when no Authorization header was sent', () => {
    expect(parseAuthorization(undefined)).toBeUndefined()
    expect(parseAuthorization([])).toBeUndefined()
  })

  it('reads one value given as a string or as a one-element list', () => {
    expect(parseAuthorization('Bearer abc')).toBe('abc')
    expect(parseAuthorization(['bearer   abc'])).toBe('abc')
    expect(parseAuthorization(['Basic dXNlcjpwYXNz'])).toBeUndefined()
  })

  it.each([
    [['Bearer a', 'Bearer b']],
    [['Bearer a', 'Bearer a']],
    [['Basic dXNlcjpwYXNz', 'Bearer a']],
    [['Basic dXNlcjpwYXNz', 'Basic dXNlcjpwYXNz']],
    [['', '']],
    [['Bearer a', 'Bearer b', 'Bearer c']],
  ])('throws a 400 invalid_request when several values were sent: %j', (values) => {
    const error = thrownBy(() => parseAuthorization(values, 'api'))
    expectInvalidRequest(error, 'multiple_authorization', SEVERAL)
  })

  it('passes the realm to the 400 it throws', () => {
    expectInvalidRequest(
      thrownBy(() => parseAuthorization(['Bearer a', 'Bearer b'], 'files')),
      'multiple_authorization',
      SEVERAL,
      'files',
    )
    expectInvalidRequest(
      thrownBy(() => parseAuthorization('Bearer\tx', 'files')),
      'malformed_authorization',
      TAB,
      'files',
    )
  })
})

describe('readAuthorization', () => {
  it.each(['Authorization', 'authorization', 'AUTHORIZATION', 'aUtHoRiZaTiOn'])(
    'finds the value under the header name %j',
    (name) => {
      expect(readAuthorization(['Host', 'example', name, 'Bearer abc', 'Accept', '*/*'])).toBe(
        'Bearer abc',
      )
    },
  )

  it('returns undefined when no Authorization header is present', () => {
    expect(readAuthorization([])).toBeUndefined()
    expect(readAuthorization(['Host', 'example', 'Accept', '*/*'])).toBeUndefined()
  })

  it('ignores names that merely contain or resemble Authorization', () => {
    expect(
      readAuthorization([
        'X-Authorization',
        'Bearer a',
        'Authorization2',
        'Bearer b',
        'Proxy-Authorization',
        'Bearer c',
        'Authorizatio',
        'Bearer d',
      ]),
    ).toBeUndefined()
  })

  it('does not read a value as a header name', () => {
    expect(readAuthorization(['X-Note', 'Authorization', 'Host', 'Authorization'])).toBeUndefined()
  })

  it('ignores a trailing name without a value', () => {
    expect(readAuthorization(['Authorization', 'Bearer a', 'Authorization'])).toBe('Bearer a')
  })

  it('returns every value, in order, when the header repeats in any case', () => {
    expect(
      readAuthorization(['authorization', 'Bearer a', 'Host', 'x', 'AUTHORIZATION', 'Bearer b']),
    ).toEqual(['Bearer a', 'Bearer b'])
    expect(
      readAuthorization(['Authorization', 'a', 'Authorization', 'b', 'authorization', 'c']),
    ).toEqual(['a', 'b', 'c'])
  })

  it('feeds parseAuthorization so that a repeated header is a 400', () => {
    const values = readAuthorization(['Authorization', 'Bearer a', 'authorization', 'Bearer a'])
    expectInvalidRequest(
      thrownBy(() => parseAuthorization(values)),
      'multiple_authorization',
      SEVERAL,
    )
  })
})

describe('missingCredentials', () => {
  it('is a 401 without an error code (RFC 6750 §3.1)', () => {
    const error = missingCredentials()
    expect(error).toBeInstanceOf(UnauthorizedError)
    expect(error.status).toBe(401)
    expect(error.code).toBeUndefined()
    expect(error.reason).toBe('missing_token')
    expect(error.headers['WWW-Authenticate']).toBe(NO_CREDENTIALS)
    expect(missingCredentials('orders').headers['WWW-Authenticate']).toBe('Bearer realm="orders"')
  })
})

describe('Validator.authenticate (header handling)', () => {
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: toJwks(rsaKey, ecKey),
  })

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW * 1000)
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it.each([
    ['no header', undefined],
    ['an empty list', []],
    ['an empty value', ''],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['the scheme Bearerx', 'Bearerx abc'],
  ])('answers %s with a 401 that carries no error code', async (_, header) => {
    const error = await rejectionOf(validator.authenticate(header))
    expect(error).toBeInstanceOf(UnauthorizedError)
    expect(error.status).toBe(401)
    expect(error.code).toBeUndefined()
    expect(error.reason).toBe('missing_token')
    expect(error.headers['WWW-Authenticate']).toBe(NO_CREDENTIALS)
  })

  it('returns undefined for no credentials when credentialsRequired is false', async () => {
    await expect(
      validator.authenticate(undefined, { credentialsRequired: false }),
    ).resolves.toBeUndefined()
    await expect(
      validator.authenticate('Basic dXNlcjpwYXNz', { credentialsRequired: false }),
    ).resolves.toBeUndefined()
  })

  it('still rejects a malformed or invalid token when credentialsRequired is false', async () => {
    expectInvalidRequest(
      await rejectionOf(validator.authenticate('Bearer', { credentialsRequired: false })),
      'malformed_authorization',
      NO_TOKEN,
    )
    expectInvalidToken(
      await rejectionOf(validator.authenticate('Bearer YQ.YQ.YQ', { credentialsRequired: false })),
      'malformed_token',
      'the token header is not valid JSON',
    )
  })

  it.each([
    ['Bearer', NO_TOKEN],
    ['Bearer   ', NO_TOKEN],
    ['Bearer\tabc', TAB],
    ['Bearer a b', BAD_CHARS],
    ['Bearer a,Bearer b', BAD_CHARS],
  ])('answers %j with a 400 invalid_request', async (header, description) => {
    expectInvalidRequest(
      await rejectionOf(validator.authenticate(header)),
      'malformed_authorization',
      description,
    )
  })

  it('answers a token sent twice with a 400 invalid_request, even when both are valid', async () => {
    const token = await mintToken()
    expectInvalidRequest(
      await rejectionOf(validator.authenticate([`Bearer ${token}`, `Bearer ${token}`])),
      'multiple_authorization',
      SEVERAL,
    )
  })

  it('accepts a valid token whatever the scheme casing and number of spaces', async () => {
    const token = await mintToken()
    for (const header of [`Bearer ${token}`, `bearer    ${token}`, `BEARER ${token}`]) {
      const auth = await validator.authenticate(header)
      expect(auth.token).toBe(token)
      expect(auth.subject).toBe('user-123')
    }
    const auth = await validator.authenticate([`Bearer ${token}`])
    expect(auth.token).toBe(token)
  })

  it('passes a trailing "=" on to token validation, which rejects it as malformed', async () => {
    const token = await mintToken()
    expectInvalidToken(
      await rejectionOf(validator.authenticate(`Bearer ${token}=`)),
      'malformed_token',
      'the token segments must be unpadded base64url',
    )
  })

  it('names its own realm in every header-level rejection', async () => {
    const orders = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: toJwks(rsaKey),
      realm: 'orders',
    })
    const missing = await rejectionOf(orders.authenticate(undefined))
    expect(missing.headers['WWW-Authenticate']).toBe('Bearer realm="orders"')
    expectInvalidRequest(
      await rejectionOf(orders.authenticate('Bearer')),
      'malformed_authorization',
      NO_TOKEN,
      'orders',
    )
    expectInvalidRequest(
      await rejectionOf(orders.authenticate(['Bearer a', 'Bearer b'])),
      'multiple_authorization',
      SEVERAL,
      'orders',
    )
  })
})

describe('extractBearerToken with credentials joined by a proxy or the Fetch API', () => {
  it.each([
    'Basic dXNlcjpwYXNz, Bearer abc',
    'Basic dXNlcjpwYXNz,bearer abc',
    'Negotiate xyz, BEARER',
  ])('answers 400 invalid_request for %j', (value) => {
    expect(() => extractBearerToken(value)).toThrow(
      expect.objectContaining({ status: 400, reason: 'multiple_authorization' }),
    )
  })

  it.each(['Basic dXNlcjpwYXNz', 'Digest a=b, c=d', 'Basic x, Bearerish y'])(
    'still sees no Bearer credentials in %j',
    (value) => {
      expect(extractBearerToken(value)).toBeUndefined()
    },
  )
})
