import { describe, expect, it } from 'vitest'
import { createValidator, SUPPORTED_ALGORITHMS, type ValidatorOptions } from '../../src/index.js'
import { checkGuardNames, normalizeTokenType, resolveOptions } from '../../src/options.js'
import { startCountingServer } from '../helpers/jwks-server.js'
import { ecKey, rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER } from '../helpers/tokens.js'

const JWKS_URI = 'https://issuer.example/.well-known/jwks.json'
const base = { issuer: ISSUER, audience: AUDIENCE, jwksUri: JWKS_URI }

/** Creates a validator from `base` with `name` set to `value` (or removed when undefined). */
function withOption(name: string, value: unknown): () => unknown {
  const options: Record<string, unknown> = { ...base, [name]: value }
  if (value === undefined) delete options[name]
  return () => createValidator(options as unknown as ValidatorOptions)
}

function typeErrorOf(fn: () => unknown): TypeError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    return error as TypeError
  }
  throw new Error('expected a TypeError')
}

describe('resolveOptions', () => {
  it('applies the documented defaults and freezes the result', () => {
    const resolved = resolveOptions(base)
    expect(Object.isFrozen(resolved)).toBe(true)
    expect(resolved).toMatchObject({
      issuerDescription: 'the expected issuer',
      clockTolerance: 60,
      maxTokenAge: undefined,
      requiredClaims: [],
      typRequired: false,
      maxTokenLength: 16_384,
      realm: 'api',
      cacheMaxAge: 3_600_000,
      cooldownDuration: 30_000,
      timeoutDuration: 5_000,
      maxStaleAge: 86_400_000,
      maxResponseSize: 524_288,
      onEvent: undefined,
    })
    expect([...(resolved.issuers ?? [])]).toEqual([ISSUER])
    expect([...resolved.audiences]).toEqual([AUDIENCE])
    expect([...resolved.algorithms]).toEqual([...SUPPORTED_ALGORITHMS])
    expect([...resolved.tokenTypes]).toEqual(['jwt', 'at+jwt'])
    expect(resolved.keySource).toEqual({ kind: 'jwks', url: new URL(JWKS_URI) })
  })

  it('never offers a symmetric algorithm or none by default', () => {
    expect(SUPPORTED_ALGORITHMS).toEqual([
      'RS256',
      'RS384',
      'RS512',
      'PS256',
      'PS384',
      'PS512',
      'ES256',
      'ES384',
      'ES512',
      'EdDSA',
    ])
  })

  it('raises the default maxStaleAge to cacheMaxAge when that is longer than a day', () => {
    expect(resolveOptions({ ...base, cacheMaxAge: 172_800_000 }).maxStaleAge).toBe(172_800_000)
  })

  it('normalises the accepted token types and makes typ required when they are set', () => {
    const resolved = resolveOptions({ ...base, tokenTypes: ['application/AT+JWT', 'JWT'] })
    expect([...resolved.tokenTypes]).toEqual(['at+jwt', 'jwt'])
    expect(resolved.typRequired).toBe(true)
  })

  it('copies list options, so later changes to the caller arrays have no effect', () => {
    const audience = [AUDIENCE]
    const issuer = [ISSUER]
    const algorithms: ValidatorOptions['algorithms'] = ['ES256']
    const resolved = resolveOptions({ ...base, audience, issuer, algorithms })
    audience.push('api://other')
    issuer.push('https://evil.example/')
    ;(algorithms as string[]).push('RS256')
    expect([...resolved.audiences]).toEqual([AUDIENCE])
    expect([...(resolved.issuers ?? [])]).toEqual([ISSUER])
    expect([...resolved.algorithms]).toEqual(['ES256'])
  })

  it('copies static keys, so a later change to the caller JWKS has no effect', () => {
    const jwks = toJwks(rsaKey)
    const resolved = resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys: jwks })
    ;(jwks.keys[0] as { kid?: string }).kid = 'changed'
    expect(resolved.keySource).toMatchObject({ kind: 'static', jwks: { keys: [{ kid: 'rsa-1' }] } })
  })

  it.each([
    'http://127.0.0.1:8080/keys',
    'http://localhost/keys',
    'http://[::1]:3000/keys',
    'https://issuer.example/keys',
    'HTTPS://ISSUER.EXAMPLE/keys',
  ])('accepts the key URL %s', (url) => {
    expect(() => createValidator({ ...base, jwksUri: url })).not.toThrow()
    expect(() =>
      createValidator({ issuer: ISSUER, audience: AUDIENCE, discoveryUrl: url }),
    ).not.toThrow()
  })

  it('accepts an issuer predicate, lists, and boundary values', () => {
    expect(() =>
      createValidator({
        ...base,
        issuer: () => true,
        audience: [AUDIENCE, 'api://other'],
        clockTolerance: 300,
        maxTokenAge: 1,
        maxTokenLength: 64,
        cacheMaxAge: 1_000,
        cooldownDuration: 0,
        timeoutDuration: 1,
        maxStaleAge: 1_000,
        maxResponseSize: 1_024,
        requiredClaims: [],
        realm: 'a "quoted" \\ realm',
      }),
    ).not.toThrow()
    expect(() => createValidator({ ...base, clockTolerance: 0 })).not.toThrow()
  })

  it('resolves the token cache, caller rules and hooks', () => {
    const hook = () => undefined
    expect(resolveOptions(base)).toMatchObject({
      tokenCacheEntries: 1_000,
      allowedClients: undefined,
      requirePermissions: false,
      signingKeyIssuer: undefined,
      validateClaims: undefined,
      describeRejection: undefined,
    })
    expect(resolveOptions({ ...base, tokenCache: false }).tokenCacheEntries).toBe(0)
    expect(resolveOptions({ ...base, tokenCache: {} }).tokenCacheEntries).toBe(1_000)
    expect(resolveOptions({ ...base, tokenCache: { maxEntries: 5 } }).tokenCacheEntries).toBe(5)
    const resolved = resolveOptions({
      ...base,
      allowedClients: ['a', 'b'],
      requirePermissions: true,
      validateClaims: hook,
      describeRejection: hook,
      signingKeyIssuer: () => true,
    })
    expect([...(resolved.allowedClients ?? [])]).toEqual(['a', 'b'])
    expect(resolved.requirePermissions).toBe(true)
    expect(resolved.validateClaims).toBe(hook)
  })

  it('makes no network request when a validator is created', async () => {
    const trap = await startCountingServer()
    try {
      createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: trap.url })
      createValidator({ issuer: ISSUER, audience: AUDIENCE, discoveryUrl: trap.url })
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(trap.hits).toBe(0)
    } finally {
      await trap.close()
    }
  })
})

