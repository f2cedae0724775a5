import { validateHeaderValue } from 'node:http'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isScopeToken, sanitizeDescription } from '../../src/challenge.js'
import {
  type ChallengeParams,
  formatChallenge,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
} from '../../src/index.js'

const DESCRIPTION = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/
const QUOTED_STRING = /"((?:[\t\x20\x21\x23-\x5b\x5d-\x7e]|\\[\t\x20-\x7e])*)"/
const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/

interface Parsed {
  scheme: string
  params: Record<string, string>
}

/**
 * Parses one challenge (RFC 7235 §2.1, RFC 9110 §11.2): a scheme, then comma-separated
 * auth-params `token = ( token / quoted-string )`. Throws on anything else.
 */
function parseChallenge(value: string): Parsed {
  const head = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) /.exec(value)
  if (head === null) throw new Error(`no scheme in ${value}`)
  const params: Record<string, string> = {}
  let rest = value.slice(head[0].length)
  const param = new RegExp(`^(${TOKEN.source})=(?:${QUOTED_STRING.source}|(${TOKEN.source}))`)
  for (;;) {
    const match = param.exec(rest)
    if (match === null) throw new Error(`bad auth-param at ${JSON.stringify(rest)}`)
    const name = (match[1] as string).toLowerCase()
    if (name in params) throw new Error(`repeated parameter ${name}`)
    params[name] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] as string)
    rest = rest.slice(match[0].length)
    if (rest === '') return { scheme: head[1] as string, params }
    if (!rest.startsWith(', ')) throw new Error(`expected ", " at ${JSON.stringify(rest)}`)
    rest = rest.slice(2)
  }
}

const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.string({
    unit: fc.constantFrom('"', '\\', '\r', '\n', '\t', ',', '=', 'a', ' ', 'é'),
    maxLength: 40,
  }),
)
const printableRealm = fc
  .string({ unit: 'binary-ascii', minLength: 1, maxLength: 40 })
  .filter((r) => /^[\x20-\x7e]+$/.test(r))
const error = fc.option(
  fc.constantFrom('invalid_request', 'invalid_token', 'insufficient_scope') as fc.Arbitrary<
    NonNullable<ChallengeParams['error']>
  >,
  { nil: undefined },
)
const scope = fc.option(
  fc.array(
    fc.oneof(fc.string({ maxLength: 10 }), fc.stringMatching(/^[\x21\x23-\x5b\x5d-\x7e]{1,10}$/)),
    { maxLength: 5 },
  ),
  { nil: undefined },
)

/** Counterexamples and edge cases kept as fixed examples. */
const fixed: [string, ChallengeParams['error'], string | undefined, string[] | undefined][] = [
  ['api', 'invalid_token', 'x"\r\nSet-Cookie: a=b', undefined],
  ['a"b\\c', undefined, '\\"', ['a b', '']],
  ['api', 'insufficient_scope', '', ['"', '\\', 'ok']],
  ['api\r\nX: y', 'invalid_request', '\u{1F600}'.repeat(200), ['é']],
]

describe('formatChallenge (property)', () => {
  it('stays a valid header value within RFC 6750 characters for any input', () => {
    fc.assert(
      fc.property(
        anyText,
        error,
        fc.option(anyText, { nil: undefined }),
        scope,
        (realm, err, description, scopes) => {
          const value = formatChallenge({ realm, error: err, description, scope: scopes })
          expect(() => validateHeaderValue('WWW-Authenticate', value)).not.toThrow()
          const { scheme, params } = parseChallenge(value)
          expect(scheme).toBe('Bearer')
          expect(Object.keys(params)[0]).toBe('realm')
          expect(params.realm).toMatch(/^[\x20-\x7e]*$/)
          if (params.error_description !== undefined) {
            expect(params.error_description).toMatch(DESCRIPTION)
            expect(params.error_description.length).toBeLessThanOrEqual(300)
            // The description is sent as is inside the quotes: nothing in it needs escaping.
            expect(value).toContain(`error_description="${params.error_description}"`)
          }
          if (params.scope !== undefined) {
            for (const token of params.scope.split(' ')) expect(isScopeToken(token)).toBe(true)
          }
        },
      ),
      { numRuns: 2_000, examples: fixed },
    )
  })

  it('parses back to the parameters it was given', () => {
    fc.assert(
      fc.property(
        printableRealm,
        error,
        fc.option(anyText, { nil: undefined }),
        scope,
        (realm, err, description, scopes) => {
          const { params } = parseChallenge(
            formatChallenge({ realm, error: err, description, scope: scopes }),
          )
          const expected: Record<string, string> = { realm }
          if (err !== undefined) expected.error = err
          if (description !== undefined && description !== '') {
            expected.error_description = sanitizeDescription(description)
          }
          const kept = (scopes ?? []).filter(isScopeToken)
          if (kept.length > 0) expected.scope = kept.join(' ')
          expect(params).toEqual(expected)
        },
      ),
      { numRuns: 2_000, examples: fixed.filter(([realm]) => /^[\x20-\x7e]+$/.test(realm)) },
    )
  })

  it('keeps the meaning of a description made of allowed characters', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x20\x21\x23-\x5b\x5d-\x7e]{1,300}$/), (text) => {
        expect(sanitizeDescription(text)).toBe(text)
      }),
      { numRuns: 500 },
    )
  })
})

describe('error challenges (property)', () => {
  it('every error class sends a parseable challenge whatever its description', () => {
    fc.assert(
      fc.property(
        anyText,
        fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
        (description, scopes) => {
          const options = { reason: 'invalid_claim', realm: 'api' } as const
          for (const e of [
            new InvalidTokenError(description, options),
            new InvalidRequestError(description, options),
            new InsufficientScopeError(description, { ...options, scopes }),
          ]) {
            const value = e.headers['WWW-Authenticate'] as string
            expect(() => validateHeaderValue('WWW-Authenticate', value)).not.toThrow()
            expect(parseChallenge(value).params.error).toBe(e.code)
          }
        },
      ),
      { numRuns: 500 },
    )
  })
})
