/**
 * The tables of repeated texts (src/remembered.ts) held to the plain reading: for any sequence
 * of tokens, whatever came before,
 * - parseAccessToken answers as parseToken does (same header and claims, or the same refusal);
 * - readAuthInfo's lists are what parseScopes makes of this token's own `scp`/`scope` (and
 *   `[aud]` for a string `aud`), frozen.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { readAuthInfo } from '../../src/caller-rules.js'
import { resolveOptions } from '../../src/options.js'
import { parseScopes } from '../../src/scopes.js'
import { parseAccessToken, parseToken } from '../../src/token.js'
import type { TokenClaims, TokenHeader } from '../../src/types.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER } from '../helpers/tokens.js'

const options = resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })
const b64 = (text: string) => Buffer.from(text).toString('base64url')

function outcome(run: () => { header: unknown; claims: unknown }): unknown {
  try {
    const { header, claims } = run()
    return { header, claims }
  } catch (error) {
    return { error: (error as Error).message }
  }
}

// Few values, so that header texts repeat (remembered) and differ (more than the table holds).
const headerText = fc.oneof(
  fc.constantFrom('{"alg":"RS256"}', '{"alg":"RS256","kid":"a"}', '{"alg":"ES256","typ":"JWT"}'),
  fc
    .record({ alg: fc.constantFrom('RS256', 'none'), kid: fc.string({ maxLength: 3 }) })
    .map((h) => JSON.stringify(h)),
  fc.constantFrom('{"alg":', '[1]', 'null', '{"__proto__":{"x":1},"alg":"RS256"}', '\uFEFF{}'),
)
const segment = fc.oneof(
  headerText.map(b64),
  fc.constantFrom('', 'A', 'e30=', 'e30', 'eyJhbGciOiJSUzI1NiJ9', 'e3+', '%%%'),
)

describe('parseAccessToken against parseToken', () => {
  it('answers as parseToken does, whatever headers came before', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            header: segment,
            payload: fc.constantFrom(b64('{"sub":"x"}'), b64('[]'), 'e30', ''),
            signature: fc.constantFrom('c2ln', 'c2lnbmF0dXJl', '', 'c2l='),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        (tokens) => {
          for (const { header, payload, signature } of tokens) {
            const token = `${header}.${payload}.${signature}`
            expect(outcome(() => parseAccessToken(token, options))).toEqual(
              outcome(() => parseToken(token, options)),
            )
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('the lists of readAuthInfo against parseScopes', () => {
  const header = Object.freeze({ alg: 'RS256' }) as unknown as TokenHeader
  const text = fc.oneof(
    fc.stringMatching(/^[ab .]{0,12}$/),
    fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'Ω'), minLength: 500, maxLength: 520 }),
  )

  it('gives each token the lists of its own texts, whatever came before', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ scp: text, scope: fc.option(text), aud: text }), {
          minLength: 1,
          maxLength: 40,
        }),
        (tokens) => {
          for (const { scp, scope, aud } of tokens) {
            const claims = { scp, aud, exp: 2, ...(scope === null ? {} : { scope }) }
            const auth = readAuthInfo('t', header, claims as unknown as TokenClaims)
            const own = parseScopes(scp) ?? []
            const expected =
              scope === null ? own : parseScopes([...own, ...(parseScopes(scope) ?? [])])
            expect(auth.scopes).toEqual(expected)
            expect(auth.audience).toEqual([aud])
            expect(Object.isFrozen(auth.scopes)).toBe(true)
            expect(Object.isFrozen(auth.audience)).toBe(true)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