describe('resolveOptions (bad values)', () => {
  const cases: [string, unknown][] = [
    ['issuer', undefined],
    ['issuer', ''],
    ['issuer', 42],
    ['issuer', null],
    ['issuer', []],
    ['issuer', ['']],
    ['issuer', [ISSUER, 42]],
    ['issuer', { url: ISSUER }],
    ['audience', undefined],
    ['audience', ''],
    ['audience', 42],
    ['audience', null],
    ['audience', []],
    ['audience', ['']],
    ['audience', [AUDIENCE, null]],
    ['jwksUri', ''],
    ['jwksUri', 42],
    ['jwksUri', 'not a url'],
    ['jwksUri', '/relative/keys'],
    ['jwksUri', 'ftp://issuer.example/keys'],
    ['jwksUri', 'file:///etc/passwd'],
    ['jwksUri', 'javascript:alert(1)'],
    ['jwksUri', 'http://issuer.example/keys'],
    ['jwksUri', 'http://10.0.0.1/keys'],
    ['jwksUri', 'http://127.0.0.2/keys'],
    ['jwksUri', 'http://localhost.evil.example/keys'],
    ['jwksUri', 'http://169.254.169.254/latest/meta-data'],
    ['jwksUri', 'https://user:secret@issuer.example/keys'],
    ['jwksUri', 'https://user@issuer.example/keys'],
    ['algorithms', []],
    ['algorithms', 42],
    ['algorithms', ['']],
    ['algorithms', ['none']],
    ['algorithms', ['None']],
    ['algorithms', ['NONE']],
    ['algorithms', ['HS256']],
    ['algorithms', ['HS384']],
    ['algorithms', ['HS512']],
    ['algorithms', ['hs256']],
    ['algorithms', 'HS256'],
    ['algorithms', ['RS256', 'HS256']],
    ['algorithms', ['RS1']],
    ['algorithms', ['rs256']],
    ['algorithms', ['RSA-OAEP']],
    ['algorithms', ['dir']],
    ['clockTolerance', -1],
    ['clockTolerance', 301],
    ['clockTolerance', 300.5],
    ['clockTolerance', 3600],
    ['clockTolerance', Number.NaN],
    ['clockTolerance', Number.POSITIVE_INFINITY],
    ['clockTolerance', '60'],
    ['clockTolerance', '1 min'],
    ['clockTolerance', null],
    ['maxTokenAge', 0],
    ['maxTokenAge', -5],
    ['maxTokenAge', 31_536_001],
    ['maxTokenAge', Number.NaN],
    ['maxTokenAge', '1h'],
    ['requiredClaims', 5],
    ['requiredClaims', ['']],
    ['requiredClaims', ['sub', 5]],
    ['requiredClaims', { sub: true }],
    ['tokenTypes', []],
    ['tokenTypes', ['']],
    ['tokenTypes', 5],
    ['maxTokenLength', 63],
    ['maxTokenLength', 1_048_577],
    ['maxTokenLength', 'big'],
    ['maxTokenLength', Number.POSITIVE_INFINITY],
    ['realm', ''],
    ['realm', 5],
    ['realm', 'a\nb'],
    ['realm', 'a\r\nSet-Cookie: x=y'],
    ['realm', 'tab\there'],
    ['realm', 'caf\u00e9'],
    ['realm', '\u0000'],
    ['cacheMaxAge', 999],
    ['cacheMaxAge', 604_800_001],
    ['cacheMaxAge', -1],
    ['cacheMaxAge', '1h'],
    ['cooldownDuration', -1],
    ['cooldownDuration', 86_400_001],
    ['cooldownDuration', '30s'],
    ['timeoutDuration', 0],
    ['timeoutDuration', 120_001],
    ['timeoutDuration', Number.NaN],
    ['maxStaleAge', 1_000],
    ['maxStaleAge', 3_599_999],
    ['maxStaleAge', 2_592_000_001],
    ['maxResponseSize', 1_023],
    ['maxResponseSize', 16_777_217],
    ['maxResponseSize', '1mb'],
    ['tokenCache', true],
    ['tokenCache', 100],
    ['tokenCache', null],
    ['tokenCache', { maxEntries: -1 }],
    ['tokenCache', { maxEntries: 1.5 }],
    ['tokenCache', { maxEntries: '10' }],
    ['tokenCache', { maxEntries: 10_000_001 }],
    ['tokenCache', { max: 10 }],
    ['allowedClients', []],
    ['allowedClients', ['']],
    ['allowedClients', 42],
    ['requirePermissions', 'yes'],
    ['requirePermissions', 1],
    ['signingKeyIssuer', 'https://issuer.example/'],
    ['validateClaims', {}],
    ['describeRejection', 'text'],
    ['onEvent', 'console.log'],
    ['onEvent', {}],
    ['onEvent', null],
  ]

  it.each(cases)('refuses "%s" = %j with a TypeError naming the option', (name, value) => {
    const error = typeErrorOf(withOption(name, value))
    expect(error.message).toContain(`"${name}" option`)
  })

  it.each([
    ['discoveryUrl', 'http://issuer.example/.well-known/openid-configuration'],
    ['discoveryUrl', 'not a url'],
    ['discoveryUrl', 42],
    ['discoveryUrl', ''],
  ])('refuses "%s" = %j with a TypeError naming the option', (name, value) => {
    const error = typeErrorOf(() =>
      createValidator({ issuer: ISSUER, audience: AUDIENCE, [name]: value } as ValidatorOptions),
    )
    expect(error.message).toContain(`"${name}" option`)
  })

  it.each([
    [[]],
    [{ keys: [] }],
    [{}],
    ['jwks'],
    [[{}]],
    [[null]],
    [[{ kty: 5 }]],
    [{ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }],
    [[{ ...rsaKey.privateJwk }]],
    [[{ ...ecKey.publicJwk }, { ...ecKey.privateJwk }]],
  ])('refuses "keys" = %j with a TypeError naming the option', (keys) => {
    const error = typeErrorOf(() =>
      createValidator({ issuer: ISSUER, audience: AUDIENCE, keys } as unknown as ValidatorOptions),
    )
    expect(error.message).toContain('"keys" option')
  })

  it('gives the exact messages of the most common mistakes', () => {
    expect(typeErrorOf(withOption('audience', undefined)).message).toBe(
      '"audience" option is required',
    )
    expect(typeErrorOf(withOption('issuer', undefined)).message).toBe('"issuer" option is required')
    expect(typeErrorOf(withOption('audience', [])).message).toBe(
      '"audience" option must be a non-empty string or an array of them',
    )
    expect(typeErrorOf(withOption('clockTolerance', 301)).message).toBe(
      '"clockTolerance" option must be a number of seconds from 0 to 300',
    )
    expect(typeErrorOf(withOption('algorithms', ['HS256'])).message).toBe(
      '"algorithms" option must not contain "HS256": only asymmetric algorithms are accepted',
    )
    expect(typeErrorOf(withOption('algorithms', ['none'])).message).toBe(
      '"algorithms" option must not contain "none": only asymmetric algorithms are accepted',
    )
    expect(typeErrorOf(withOption('jwksUri', 'http://issuer.example/keys')).message).toBe(
      '"jwksUri" option must be an https URL (plain http is allowed only on a loopback host)',
    )
  })

  it('refuses options that are not an object', () => {
    expect(() => createValidator(undefined as unknown as ValidatorOptions)).toThrow(TypeError)
    expect(() => createValidator(null as unknown as ValidatorOptions)).toThrow(TypeError)
    expect(() => createValidator('https://issuer.example/' as unknown as ValidatorOptions)).toThrow(
      TypeError,
    )
  })
})

