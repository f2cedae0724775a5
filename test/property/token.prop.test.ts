import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { BearerGuardError, createValidator, type Validator } from '../../src/index.js'
import { isCanonicalBase64url } from '../../src/token.js'
import { ecKey, rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, b64url, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const segmentChar = fc.constantFrom(...BASE64URL, '=', '+', '/', ' ', '.', '%')
const segmentLike = fc.string({ unit: segmentChar, maxLength: 24 })

let validator: Validator
let rsaToken: string
let ecToken: string

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey, ecKey) })
  rsaToken = await mintToken()
  ecToken = await mintToken({ key: ecKey })
  // Both verify, so every rejection below is caused by the change made to them.
  await validator.verify(rsaToken)
  await validator.verify(ecToken)
})
afterAll(() => {
  vi.useRealTimers()
})

async function expect401(token: string): Promise<void> {
  const outcome = await validator.verify(token).then(
    () => 'resolved',
    (error: unknown) => error,
  )
  expect(outcome).toBeInstanceOf(BearerGuardError)
  expect((outcome as BearerGuardError).status).toBe(401)
  expect((outcome as BearerGuardError).code).toBe('invalid_token')
}

const jsonObject = fc.dictionary(
  fc.oneof(fc.constantFrom('alg', 'kid', 'typ', 'crit', 'iss', 'aud', 'exp'), fc.string()),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 6 },
)

describe('Validator.verify on arbitrary input (property)', () => {
  it('rejects any string with a 401 BearerGuardError, never a raw error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.array(segmentLike, { maxLength: 6 }).map((parts) => parts.join('.')),
        ),
        expect401,
      ),
      { numRuns: 1_000, examples: [[''], ['.'], ['..'], ['...'], ['e30.e30.'], ['e30.e30.e30']] },
    )
  })

  it('rejects three base64url segments of arbitrary JSON with a 401', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(jsonObject, fc.jsonValue({ maxDepth: 2 })),
        fc.oneof(jsonObject, fc.jsonValue({ maxDepth: 2 })),
        fc.uint8Array({ maxLength: 300 }),
        (header, payload, signature) =>
          expect401(
            `${b64url(JSON.stringify(header) ?? 'null')}.${b64url(JSON.stringify(payload) ?? 'null')}.${b64url(signature)}`,
          ),
      ),
      { numRuns: 500 },
    )
  })

  it('rejects a valid token with its header or claims replaced by an attacker', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('rsa', 'ec'),
        fc.record(
          { sub: fc.string(), scp: fc.string(), roles: fc.array(fc.string()) },
          { requiredKeys: [] },
        ),
        async (which, extra) => {
          const [header, payload, signature] = (which === 'rsa' ? rsaToken : ecToken).split(
            '.',
          ) as [string, string, string]
          const claims = {
            ...(JSON.parse(Buffer.from(payload, 'base64url').toString()) as object),
            ...extra,
          }
          fc.pre(Object.keys(extra).length > 0)
          await expect401(`${header}.${b64url(JSON.stringify(claims))}.${signature}`)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('rejects every one-character change of a valid RS256 or ES256 token', async () => {
    const edit = fc.record({
      which: fc.constantFrom('rsa', 'ec'),
      kind: fc.constantFrom('replace', 'insert', 'delete'),
      position: fc.nat(),
      char: fc.constantFrom(...BASE64URL, '.', '=', '+', '/', ' '),
    })
    await fc.assert(
      fc.asyncProperty(edit, async ({ which, kind, position, char }) => {
        const token = which === 'rsa' ? rsaToken : ecToken
        const at = position % token.length
        const changed =
          kind === 'replace'
            ? token.slice(0, at) + char + token.slice(at + 1)
            : kind === 'insert'
              ? token.slice(0, at) + char + token.slice(at)
              : token.slice(0, at) + token.slice(at + 1)
        fc.pre(changed !== token)
        await expect401(changed)
      }),
      { numRuns: 2_000 },
    )
  })

  it('rejects every other last character of each signature, same decoded bytes included', async () => {
    for (const token of [rsaToken, ecToken]) {
      for (const ch of BASE64URL) {
        const changed = token.slice(0, -1) + ch
        if (changed !== token) await expect401(changed)
      }
    }
  })
})

describe('isCanonicalBase64url (property)', () => {
  it('accepts the unpadded base64url encoding of any non-empty byte string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        const segment = Buffer.from(bytes).toString('base64url')
        expect(isCanonicalBase64url(segment)).toBe(true)
        expect(new Uint8Array(Buffer.from(segment, 'base64url'))).toEqual(bytes)
      }),
      { numRuns: 1_000 },
    )
  })

  it('accepts exactly the strings that survive a decode/encode round trip unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: segmentChar, maxLength: 16 }), (segment) => {
        const roundTrip = Buffer.from(segment, 'base64url').toString('base64url')
        expect(isCanonicalBase64url(segment)).toBe(segment.length > 0 && roundTrip === segment)
      }),
      {
        numRuns: 3_000,
        examples: [['A'], ['AB'], ['AAB'], ['Zg'], ['Zh'], ['Zg='], ['A-_w'], ['']],
      },
    )
  })
})
