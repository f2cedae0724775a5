import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../../src/options.js'
import { handOver, parsedToken } from '../../src/parsed-handover.js'
import { parseToken } from '../../src/token.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken } from '../helpers/tokens.js'

const options = resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })

describe('handOver and parsedToken', () => {
  it('gives the parse handed over to the next parse of the very same string, once', async () => {
    const token = await mintToken()
    const parsed = parseToken(token, options)
    handOver(token, parsed, () => {
      expect(parsedToken(token, options)).toBe(parsed)
      expect(parsedToken(token, options)).not.toBe(parsed)
      expect(parsedToken(token, options)).toEqual(parsed)
    })
  })

  it('parses any other string itself, and forgets the parse after the call, even when it throws', async () => {
    const [token, other] = await Promise.all([mintToken(), mintToken({ claims: { sub: 'x' } })])
    const parsed = parseToken(token, options)
    handOver(token, parsed, () => {
      expect(parsedToken(other, options).claims.sub).toBe('x')
    })
    expect(() =>
      handOver(token, parsed, () => {
        throw new Error('boom')
      }),
    ).toThrow('boom')
    expect(parsedToken(token, options)).not.toBe(parsed)
  })

  it("still applies the reader's own maxTokenLength", async () => {
    const token = await mintToken()
    const short = resolveOptions({
      ...{ issuer: ISSUER, audience: AUDIENCE },
      keys: toJwks(rsaKey),
      maxTokenLength: 64,
    })
    handOver(token, parseToken(token, options), () => {
      expect(() => parsedToken(token, short)).toThrow('the token is longer than 64 characters')
    })
  })
})
