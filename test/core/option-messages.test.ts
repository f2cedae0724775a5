/**
 * The exact `TypeError` each misconfiguration gives at start-up (STYLE.md: the message names the
 * option, as jose does). options.test.ts checks that the option is named; this pins the whole
 * message, its unit and its bounds, so a developer reading it knows what to change.
 */
import { describe, expect, it } from 'vitest'
import {
  createValidator,
  requireAnyRole,
  requireClaims,
  requireRoles,
  requireScopes,
  requireScopesOrRoles,
  type ValidatorOptions,
} from '../../src/index.js'
import { resolveOptions } from '../../src/options.js'
import { ecKey, rsaKey } from '../helpers/keys.js'
import { AUDIENCE, ISSUER } from '../helpers/tokens.js'

const base = { issuer: ISSUER, audience: AUDIENCE, jwksUri: 'https://issuer.example/keys' }

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    return (error as TypeError).message
  }
  throw new Error('expected a TypeError')
}

const create = (options: Record<string, unknown>) => () =>
  createValidator(options as unknown as ValidatorOptions)
const withOption = (name: string, value: unknown) => create({ ...base, [name]: value })

describe('createValidator: exact messages', () => {
  it.each([
    ['clockTolerance', 301, '"clockTolerance" option must be a number of seconds from 0 to 300'],
    ['maxTokenAge', 0, '"maxTokenAge" option must be a number of seconds from 1 to 31536000'],
    [
      'maxTokenLength',
      63,
      '"maxTokenLength" option must be a number of characters from 64 to 1048576',
    ],
    [
      'cacheMaxAge',
      999,
      '"cacheMaxAge" option must be a number of milliseconds from 1000 to 604800000',
    ],
    [
      'cooldownDuration',
      -1,
      '"cooldownDuration" option must be a number of milliseconds from 0 to 86400000',
    ],
    [
      'timeoutDuration',
      0,
      '"timeoutDuration" option must be a number of milliseconds from 1 to 120000',
    ],
    [
      'maxStaleAge',
      1_000,
      '"maxStaleAge" option must be a number of milliseconds from 3600000 to 2592000000',
    ],
    [
      'maxResponseSize',
      1_023,
      '"maxResponseSize" option must be a number of bytes from 1024 to 16777216',
    ],
  ])('"%s" = %j: %s', (name, value, message) => {
    expect(messageOf(withOption(name, value))).toBe(message)
  })

  it.each([Number.NaN, Number.POSITIVE_INFINITY, '5', null, true])(
    'refuses a clockTolerance of %j, which is not a finite number',
    (value) => {
      expect(messageOf(withOption('clockTolerance', value))).toBe(
        '"clockTolerance" option must be a number of seconds from 0 to 300',
      )
    },
  )

  it('accepts every number option at its bounds', () => {
    const low = resolveOptions({
      ...base,
      clockTolerance: 0,
      maxTokenAge: 1,
      maxTokenLength: 64,
      cacheMaxAge: 1_000,
      cooldownDuration: 0,
      timeoutDuration: 1,
      maxStaleAge: 1_000,
      maxResponseSize: 1_024,
    })
    expect(low).toMatchObject({ clockTolerance: 0, maxStaleAge: 1_000, maxTokenAge: 1 })
    const high = resolveOptions({
      ...base,
      clockTolerance: 300,
      maxTokenAge: 31_536_000,
      maxTokenLength: 1_048_576,
      cacheMaxAge: 604_800_000,
      cooldownDuration: 86_400_000,
      timeoutDuration: 120_000,
      maxStaleAge: 2_592_000_000,
      maxResponseSize: 16_777_216,
    })
    expect(high).toMatchObject({ clockTolerance: 300, maxResponseSize: 16_777_216 })
  })

  it('accepts a token cache of 0 and of 10,000,000 entries, and nothing outside', () => {
    expect(resolveOptions({ ...base, tokenCache: { maxEntries: 0 } }).tokenCacheEntries).toBe(0)
    expect(
      resolveOptions({ ...base, tokenCache: { maxEntries: 10_000_000 } }).tokenCacheEntries,
    ).toBe(10_000_000)
    expect(resolveOptions({ ...base, tokenCache: {} }).tokenCacheEntries).toBe(1_000)
    const message = '"tokenCache" option\'s "maxEntries" must be a whole number from 0 to 10000000'
    for (const maxEntries of [-1, 10_000_001, '5', 1.5, null]) {
      expect(messageOf(withOption('tokenCache', { maxEntries }))).toBe(message)
    }
  })

  it('refuses options that are not an object', () => {
    for (const options of [null, undefined, 'options', 42]) {
      expect(messageOf(() => createValidator(options as unknown as ValidatorOptions))).toBe(
        'options must be an object',
      )
    }
  })

  it.each([
    ['jwksUri', 42, '"jwksUri" option must be a URL string'],
    ['jwksUri', '', '"jwksUri" option must be a URL string'],
    ['jwksUri', 'keys', '"jwksUri" option must be an absolute URL'],
    ['jwksUri', 'https://user@issuer.example/keys', '"jwksUri" option must not carry credentials'],
    ['jwksUri', 'https://:pw@issuer.example/keys', '"jwksUri" option must not carry credentials'],
    [
      'jwksUri',
      'http://issuer.example/keys',
      '"jwksUri" option must be an https URL (plain http is allowed only on a loopback host)',
    ],
    [
      'jwksUri',
      'ftp://127.0.0.1/keys',
      '"jwksUri" option must be an https URL (plain http is allowed only on a loopback host)',
    ],
    [
      'discoveryUrl',
      'http://issuer.example/.well-known/openid-configuration',
      '"discoveryUrl" option must be an https URL (plain http is allowed only on a loopback host)',
    ],
  ])('"%s" = %j: %s', (name, value, message) => {
    const options: Record<string, unknown> = { issuer: ISSUER, audience: AUDIENCE, [name]: value }
    expect(messageOf(create(options))).toBe(message)
  })

  it.each([
    'http://127.0.0.1:8080/keys',
    'http://localhost/keys',
    'http://[::1]:9/keys',
    'https://issuer.example/keys',
  ])('accepts the key URL %s', (jwksUri) => {
    expect(resolveOptions({ issuer: ISSUER, audience: AUDIENCE, jwksUri }).keySource.kind).toBe(
      'jwks',
    )
  })

  // Labels, not %j: Stryker selects tests by name, and a name holding a whole JWK never matches.
  it.each([
    [
      'a private RSA key',
      [{ ...rsaKey.privateJwk }],
      '"keys" option must contain public keys only (a JWK with "d" is private)',
    ],
    [
      'a public and a private EC key',
      { keys: [ecKey.publicJwk, { ...ecKey.privateJwk }] },
      '"keys" option must contain public keys only (a JWK with "d" is private)',
    ],
    [
      'a symmetric key',
      [{ kty: 'oct', k: 'c2VjcmV0' }],
      '"keys" option must not contain symmetric ("oct") keys',
    ],
    ['null', [null], '"keys" option must contain JWK objects with a "kty"'],
    ['a string', ['RSA'], '"keys" option must contain JWK objects with a "kty"'],
    ['a numeric kty', [{ kty: 7 }], '"keys" option must contain JWK objects with a "kty"'],
    [
      'keys that is a string',
      { keys: 'x' },
      '"keys" option must be a JSON Web Key Set or a non-empty array of JWKs',
    ],
    [
      'an empty object',
      {},
      '"keys" option must be a JSON Web Key Set or a non-empty array of JWKs',
    ],
    ['an empty list', [], '"keys" option must be a JSON Web Key Set or a non-empty array of JWKs'],
    ['null itself', null, '"keys" option must be a JSON Web Key Set or a non-empty array of JWKs'],
  ])('"keys" holding %s: %s', (_, keys, message) => {
    expect(messageOf(create({ issuer: ISSUER, audience: AUDIENCE, keys }))).toBe(message)
  })

  it('accepts static keys as a list or as a JWKS, public keys only', () => {
    for (const keys of [[rsaKey.publicJwk], { keys: [rsaKey.publicJwk, ecKey.publicJwk] }]) {
      expect(resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys }).keySource.kind).toBe(
        'static',
      )
    }
  })

  it.each([
    [
      'HS256',
      '"algorithms" option must not contain "HS256": only asymmetric algorithms are accepted',
    ],
    [
      'hs512',
      '"algorithms" option must not contain "hs512": only asymmetric algorithms are accepted',
    ],
    [
      'none',
      '"algorithms" option must not contain "none": only asymmetric algorithms are accepted',
    ],
    [
      'RSHS256',
      '"algorithms" option contains unsupported "RSHS256"; supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA',
    ],
  ])('"algorithms" with %s: %s', (alg, message) => {
    expect(messageOf(withOption('algorithms', ['RS256', alg]))).toBe(message)
  })

  it.each([
    ['Algorithms', 'algorithms'],
    ['cacheMax', 'cacheMaxAge'],
    ['timeout', 'timeoutDuration'],
    ['maxStale', 'maxStaleAge'],
  ])('suggests a near option name: "%s" -> "%s"', (name, hint) => {
    expect(messageOf(withOption(name, 1))).toBe(
      `unknown option "${name}" (did you mean "${hint}"?)`,
    )
  })

  // Found by mutation testing (issue 6): the hint was the first option sharing four leading
  // letters, so "tokencache" got "tokenTypes". An exact case-insensitive match now wins.
  it.each([
    ['tokencache', 'tokenCache'],
    ['maxtokenlength', 'maxTokenLength'],
  ])('suggests the option "%s" differs from only in case: "%s"', (name, hint) => {
    expect(messageOf(withOption(name, 1))).toBe(
      `unknown option "${name}" (did you mean "${hint}"?)`,
    )
  })

  it.each(['xyz', 'abc', 'q'])('suggests nothing for "%s"', (name) => {
    expect(messageOf(withOption(name, 1))).toBe(`unknown option "${name}"`)
  })
})

