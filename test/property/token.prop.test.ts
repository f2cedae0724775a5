import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { BearerGuardError, createValidator, type Validator } from '../../src/index.js'
import { resolveOptions } from '../../src/options.js'
import { parseToken } from '../../src/token.js'
import { ecKey, rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, b64url, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * The model of a canonical unpadded base64url segment (RFC 4648 §5, RFC 7515 §2): only the 64
 * URL-safe characters, a length that is not 1 modulo 4, and zero bits in the unused low bits of
 * the last character.
 */
function isCanonicalBase64url(segment: string): boolean {
  if (segment.length === 0 || segment.length % 4 === 1 || !/^[A-Za-z0-9_-]+$/.test(segment)) {
    return false
  }
  const rest = segment.length % 4
  if (rest === 0) return true
  const last = BASE64URL.indexOf(segment.charAt(segment.length - 1))
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0
}
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

describe('parseToken segment decoding (property)', () => {
  // Characters Node's base64url decoder reads anyway (the standard alphabet, the low byte of a
  // wider character), skips (Latin-1 letters, controls, spaces) or stops at (padding).
  const hostileChar = fc.constantFrom(
    ...BASE64URL,
    '=',
    '+',
    '/',
    ' ',
    '\t',
    '\n',
    '\u0000',
    '%',
    '~',
    '\u00c4',
    '\u00ff',
    '\u0141',
    '\u0100',
    '\u0161',
    '\u4141',
    '\u{1f600}',
  )
  const segment = fc.string({ unit: hostileChar, maxLength: 40 })
  const options = resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })
  const base64Error = 'the token segments must be unpadded base64url'

  function parseMessage(token: string): string | undefined {
    try {
      parseToken(token, options)
      return undefined
    } catch (error) {
      return (error as Error).message
    }
  }

  // An empty signature is named for what it is: an unsigned token (issue #13, point 7).
  const unsignedError =
    'the token is unsigned (empty signature): this API accepts signed tokens only'

  it('refuses a token as not base64url exactly when one of its segments is not canonical', () => {
    const header = b64url('{"alg":"RS256"}')
    const payload = b64url('{"iss":"x"}')
    fc.assert(
      fc.property(segment, fc.nat(2), (changed, where) => {
        const parts = [header, payload, 'c2lnbmF0dXJl']
        parts[where] = changed
        const message = parseMessage(parts.join('.'))
        const canonical = isCanonicalBase64url(changed)
        if (changed === '' && where === 2) expect(message).toBe(unsignedError)
        else if (canonical) expect(message).not.toBe(base64Error)
        else expect(message).toBe(base64Error)
      }),
      {
        numRuns: 5_000,
        examples: [
          ['Q\u0141JD', 2],
          ['QUJD=', 2],
          ['QU+D', 1],
          ['QU/D', 0],
          ['QU JD', 2],
          ['QUJ\u00c4', 2],
          ['', 2],
          ['QUI', 2],
          ['QUJ', 2],
        ],
      },
    )
  })

  it('decodes header and payload to what a strict decoder reads', () => {
    fc.assert(
      fc.property(
        jsonObject,
        jsonObject,
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        (h, p, sig) => {
          const token = `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(p))}.${Buffer.from(sig).toString('base64url')}`
          const parsed = parseToken(token, options)
          expect(parsed.header).toEqual(JSON.parse(JSON.stringify(h)))
          expect(parsed.claims).toEqual(JSON.parse(JSON.stringify(p)))
          expect(parsed.signingInputEnd).toBe(token.lastIndexOf('.'))
        },
      ),
      { numRuns: 500 },
    )
  })
})
