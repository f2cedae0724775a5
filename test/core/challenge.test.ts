import { validateHeaderValue } from 'node:http'
import { describe, expect, it } from 'vitest'
import {
  isScopeToken,
  MAX_DESCRIPTION_LENGTH,
  quoteRealm,
  sanitizeDescription,
} from '../../src/challenge.js'
import { formatChallenge } from '../../src/index.js'

describe('formatChallenge', () => {
  it('sends only the realm when the request had no credentials (RFC 6750 §3.1)', () => {
    expect(formatChallenge({ realm: 'api' })).toBe('Bearer realm="api"')
  })

  it('orders the parameters realm, error, error_description, scope', () => {
    expect(
      formatChallenge({
        scope: ['Files.Read', 'Files.Write'],
        description: 'the token lacks a scope',
        error: 'insufficient_scope',
        realm: 'api',
      }),
    ).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="the token lacks a scope", scope="Files.Read Files.Write"',
    )
  })

  it.each(['invalid_request', 'invalid_token', 'insufficient_scope'] as const)(
    'sends the error code %s quoted',
    (error) => {
      expect(formatChallenge({ realm: 'api', error })).toBe(`Bearer realm="api", error="${error}"`)
    },
  )

  it('leaves out an empty description', () => {
    expect(formatChallenge({ realm: 'api', error: 'invalid_token', description: '' })).toBe(
      'Bearer realm="api", error="invalid_token"',
    )
  })

  it('leaves out an empty scope list, and one whose every name is invalid', () => {
    expect(formatChallenge({ realm: 'api', error: 'insufficient_scope', scope: [] })).toBe(
      'Bearer realm="api", error="insufficient_scope"',
    )
    expect(
      formatChallenge({ realm: 'api', error: 'insufficient_scope', scope: ['a b', '', 'x"y'] }),
    ).toBe('Bearer realm="api", error="insufficient_scope"')
  })

  it('drops scope names that are not NQCHAR tokens and keeps the others in order', () => {
    expect(
      formatChallenge({
        realm: 'api',
        scope: ['b', 'a b', 'a', 'x"y', 'back\\slash', 'é', 'c:d/e'],
      }),
    ).toBe('Bearer realm="api", scope="b a c:d/e"')
  })

  it('escapes a quote and a backslash in the realm as a quoted-string (RFC 7230 §3.2.6)', () => {
    expect(formatChallenge({ realm: 'a"b\\c' })).toBe('Bearer realm="a\\"b\\\\c"')
  })

  it('replaces a quote in the description with an apostrophe and a backslash with ?', () => {
    expect(
      formatChallenge({ realm: 'api', error: 'invalid_token', description: 'bad "aud" \\ x' }),
    ).toBe(`Bearer realm="api", error="invalid_token", error_description="bad 'aud' ? x"`)
  })

  it('cannot be made to inject a header through the description', () => {
    const value = formatChallenge({
      realm: 'api',
      error: 'invalid_token',
      description: 'x"\r\nSet-Cookie: a=b',
    })
    expect(value).toBe(
      `Bearer realm="api", error="invalid_token", error_description="x'??Set-Cookie: a=b"`,
    )
    expect(() => validateHeaderValue('WWW-Authenticate', value)).not.toThrow()
  })

  // Found by this suite: quoteRealm used to copy CR, LF and other control characters into the
  // header value (Node then refuses to send it, ERR_INVALID_CHAR). Options only accept printable
  // ASCII realms, but formatChallenge and the error classes are public.
  it('keeps a realm with control or non-ASCII characters within a valid header value', () => {
    const value = formatChallenge({ realm: 'api\r\nSet-Cookie: a=b' })
    expect(value).toBe('Bearer realm="api??Set-Cookie: a=b"')
    expect(() => validateHeaderValue('WWW-Authenticate', value)).not.toThrow()
    expect(formatChallenge({ realm: 'caf\u00e9 "\\' })).toBe('Bearer realm="caf? \\"\\\\"')
  })
})

describe('sanitizeDescription', () => {
  it('keeps every character RFC 6750 allows (%x20-21 / %x23-5B / %x5D-7E)', () => {
    let allowed = ''
    for (let code = 0x20; code <= 0x7e; code++) {
      if (code !== 0x22 && code !== 0x5c) allowed += String.fromCharCode(code)
    }
    expect(sanitizeDescription(allowed)).toBe(allowed)
  })

  it.each([
    ['\u0000', '?'],
    ['\t', '?'],
    ['\n', '?'],
    ['\r', '?'],
    ['\u007f', '?'],
    ['\u0080', '?'],
    ['é', '?'],
    ['\u2028', '?'],
    ['\u{1F600}', '??'],
    ['"', "'"],
    ['\\', '?'],
  ])('replaces %j with %j', (input, output) => {
    expect(sanitizeDescription(`a${input}b`)).toBe(`a${output}b`)
  })

  it(`cuts text longer than ${MAX_DESCRIPTION_LENGTH} characters`, () => {
    expect(MAX_DESCRIPTION_LENGTH).toBe(300)
    expect(sanitizeDescription('x'.repeat(300))).toBe('x'.repeat(300))
    expect(sanitizeDescription('x'.repeat(301))).toBe('x'.repeat(300))
    expect(sanitizeDescription('"'.repeat(10_000))).toBe("'".repeat(300))
  })
})

describe('quoteRealm', () => {
  it('wraps the realm in quotes and escapes quote and backslash', () => {
    expect(quoteRealm('api')).toBe('"api"')
    expect(quoteRealm('')).toBe('""')
    expect(quoteRealm('"')).toBe('"\\""')
    expect(quoteRealm('\\')).toBe('"\\\\"')
  })
})

describe('isScopeToken', () => {
  it.each([
    'Files.Read',
    'a',
    '!',
    'https://graph.microsoft.com/.default',
    'api://orders/Orders.Read',
    'read:messages',
    '~}{|[]',
  ])('accepts %j', (value) => {
    expect(isScopeToken(value)).toBe(true)
  })

  it.each(['', ' ', 'a b', 'a"', 'a\\b', 'é', 'a\tb', 'a\n', '\u007f'])('refuses %j', (value) => {
    expect(isScopeToken(value)).toBe(false)
  })
})
