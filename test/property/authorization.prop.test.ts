import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BearerGuardError,
  extractBearerToken,
  extractCredentials,
  InvalidRequestError,
  parseAuthorization,
  readAuthorization,
} from '../../src/index.js'

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
const b64token = fc.stringMatching(B64TOKEN)
const schemeCasing = fc.mixedCase(fc.constant('bearer'))
const spaces = fc.integer({ min: 1, max: 12 }).map((n) => ' '.repeat(n))

/** Strings near the grammar: Bearer-ish prefixes, separators and token characters. */
const nearHeader = fc
  .array(
    fc.constantFrom(
      'Bearer',
      'bearer',
      'BEARER',
      'Basic',
      ' ',
      '  ',
      '\t',
      '\r\n',
      '\n',
      '=',
      '==',
      ',',
      ';',
      '"',
      '.',
      'a',
      'Z9',
      '-_~+/',
      'é',
      '\u0000',
      '\u00a0',
      'x',
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''))

const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 80 }),
  nearHeader,
  fc.tuple(schemeCasing, fc.string({ maxLength: 40 })).map(([s, rest]) => s + rest),
)

/** Counterexamples and edge cases kept as fixed examples. */
const fixedHeaders = [
  'Bearer',
  'Bearer ',
  'Bearer\t',
  'Bearer\tx',
  'Bearer x ',
  ' Bearer x',
  'Bearer =',
  'Bearer x=y',
  'Bearer x\n',
  'Bearerx',
  'bearer\u00a0x',
  '',
  '\t',
  'Bearer x, Bearer y',
]

describe('extractBearerToken (property)', () => {
  it('returns any b64token unchanged, whatever the scheme casing and number of spaces', () => {
    fc.assert(
      fc.property(schemeCasing, spaces, b64token, (scheme, gap, token) => {
        expect(extractBearerToken(`${scheme}${gap}${token}`)).toBe(token)
      }),
      {
        numRuns: 500,
        examples: [
          ['Bearer', ' ', 'a='],
          ['bEARER', '   ', '~'],
          ['BEARER', ' ', '+/=='],
        ],
      },
    )
  })

  it('returns undefined, a b64token, or throws a 400 BearerGuardError for any string', () => {
    fc.assert(
      fc.property(anyString, (header) => {
        let result: string | undefined
        try {
          result = extractBearerToken(header)
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidRequestError)
          expect((error as BearerGuardError).status).toBe(400)
          expect((error as BearerGuardError).code).toBe('invalid_request')
          // Bearer credentials that are malformed, or Bearer credentials joined after others.
          const bearerFirst =
            header
              .replace(/^[ \t]+/, '')
              .slice(0, 6)
              .toLowerCase() === 'bearer'
          expect(bearerFirst || /,[ \t]*bearer(?:[ \t]|$)/i.test(header)).toBe(true)
          return
        }
        if (result !== undefined) {
          expect(result).toMatch(B64TOKEN)
          expect(header.replace(/[ \t]+$/, '').endsWith(result)).toBe(true)
        }
      }),
      { numRuns: 2_000, examples: fixedHeaders.map((h) => [h]) },
    )
  })

  it('treats every other scheme as no credentials', () => {
    const otherScheme = fc
      .stringMatching(/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*$/)
      .filter((scheme) => scheme.toLowerCase() !== 'bearer')
    fc.assert(
      fc.property(otherScheme, spaces, fc.string({ maxLength: 40 }), (scheme, gap, rest) => {
        const header = `${scheme}${gap}${rest}`
        fc.pre(!header.toLowerCase().startsWith('bearer'))
        expect(extractBearerToken(header)).toBeUndefined()
      }),
      {
        numRuns: 500,
        examples: [
          ['Bearerx', ' ', 'abc'],
          ['Basic', ' ', 'dXNlcjpwYXNz'],
        ],
      },
    )
  })

  it('refuses a Bearer value with any character outside the b64token grammar', () => {
    const outside = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 1 })
      .filter((ch) => !/[A-Za-z0-9\-._~+/= \t]/.test(ch))
    fc.assert(
      fc.property(b64token, outside, b64token, (before, bad, after) => {
        expect(() => extractBearerToken(`Bearer ${before}${bad}${after}`)).toThrow(
          InvalidRequestError,
        )
      }),
      { numRuns: 500 },
    )
  })
})

describe('parseAuthorization (property)', () => {
  it('never throws anything but a BearerGuardError, and always a 400 for several values', () => {
    fc.assert(
      fc.property(fc.array(anyString, { maxLength: 4 }), (values) => {
        try {
          parseAuthorization(values)
        } catch (error) {
          expect(error).toBeInstanceOf(BearerGuardError)
          expect((error as BearerGuardError).status).toBe(400)
          if (values.length > 1) {
            expect((error as BearerGuardError).reason).toBe('multiple_authorization')
          }
          return
        }
        expect(values.length).toBeLessThanOrEqual(1)
      }),
      { numRuns: 1_000 },
    )
  })
})

describe('readAuthorization (property)', () => {
  const name = fc.oneof(
    fc.mixedCase(fc.constant('authorization')),
    fc.constantFrom('Host', 'Accept', 'X-Authorization', 'Authorization2', 'Proxy-Authorization'),
  )

  it('returns the Authorization values of a raw header list, in order, whatever their case', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.string({ maxLength: 20 })), { maxLength: 8 }),
        (pairs) => {
          const expected = pairs
            .filter(([n]) => n.toLowerCase() === 'authorization')
            .map(([, value]) => value)
          const result = readAuthorization(pairs.flat())
          if (expected.length === 0) expect(result).toBeUndefined()
          else if (expected.length === 1) expect(result).toBe(expected[0])
          else expect(result).toEqual(expected)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('recognises a scheme as toLowerCase() does, for any characters (ASCII folding, no string made)', () => {
    // Characters near the scheme names: their letters in both cases, '_', characters whose
    // lower case is ASCII (the Kelvin sign, İ) or that fold oddly (ſ, ß), and neighbours of
    // the letters with the 0x20 bit set or cleared.
    const near = fc.constantFrom(
      ...'bearerBEARERdpopDPOPmtls_popMTLS_POP',
      '\u212a',
      '\u0130',
      '\u017f',
      '\u00df',
      '\u007f',
      '@',
      '`',
      '{',
      '0',
    )
    const head = fc.oneof(
      fc.string({ unit: near, minLength: 4, maxLength: 8 }),
      fc.mixedCase(fc.constantFrom('bearer', 'dpop', 'mtls_pop')),
    )
    const accepted = { dpop: true, mtlsPop: true }
    fc.assert(
      fc.property(head, (scheme) => {
        const lower = scheme.toLowerCase()
        const expected = ['bearer', 'dpop', 'mtls_pop'].includes(lower) ? lower : undefined
        let found: string | undefined
        try {
          found = extractCredentials(`${scheme} abc`, accepted)?.scheme.toLowerCase()
        } catch {
          found = 'threw'
        }
        expect(found).toBe(expected)
      }),
      { numRuns: 2_000 },
    )
  })
})
