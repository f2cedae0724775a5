import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  azureAd,
  type BearerGuardError,
  createValidator,
  type ValidatorOptions,
} from '../../src/index.js'
import {
  type CheckName,
  describeTime,
  inspectToken,
  type TokenInspection,
} from '../../src/inspect.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { attackerKey, ecKey, otherRsaKey, rsaKey, toJwks } from '../helpers/keys.js'
import {
  AUDIENCE,
  b64url,
  defaultClaims,
  hs256WithKey,
  ISSUER,
  mintToken,
  NOW,
  signRaw,
  unsigned,
} from '../helpers/tokens.js'

const TENANT = '8d2c6a0e-5a1b-4c3d-9e7f-0a1b2c3d4e5f'
const OTHER_TENANT = '11111111-2222-4333-8444-555555555555'
const CLIENT_ID = '0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b'
const ENTRA_V2 = `https://login.microsoftonline.com/${TENANT}/v2.0`
const ENTRA_V1 = `https://sts.windows.net/${TENANT}/`

let jwks: JwksServer
let options: ValidatorOptions

beforeAll(async () => {
  jwks = await startJwksServer()
  options = { issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri, tokenCache: false }
})

afterAll(() => jwks.close())

afterEach(() => {
  vi.useRealTimers()
  jwks.setMode('ok')
  jwks.setKeys([rsaKey, ecKey])
})

function statusOf(report: TokenInspection): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.name, check.status]))
}

function check(report: TokenInspection, name: CheckName) {
  const found = report.checks.find((item) => item.name === name)
  if (found === undefined) throw new Error(`no ${name} check`)
  return found
}

async function validatorVerdict(
  token: string,
  validatorOptions: ValidatorOptions,
): Promise<BearerGuardError | undefined> {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  try {
    // Keys loaded first: inspect gives a token that verifies its full description, and so does
    // the validator once it can check the signature (before that it leaves details out, #13).
    const validator = createValidator(validatorOptions)
    await validator.warmUp().catch(() => {})
    await validator.verify(token)
    return undefined
  } catch (error) {
    return error as BearerGuardError
  } finally {
    vi.useRealTimers()
  }
}

const ALL_CHECKS: CheckName[] = [
  'format',
  'alg',
  'kid',
  'typ',
  'crit',
  'iss',
  'aud',
  'exp',
  'nbf',
  'iat',
  'max_age',
  'sub',
  'cnf',
  'required_claims',
  'permission_claims',
  'client',
  'permissions',
  'claims_rule',
  'key',
  'key_issuer',
  'signature',
]