describe('resolveOptions (key sources)', () => {
  it.each([
    ['a predicate', () => true],
    ['two issuers', [ISSUER, 'https://other.example/']],
    ['a plain-http issuer', 'http://issuer.example/'],
    ['an issuer that is not a URL', 'issuer-1'],
    ['an issuer with a query', 'https://issuer.example/?tenant=1'],
    ['an issuer with a fragment', 'https://issuer.example/#a'],
  ])('refuses a validator without a key source whose issuer is %s', (_, issuer) => {
    expect(typeErrorOf(() => createValidator({ issuer, audience: AUDIENCE })).message).toBe(
      'a key source is required: set one of "jwksUri", "discoveryUrl" or "keys" (or a single https "issuer", whose discovery document names its keys)',
    )
  })

  it.each([
    [ISSUER, 'https://issuer.example/.well-known/openid-configuration'],
    [[ISSUER], 'https://issuer.example/.well-known/openid-configuration'],
    ['http://127.0.0.1:9/t/', 'http://127.0.0.1:9/t/.well-known/openid-configuration'],
  ])('discovers the keys of a single issuer %j without a key source', (issuer, url) => {
    const { keySource } = createValidator({ issuer, audience: AUDIENCE }).options
    expect(keySource.kind).toBe('discovery')
    expect(keySource.kind === 'discovery' && keySource.url.href).toBe(url)
  })

  it.each([
    [{ jwksUri: JWKS_URI, keys: toJwks(rsaKey) }, '"jwksUri" and "keys"'],
    [{ jwksUri: JWKS_URI, discoveryUrl: `${JWKS_URI}/disc` }, '"jwksUri" and "discoveryUrl"'],
    [
      { jwksUri: JWKS_URI, discoveryUrl: `${JWKS_URI}/disc`, keys: toJwks(rsaKey) },
      '"jwksUri" and "discoveryUrl" and "keys"',
    ],
  ])('refuses two key sources at once: %j', (sources, named) => {
    const error = typeErrorOf(() =>
      createValidator({ issuer: ISSUER, audience: AUDIENCE, ...sources }),
    )
    expect(error.message).toBe(`only one key source may be set, got ${named}`)
  })

  it('accepts static keys as a JWKS or as a list of JWKs', () => {
    expect(
      resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) }).keySource.kind,
    ).toBe('static')
    expect(
      resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys: [rsaKey.publicJwk] }).keySource
        .kind,
    ).toBe('static')
  })
})

