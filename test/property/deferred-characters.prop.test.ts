/**
 * The validators read a header's token without checking its characters against RFC 6750's
 * b64token and check them only when the token does not parse (src/authorization.ts,
 * checkTokenCharacters). This property holds them to the eager reading: for any Authorization
 * value, `authenticate(value)` answers as the public `parseCredentials(value)` followed by
 * `verify(token)` does (same status, reason and description), for a single-issuer validator
 * (cache on and off), a multi-issuer one, and one that also accepts DPoP.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type BearerGuardError,
  createMultiIssuerValidator,
  createValidator,
  parseCredentials,
  type Validator,
} from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

interface Outcome {
  readonly status: number
  readonly reason: string | undefined
  readonly message: string
}

const MAX_TOKEN_LENGTH = 1_000
const options = { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) }
let valid: string
const validators: Record<string, { validator: Validator; schemes: boolean }> = {}

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  valid = await mintToken()
  const limited = { ...options, maxTokenLength: MAX_TOKEN_LENGTH }
  validators.cached = { validator: createValidator(limited), schemes: false }
  validators.uncached = {
    validator: createValidator({ ...limited, tokenCache: false }),
    schemes: false,
  }
  validators.multi = {
    validator: createMultiIssuerValidator({
      issuers: { main: limited, other: { ...limited, issuer: 'https://other.example/' } },
    }),
    schemes: false,
  }
  validators.dpop = {
    validator: createValidator({ ...limited, dpop: { publicOrigin: 'https://api.example' } }),
    schemes: true,
  }
  // The valid token is accepted by each, so a rejection below comes from the change made to it.
  for (const { validator } of Object.values(validators)) await validator.verify(valid)
})
afterAll(() => {
  vi.useRealTimers()
})

function outcomeOf(error: unknown): Outcome {
  const { status, reason, message } = error as BearerGuardError
  return { status, reason, message }
}

async function settle(promise: Promise<unknown>): Promise<Outcome | 'accepted'> {
  return promise.then(
    () => 'accepted' as const,
    (error: unknown) => outcomeOf(error),
  )
}

/** The eager reading: the public parser (characters checked first), then the token alone. */
async function eager(validator: Validator, schemes: boolean, value: string) {
  let credentials: ReturnType<typeof parseCredentials>
  try {
    credentials = parseCredentials(value, schemes)
  } catch (error) {
    return outcomeOf(error)
  }
  if (credentials === undefined) return settle(validator.authenticate(value))
  // A DPoP token needs its request (the proof): any answer but the 400 of the characters.
  if (credentials.scheme !== 'Bearer') return 'not the characters' as const
  return settle(validator.verify(credentials.token))
}

const NEAR = [...'AZaz09-_.~+/=', ' ', '!', '"', '%', '*', ',', ':', ';', '@', '\\', 'é', '\u0000']

/** The valid token with a few characters changed, inserted or removed, or made too long. */
const tokenLike = fc.oneof(
  fc
    .array(
      fc.tuple(fc.nat(), fc.constantFrom(...NEAR), fc.constantFrom('replace', 'insert', 'remove')),
      { minLength: 1, maxLength: 3 },
    )
    .map((edits) => () => {
      let token = valid
      for (const [at, char, kind] of edits) {
        const i = at % (token.length + 1)
        token =
          kind === 'replace'
            ? token.slice(0, i) + char + token.slice(i + 1)
            : kind === 'insert'
              ? token.slice(0, i) + char + token.slice(i)
              : token.slice(0, i) + token.slice(i + 1)
      }
      return token
    }),
  fc.tuple(fc.constantFrom(...NEAR), fc.integer({ min: 1, max: 200 })).map(
    ([char, n]) =>
      () =>
        valid + char.repeat(n * 3),
  ),
  fc.string({ unit: fc.constantFrom(...NEAR), maxLength: 40 }).map((text) => () => text),
)
const scheme = fc.constantFrom('Bearer ', 'bearer  ', 'DPoP ', 'BEARER ')

describe('a header token whose characters are checked only when it does not parse', () => {
  for (const name of ['cached', 'uncached', 'multi', 'dpop']) {
    it(`answers as the eager reading (${name})`, async () => {
      const { validator, schemes } = validators[name] as (typeof validators)[string]
      await fc.assert(
        fc.asyncProperty(scheme, tokenLike, async (prefix, make) => {
          const value = prefix + make()
          const actual = await settle(validator.authenticate(value))
          const expected = await eager(validator, schemes, value)
          if (expected === 'not the characters') {
            expect(actual).not.toMatchObject({ reason: 'malformed_authorization' })
          } else {
            expect(actual).toEqual(expected)
          }
        }),
        { numRuns: 300 },
      )
    })
  }

  it('says 400 for a character outside b64token before the token is too long', async () => {
    const { validator } = validators.cached as (typeof validators)[string]
    const error = await validator.authenticate(`Bearer ${valid}${'!'.repeat(600)}`).catch(outcomeOf)
    expect(error).toMatchObject({ status: 400, reason: 'malformed_authorization' })
    const long = await validator.authenticate(`Bearer ${valid}${'A'.repeat(600)}`).catch(outcomeOf)
    expect(long).toMatchObject({ status: 401, reason: 'token_too_large' })
  })
})