describe('inspectToken', () => {
  it('accepts a valid token, with every check passed or skipped for lack of a setting', async () => {
    const report = await inspectToken(await mintToken(), options, { now: NOW })
    expect(report.verdict).toBe('accepted')
    expect(report.error).toBeUndefined()
    expect(report.checks.map((item) => item.name)).toEqual(ALL_CHECKS)
    expect(statusOf(report)).toEqual({
      format: 'pass',
      alg: 'pass',
      kid: 'pass',
      typ: 'pass',
      crit: 'pass',
      iss: 'pass',
      aud: 'pass',
      exp: 'pass',
      nbf: 'pass',
      iat: 'pass',
      max_age: 'skip',
      sub: 'pass',
      cnf: 'pass',
      required_claims: 'skip',
      permission_claims: 'pass',
      client: 'skip',
      permissions: 'skip',
      claims_rule: 'skip',
      key: 'pass',
      key_issuer: 'skip',
      signature: 'pass',
    })
    expect(report.keyIds).toEqual(['rsa-1', 'ec-1'])
    expect(report.header).toEqual({ alg: 'RS256', kid: 'rsa-1', typ: 'JWT' })
    expect(report.claims).toEqual(defaultClaims)
    expect(report.now).toBe(NOW)
  })

  it('explains each passed check', async () => {
    const report = await inspectToken(await mintToken(), options, { now: NOW })
    expect(check(report, 'alg').detail).toBe('"RS256" is an accepted algorithm')
    expect(check(report, 'kid').detail).toBe('kid "rsa-1"')
    expect(check(report, 'iss').detail).toBe(`"${ISSUER}" is accepted`)
    expect(check(report, 'aud').detail).toBe(`"${AUDIENCE}" names this API`)
    expect(check(report, 'exp').detail).toBe('exp 2020-11-03T16:07:18.000Z (in 60 min)')
    expect(check(report, 'nbf').detail).toBe('nbf 2020-11-03T15:07:18.000Z (now)')
    expect(check(report, 'permission_claims').detail).toBe(
      'scopes: Files.Read Files.Write; roles: none',
    )
    expect(check(report, 'key').detail).toBe('kid "rsa-1" found in the JWKS (RSA key, RS256)')
    expect(check(report, 'signature').detail).toBe('RS256 signature verified')
  })

  it('reports every failure at once, and the validator error is the first in its order', async () => {
    const token = await mintToken({
      key: attackerKey,
      claims: { aud: 'api://other', exp: NOW - 7200, iat: NOW - 9000, nbf: NOW - 9000 },
    })
    const report = await inspectToken(token, options, { now: NOW })
    expect(report.verdict).toBe('rejected')
    const failed = report.checks.filter((item) => item.status === 'fail').map((item) => item.name)
    expect(failed).toEqual(['aud', 'exp', 'signature'])
    expect(check(report, 'aud').detail).toBe(
      `the token audience (aud) is not this API (the token has "api://other"; accepted: "${AUDIENCE}")`,
    )
    expect(check(report, 'exp').detail).toBe('the token expired 2 h ago')
    expect(report.error?.reason).toBe('wrong_audience')
    expect(report.error?.headers['WWW-Authenticate']).toBe(
      'Bearer realm="api", error="invalid_token", error_description="the token audience (aud) is not this API"',
    )
  })

  it.each([
    ['no aud', undefined],
    ['a numeric aud', 42],
    ['an object aud', { a: 1 }],
  ])('reports a token with %s as a failed aud check, without throwing', async (_, aud) => {
    const token = await mintToken({ claims: { aud } as never })
    const report = await inspectToken(token, options, { now: NOW })
    expect(report.verdict).toBe('rejected')
    expect(check(report, 'aud').status).toBe('fail')
    expect(check(report, 'permission_claims').status).toBe('pass')
    expect(report.error?.reason).toBe(aud === undefined ? 'missing_claim' : 'invalid_claim')
  })

  it('checks the times at the current time unless told otherwise', async () => {
    const report = await inspectToken(await mintToken(), options)
    expect(check(report, 'exp').status).toBe('fail')
    expect(report.error?.reason).toBe('expired')
  })

  it('decodes a malformed token leniently for display and runs no other check', async () => {
    const token = `${await mintToken()}=`
    const report = await inspectToken(token, options, { now: NOW })
    expect(report.verdict).toBe('rejected')
    expect(check(report, 'format')).toMatchObject({
      status: 'fail',
      detail: 'the token segments must be unpadded base64url',
    })
    expect(report.decodedLeniently).toBe(true)
    expect(report.claims).toEqual(defaultClaims)
    expect(report.checks.slice(1).every((item) => item.status === 'skip')).toBe(true)
  })

  it('reads nothing from a string that is not a JWS at all', async () => {
    const report = await inspectToken('not-a-token', options, { now: NOW })
    expect(report.error?.reason).toBe('malformed_token')
    expect(report.header).toBeUndefined()
    expect(report.decodedLeniently).toBe(false)
  })

  it('skips the key checks when the alg cannot select a key', async () => {
    jwks.resetHits()
    const token = unsigned({ alg: 'none', typ: 'JWT' }, { ...defaultClaims }, 'AAAA')
    const report = await inspectToken(token, options, { now: NOW })
    expect(check(report, 'alg').status).toBe('fail')
    expect(check(report, 'key')).toMatchObject({
      status: 'skip',
      detail: 'the alg or kid of the token cannot select a key',
    })
    expect(jwks.requests).toEqual([])
  })

  it('lists the kids of the key set when none matches the token', async () => {
    const report = await inspectToken(await mintToken({ key: otherRsaKey }), options, { now: NOW })
    expect(check(report, 'key')).toMatchObject({
      status: 'fail',
      detail: 'no key of the issuer matches the kid and alg of the token',
    })
    expect(report.keyIds).toEqual(['rsa-1', 'ec-1'])
    expect(check(report, 'signature').status).toBe('skip')
  })

  it('answers 503 with the reason when the JWKS cannot be fetched', async () => {
    jwks.setMode('down')
    const report = await inspectToken(await mintToken(), options, { now: NOW })
    expect(report.error?.status).toBe(503)
    expect(check(report, 'key').detail).toBe(
      `Signing keys are temporarily unavailable: ${jwks.jwksUri} answered HTTP 500`,
    )
  })

  it('never sends the token: one plain GET of the JWKS', async () => {
    jwks.resetHits()
    const token = await mintToken()
    await inspectToken(token, options, { now: NOW })
    expect(jwks.requests.map((request) => request.path)).toEqual(['/keys'])
    expect(JSON.stringify(jwks.requests)).not.toContain(token.split('.')[2])
    expect(JSON.stringify(jwks.requests)).not.toContain(token.split('.')[1])
  })

  it('follows OIDC discovery to the keys', async () => {
    const { jwksUri: _jwksUri, ...rest } = options
    const report = await inspectToken(
      await mintToken(),
      { ...rest, discoveryUrl: jwks.discoveryUrl },
      { now: NOW },
    )
    expect(report.verdict).toBe('accepted')
  })

  it('uses static keys without any fetch', async () => {
    jwks.resetHits()
    const { jwksUri: _jwksUri, ...rest } = options
    const report = await inspectToken(
      await mintToken({ key: ecKey }),
      { ...rest, keys: toJwks(ecKey) },
      { now: NOW },
    )
    expect(report.verdict).toBe('accepted')
    expect(check(report, 'key').detail).toBe(
      'kid "ec-1" found in the configured keys (EC key, ES256)',
    )
    expect(report.keyIds).toEqual(['ec-1'])
    expect(jwks.hits).toBe(0)
  })

  it('checks maxTokenAge, requiredClaims, allowedClients and requirePermissions when set', async () => {
    const token = await mintToken({
      claims: { iat: NOW - 7200, nbf: NOW - 7200, scp: undefined, azp: 'client-x' },
    })
    const strict: ValidatorOptions = {
      ...options,
      maxTokenAge: 600,
      requiredClaims: ['jti'],
      allowedClients: ['client-abc'],
      requirePermissions: true,
    }
    const report = await inspectToken(token, strict, { now: NOW })
    expect(statusOf(report)).toMatchObject({
      max_age: 'fail',
      required_claims: 'fail',
      client: 'fail',
      permissions: 'fail',
      signature: 'pass',
    })
    expect(check(report, 'client').detail).toBe(
      'the calling application (azp, appid) is not allowed to call this API',
    )
  })

  it('runs a validateClaims rule only once the claims pass', async () => {
    const rule = vi.fn(() => ({ reason: 'invalid_claim' as const, description: 'no finance' }))
    const withRule = { ...options, validateClaims: rule }
    const good = await inspectToken(await mintToken(), withRule, { now: NOW })
    expect(check(good, 'claims_rule')).toMatchObject({ status: 'fail', detail: 'no finance' })
    const expired = await mintToken({ claims: { exp: NOW - 3600 } })
    const bad = await inspectToken(expired, withRule, { now: NOW })
    expect(check(bad, 'claims_rule').status).toBe('skip')
    expect(rule).toHaveBeenCalledTimes(1)
  })

  describe('without options', () => {
    it('decodes and checks what needs no configuration; the verdict is incomplete', async () => {
      const report = await inspectToken(await mintToken(), undefined, { now: NOW })
      expect(report.verdict).toBe('incomplete')
      expect(statusOf(report)).toMatchObject({
        format: 'pass',
        alg: 'pass',
        iss: 'skip',
        aud: 'skip',
        exp: 'pass',
        key: 'skip',
        signature: 'skip',
      })
      expect(check(report, 'iss').detail).toBe(`iss "${ISSUER}": no issuer to compare with`)
    })

    it('rejects what fails whatever the configuration', async () => {
      const token = await mintToken({ header: { typ: 'dpop+jwt' } })
      const report = await inspectToken(token, undefined, { now: NOW })
      expect(report.verdict).toBe('rejected')
      expect(report.error?.reason).toBe('unsupported_token_type')
    })
  })

  describe('agrees with the validator', () => {
    const header = (json: object) => JSON.stringify(json)
    const claims = (extra: object = {}) => JSON.stringify({ ...defaultClaims, ...extra })
    const rows: Array<[string, () => Promise<string> | string]> = [
      ['a valid token', () => mintToken()],
      [
        'a valid ES256 token without typ',
        () => mintToken({ key: ecKey, header: { typ: undefined } }),
      ],
      ['an expired token', () => mintToken({ claims: { exp: NOW - 3600 } })],
      ['a token just inside the clock tolerance', () => mintToken({ claims: { exp: NOW - 30 } })],
      [
        'a token from another issuer',
        () => mintToken({ claims: { iss: 'https://evil.example/' } }),
      ],
      ['a token for another audience', () => mintToken({ claims: { aud: ['a', 'b'] } })],
      ['a token without exp', () => mintToken({ claims: { exp: undefined } })],
      ['a token not valid yet', () => mintToken({ claims: { nbf: NOW + 600 } })],
      ['a token issued in the future', () => mintToken({ claims: { iat: NOW + 600 } })],
      ['a token with a numeric sub', () => mintToken({ claims: { sub: 42 } })],
      ['a token with a numeric scp', () => mintToken({ claims: { scp: 42 } })],
      ['a token with a bad signature', () => mintToken({ key: attackerKey })],
      ['a token signed by an unknown kid', () => mintToken({ key: otherRsaKey })],
      ['a token without kid', () => mintToken({ header: { kid: undefined } })],
      ['a DPoP proof', () => mintToken({ header: { typ: 'dpop+jwt' } })],
      ['a token with crit', () => mintToken({ header: { crit: ['exp'], exp: 1 } })],
      ['an alg none token', () => unsigned({ alg: 'none' }, { ...defaultClaims }, 'AAAA')],
      [
        'an HS256 forgery with the public key',
        () =>
          hs256WithKey(
            header({ alg: 'HS256', kid: 'rsa-1' }),
            claims(),
            JSON.stringify(rsaKey.publicJwk),
          ),
      ],
      ['a header that is not an object', () => signRaw('[1]', claims(), rsaKey)],
      ['a token of two segments', () => `${b64url('{"alg":"RS256"}')}.${b64url(claims())}`],
      [
        'a kid for an EC key on an RS256 token',
        () => signRaw(header({ alg: 'RS256', kid: 'ec-1' }), claims(), rsaKey),
      ],
      [
        'a wrong audience, an expiry and a bad signature together',
        () => mintToken({ key: attackerKey, claims: { aud: 'x', exp: NOW - 999 } }),
      ],
    ]

    it.each(rows)('on %s', async (_name, make) => {
      const token = await make()
      const expected = await validatorVerdict(token, options)
      const report = await inspectToken(token, options, { now: NOW })
      expect(report.verdict).toBe(expected === undefined ? 'accepted' : 'rejected')
      expect(report.error?.reason).toBe(expected?.reason)
      expect(report.error?.message).toBe(expected?.message)
      expect(report.error?.headers).toEqual(expected?.headers)
    })
  })

  describe('Entra ID profile', () => {
    const entra = () =>
      azureAd({ tenant: TENANT, clientId: CLIENT_ID, jwksUri: jwks.jwksUri, tokenCache: false })
    const entraClaims = (extra: Record<string, unknown> = {}) => ({
      iss: ENTRA_V2,
      aud: CLIENT_ID,
      tid: TENANT,
      ver: '2.0',
      ...extra,
    })
    const withKeyIssuer = (issuer: string) =>
      jwks.setKeys({ keys: [{ ...rsaKey.publicJwk, issuer }, { ...ecKey.publicJwk }] })

    it('accepts a v2 token whose key issuer fits', async () => {
      withKeyIssuer('https://login.microsoftonline.com/{tenantid}/v2.0')
      const token = await mintToken({ claims: entraClaims() })
      const report = await inspectToken(token, entra(), { now: NOW })
      expect(report.verdict).toBe('accepted')
      expect(statusOf(report)).toMatchObject({ permissions: 'pass', key_issuer: 'pass' })
      expect(check(report, 'key_issuer').detail).toBe(
        'the key issuer "https://login.microsoftonline.com/{tenantid}/v2.0" fits the token',
      )
    })

    it('explains a v1 token sent to an API that accepts v2 only', async () => {
      const token = await mintToken({ claims: entraClaims({ iss: ENTRA_V1, ver: '1.0' }) })
      const report = await inspectToken(
        token,
        azureAd({
          tenant: TENANT,
          clientId: CLIENT_ID,
          jwksUri: jwks.jwksUri,
          tokenVersions: ['2.0'],
        }),
        { now: NOW },
      )
      expect(check(report, 'iss')).toMatchObject({
        status: 'fail',
        detail: `the token is a v1.0 token, and this API accepts v2.0 tokens only (see accessTokenAcceptedVersion in the app manifest) (the token has "${ENTRA_V1}")`,
      })
    })

    it('explains a token of another tenant, and a Microsoft Graph token', async () => {
      const token = await mintToken({
        claims: entraClaims({
          iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0`,
          tid: OTHER_TENANT,
          aud: '00000003-0000-0000-c000-000000000000',
        }),
      })
      const report = await inspectToken(token, entra(), { now: NOW })
      expect(check(report, 'iss').detail).toBe(
        `the token comes from another tenant than this API accepts (the token has "https://login.microsoftonline.com/${OTHER_TENANT}/v2.0")`,
      )
      expect(check(report, 'aud').detail).toMatch(/^the token is for Microsoft Graph, not this API/)
    })

    it('fails the key issuer check for a key of another tenant', async () => {
      withKeyIssuer(`https://login.microsoftonline.com/${OTHER_TENANT}/v2.0`)
      const token = await mintToken({ claims: entraClaims() })
      const report = await inspectToken(token, entra(), { now: NOW })
      expect(check(report, 'key_issuer')).toMatchObject({
        status: 'fail',
        detail: 'the signing key of the token belongs to another issuer',
      })
      expect(check(report, 'signature').status).toBe('pass')
    })

    it('applies the tenant allow-list of a multi-tenant API', async () => {
      const token = await mintToken({
        claims: entraClaims({
          iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0`,
          tid: OTHER_TENANT,
        }),
      })
      const multi = azureAd({
        tenant: 'organizations',
        clientId: CLIENT_ID,
        allowedTenants: [TENANT],
        jwksUri: jwks.jwksUri,
      })
      const report = await inspectToken(token, multi, { now: NOW })
      expect(check(report, 'iss').status).toBe('pass')
      expect(check(report, 'claims_rule')).toMatchObject({
        status: 'fail',
        detail: 'the token comes from a tenant that is not allowed to call this API',
      })
    })

    it.each([
      ['a good token', entraClaims()],
      ['a v1 token', entraClaims({ iss: ENTRA_V1, ver: '1.0' })],
      ['a token without permissions', entraClaims({ scp: undefined })],
      ['an ID token', entraClaims({ aud: 'someone', nonce: 'n' })],
      ['an iss of another tenant than tid', entraClaims({ tid: OTHER_TENANT })],
    ])('agrees with the validator on %s', async (_name, tokenClaims) => {
      withKeyIssuer('https://login.microsoftonline.com/{tenantid}/v2.0')
      const token = await mintToken({ claims: tokenClaims })
      const expected = await validatorVerdict(token, entra())
      const report = await inspectToken(token, entra(), { now: NOW })
      expect(report.error?.message).toBe(expected?.message)
      expect(report.error?.reason).toBe(expected?.reason)
    })
  })

  it('throws a TypeError for bad options or a bad time', async () => {
    const token = await mintToken()
    await expect(
      inspectToken(token, { ...options, audiance: 'x' } as unknown as ValidatorOptions),
    ).rejects.toThrow(TypeError)
    await expect(inspectToken(token, options, { now: Number.NaN })).rejects.toThrow(
      '"now" setting must be a number of seconds since the epoch',
    )
  })
})

describe('describeTime', () => {
  it('gives the ISO date and the time relative to now', () => {
    expect(describeTime(NOW + 300, NOW)).toBe('2020-11-03T15:12:18.000Z (in 5 min)')
    expect(describeTime(NOW - 3 * 3600, NOW)).toBe('2020-11-03T12:07:18.000Z (3 h ago)')
    expect(describeTime(NOW, NOW)).toBe('2020-11-03T15:07:18.000Z (now)')
  })

  it('says so when the number is no date', () => {
    expect(describeTime(1e20, NOW)).toMatch(/^not a valid date \(in \d+ d\)$/)
  })
})
