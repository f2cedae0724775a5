/**
 * The tables of repeated texts (src/remembered.ts): the decoded headers of access tokens
 * (token.ts's parseAccessToken) and the lists of `scp`/`scope`/`aud` (caller-rules.ts). A shared
 * value must be frozen all the way down, be exactly what its own text says, and the tables stay
 * bounded whatever a client sends.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { createValidator } from '../../src/index.js'
import { resolveOptions } from '../../src/options.js'
import { MAX_REMEMBERED, MAX_REMEMBERED_TEXT, remember, remembered } from '../../src/remembered.js'
import { parseAccessToken, parseToken } from '../../src/token.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, b64url, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  return () => vi.useRealTimers()
})

const options = resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })

describe('remembered', () => {
  it('makes a value once per text and hands the same value back after', () => {
    const table = new Map<string, { text: string }>()
    let made = 0
    const make = (text: string) => {
      made++
      return { text }
    }
    const first = remembered(table, 'a', make)
    expect(remembered(table, 'a', make)).toBe(first)
    expect(remembered(table, 'b', make)).not.toBe(first)
    expect(made).toBe(2)
  })

  it(`holds at most ${MAX_REMEMBERED} texts, the oldest going first`, () => {
    const table = new Map<string, number>()
    for (let i = 0; i < MAX_REMEMBERED * 10; i++) remember(table, `text ${i}`, i)
    expect(table.size).toBe(MAX_REMEMBERED)
    expect(table.has('text 0')).toBe(false)
    expect(table.get(`text ${MAX_REMEMBERED * 10 - 1}`)).toBe(MAX_REMEMBERED * 10 - 1)
  })

  it(`keeps no text longer than ${MAX_REMEMBERED_TEXT} characters`, () => {
    const table = new Map<string, number>()
    const long = 'x'.repeat(MAX_REMEMBERED_TEXT + 1)
    expect(remember(table, long, 1)).toBe(1)
    expect(remembered(table, long, () => 2)).toBe(2)
    expect(table.size).toBe(0)
    remember(table, 'x'.repeat(MAX_REMEMBERED_TEXT), 3)
    expect(table.size).toBe(1)
  })

  it('keeps a table of its own measure within the bounds it is given', () => {
    const table = new Map<string, number>()
    const bounds = { texts: 3, textLength: 10 }
    for (let i = 0; i < 5; i++) remember(table, `t${i}`, i, bounds)
    expect([...table.keys()]).toEqual(['t2', 't3', 't4'])
    remember(table, 'x'.repeat(11), 9, bounds)
    expect(table.has('x'.repeat(11))).toBe(false)
    remember(table, 'x'.repeat(10), 10, bounds)
    expect([...table.keys()]).toEqual(['t3', 't4', 'x'.repeat(10)])
  })
})

describe('parseAccessToken', () => {
  it('shares one frozen header between tokens of the same header text, as parseToken reads it', async () => {
    const header = { x5t: 'abc', extra: { nested: ['h'] } }
    const a = await mintToken({ header, claims: { jti: 'a' } })
    const b = await mintToken({ header, claims: { jti: 'b' } })
    const first = parseAccessToken(a, options)
    const second = parseAccessToken(b, options)
    expect(second.header).toBe(first.header)
    expect(second.header).toEqual(parseToken(b, options).header)
    expect(second.claims).toEqual(parseToken(b, options).claims)
    expect(second.signingInputEnd).toBe(b.lastIndexOf('.'))
    expect(Object.isFrozen(first.header)).toBe(true)
    const extra = (first.header as unknown as { extra: { nested: string[] } }).extra
    expect(Object.isFrozen(extra)).toBe(true)
    expect(Object.isFrozen(extra.nested)).toBe(true)
    expect(() => extra.nested.push('x')).toThrow(TypeError)
  })

  it('gives another header text its own header', async () => {
    const a = await mintToken({ header: { x5t: 'one' } })
    const b = await mintToken({ header: { x5t: 'two' } })
    expect(parseAccessToken(b, options).header).not.toBe(parseAccessToken(a, options).header)
    expect(parseAccessToken(b, options).header.x5t).toBe('two')
  })

  it('refuses what parseToken refuses, with or without a remembered header', async () => {
    const token = await mintToken()
    const [head, body, signature] = token.split('.') as [string, string, string]
    parseAccessToken(token, options)
    for (const bad of [
      `${head}.${body}`,
      `${head}.${body}.${signature}.x`,
      `${head}.${b64url('not json')}.${signature}`,
      `${head}.${body}x.${signature}`,
      `${head}.${body}.`,
      `${head}.${body}.${signature}=`,
      `${head}.${body}.${signature}`.padEnd(options.maxTokenLength + 1, 'A'),
    ]) {
      expect(() => parseAccessToken(bad, options), bad.slice(-20)).toThrow(
        (() => {
          try {
            parseToken(bad, options)
          } catch (error) {
            return (error as Error).message
          }
          throw new Error('parseToken accepted it')
        })(),
      )
    }
  })

  it('remembers no header that does not parse, and stays bounded under a flood of headers', async () => {
    const token = await mintToken()
    const [, body, signature] = token.split('.') as [string, string, string]
    const badHeader = b64url('{"alg":')
    expect(() => parseAccessToken(`${badHeader}.${body}.${signature}`, options)).toThrow(
      'the token header is not valid JSON',
    )
    // Many distinct header texts, as a client could send with no key: every one still parses to
    // what it says, and the flood does not change what a remembered header is.
    const kept = parseAccessToken(token, options).header
    for (let i = 0; i < MAX_REMEMBERED * 4; i++) {
      const header = b64url(JSON.stringify({ alg: 'RS256', kid: `k${i}` }))
      expect(parseAccessToken(`${header}.${body}.${signature}`, options).header.kid).toBe(`k${i}`)
    }
    expect(parseAccessToken(token, options).header).toEqual(kept)
  })
})

describe('validators with remembered headers and lists', () => {
  it('accept and refuse as before: a forged token with a remembered header text is refused', async () => {
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: toJwks(rsaKey),
      tokenCache: false,
    })
    const good = await mintToken({ claims: { scp: 'Files.Read' } })
    const auth = await validator.verify(good)
    const [head, body] = good.split('.') as [string, string, string]
    const forgedBody = b64url(
      JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), scp: 'Admin' }),
    )
    const forged = `${head}.${forgedBody}.${good.split('.')[2]}`
    await expect(validator.verify(forged)).rejects.toMatchObject({ reason: 'bad_signature' })
    const again = await validator.verify(good)
    expect(again.header).toBe(auth.header)
    expect(again.scopes).toBe(auth.scopes)
    expect(again.scopes).toEqual(['Files.Read'])
    expect(again.audience).toEqual([AUDIENCE])
  })
})