describe('resolveOptions (unknown options)', () => {
  it.each([
    ['audiance', 'audience'],
    ['Audience', 'audience'],
    ['issuers', 'issuer'],
    ['jwks_uri', 'jwksUri'],
    ['jwksUrl', 'jwksUri'],
    ['algorithm', 'algorithms'],
    ['clockSkew', 'clockTolerance'],
    ['discoveryUri', 'discoveryUrl'],
  ])('refuses the unknown option "%s" and suggests "%s"', (name, hint) => {
    const error = typeErrorOf(withOption(name, 'x'))
    expect(error.message).toBe(`unknown option "${name}" (did you mean "${hint}"?)`)
  })

  it('refuses an unknown option without a near name, with no suggestion', () => {
    expect(typeErrorOf(withOption('zzz', 1)).message).toBe('unknown option "zzz"')
  })

  it('refuses an unknown option even when its value is undefined', () => {
    const options = { ...base, audiance: undefined } as unknown as ValidatorOptions
    expect(() => createValidator(options)).toThrow(TypeError)
  })
})

describe('normalizeTokenType', () => {
  it.each([
    ['JWT', 'jwt'],
    ['at+jwt', 'at+jwt'],
    ['AT+JWT', 'at+jwt'],
    ['application/at+jwt', 'at+jwt'],
    ['Application/AT+JWT', 'at+jwt'],
    ['application/', ''],
    ['dpop+jwt', 'dpop+jwt'],
  ])('normalises %j to %j', (typ, normalised) => {
    expect(normalizeTokenType(typ)).toBe(normalised)
  })
})

describe('checkGuardNames', () => {
  it('returns valid names and refuses empty lists and non-NQCHAR names', () => {
    expect(checkGuardNames('requireScopes', ['a', 'b.c'])).toEqual(['a', 'b.c'])
    expect(() => checkGuardNames('requireScopes', [])).toThrow(TypeError)
    for (const bad of ['', 'a b', 'a"b', 'a\\b', 5, null, 'é']) {
      expect(() => checkGuardNames('requireScopes', [bad])).toThrow(TypeError)
    }
  })
})