describe('guards: exact messages at creation', () => {
  it.each([
    [() => requireRoles(), 'requireRoles needs at least one name'],
    [() => requireAnyRole(), 'requireRoles needs at least one name'],
    [() => requireScopes(), 'requireScopes needs at least one name'],
    [
      () => requireRoles('a b'),
      'requireRoles names must be non-empty strings without spaces, quotes or backslashes',
    ],
    [
      () => requireScopes(['a'], { match: 'some' as 'any' }),
      'requireScopes: "match" option must be "all" or "any"',
    ],
    [
      () => requireRoles(['a'], 'any' as never),
      'requireRoles: "match" option must be "all" or "any"',
    ],
    [() => requireScopesOrRoles([], []), 'requireScopesOrRoles needs at least one scope or role'],
    [
      () => requireScopesOrRoles(['a b'], []),
      'requireScopesOrRoles names must be non-empty strings without spaces, quotes or backslashes',
    ],
    [
      () => requireScopesOrRoles([], ['a"b']),
      'requireScopesOrRoles names must be non-empty strings without spaces, quotes or backslashes',
    ],
    [() => requireClaims('yes' as never), 'requireClaims needs a predicate function'],
  ])('%s', (fn, message) => {
    expect(messageOf(fn)).toBe(message)
  })
})
