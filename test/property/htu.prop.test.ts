/**
 * Properties of the htu normaliser (RFC 9449 §4.3, RFC 3986 §6.2.2-6.2.3) and of the JWK
 * thumbprint (RFC 7638).
 */
import fc from 'fast-check'
import { calculateJwkThumbprint } from 'jose'
import { describe, expect, it } from 'vitest'
import { computeJwkThumbprint, normalizeHtuCached } from '../../src/dpop.js'
import { normalizeHtu } from '../../src/htu.js'

const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'
const segment = fc
  .array(fc.constantFrom(...UNRESERVED.split('')), { minLength: 1, maxLength: 8 })
  .map((chars) => chars.join(''))
  .filter((s) => s !== '.' && s !== '..')
const path = fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`)
const host = fc.constantFrom('api.example', 'a.b.example', '127.0.0.1', 'xn--bcher-kva.example')

/** Every character percent-encoded with hex in random case: equivalent under §6.2.2.2. */
function encodeEach(text: string, upper: boolean[]): string {
  return [...text]
    .map((char, i) => {
      if (char === '/') return char
      const hex = char.charCodeAt(0).toString(16).padStart(2, '0')
      return `%${upper[i % upper.length] ? hex.toUpperCase() : hex}`
    })
    .join('')
}

/** Random case of every letter. */
function recase(text: string, upper: boolean[]): string {
  return [...text]
    .map((char, i) => (upper[i % upper.length] ? char.toUpperCase() : char.toLowerCase()))
    .join('')
}

describe('normalizeHtu', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => {
        const once = normalizeHtu(url)
        if (once !== undefined) expect(normalizeHtu(once)).toBe(once)
      }),
    )
  })

  it('gives one form for URIs equivalent under RFC 3986 §6.2.2 and §6.2.3', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('http', 'https'),
        host,
        path,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }),
        fc.boolean(),
        (scheme, name, p, upper, withPort) => {
          const plain = `${scheme}://${name}${p}`
          const port = withPort ? (scheme === 'https' ? ':443' : ':80') : ''
          const variant = `${recase(scheme, upper)}://${recase(name, upper)}${port}${encodeEach(p, upper)}?q=${p}#${p}`
          expect(normalizeHtu(variant)).toBe(normalizeHtu(plain))
          expect(normalizeHtu(`${scheme}://${name}/x/..${p}`)).toBe(normalizeHtu(plain))
        },
      ),
    )
  })

  it('keeps paths that differ in case, trailing slash or port apart', () => {
    fc.assert(
      fc.property(host, path, segment, (name, p, last) => {
        const uri = `https://${name}${p}/${last}`
        const normal = normalizeHtu(uri)
        expect(normalizeHtu(`${uri}/`)).not.toBe(normal)
        expect(normalizeHtu(`https://${name}:8443${p}/${last}`)).not.toBe(normal)
        if (last.toUpperCase() !== last) {
          expect(normalizeHtu(`https://${name}${p}/${last.toUpperCase()}`)).not.toBe(normal)
        }
      }),
    )
  })

  it('is undefined for anything but an absolute http(s) URI without user information', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const normal = normalizeHtu(text)
        if (normal !== undefined) expect(normal).toMatch(/^https?:\/\/[^/@]+\//)
      }),
    )
    for (const bad of ['/relative', 'ftp://a/b', 'https://u:p@a/b', 'https:///x', '', 42]) {
      expect(normalizeHtu(bad), String(bad)).toBeUndefined()
    }
  })

  it('keeps the counterexamples found', () => {
    expect(normalizeHtu('https://a.example/%7e%2f%2F')).toBe('https://a.example/~%2F%2F')
    expect(normalizeHtu('https://a.example')).toBe('https://a.example/')
    expect(normalizeHtu('https://a.example/a/%2e%2E/b')).toBe('https://a.example/b')
  })
})

describe('computeJwkThumbprint', () => {
  const b64 = fc
    .uint8Array({ minLength: 1, maxLength: 66 })
    .map((bytes) => Buffer.from(bytes).toString('base64url'))

  it('equals jose’s RFC 7638 thumbprint, whatever the order and extra members', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ kty: fc.constant('EC'), crv: fc.constant('P-256'), x: b64, y: b64 }),
          fc.record({ kty: fc.constant('RSA'), n: b64, e: b64 }),
          fc.record({ kty: fc.constant('OKP'), crv: fc.constant('Ed25519'), x: b64 }),
        ),
        fc.dictionary(fc.constantFrom('kid', 'alg', 'use', 'ext'), fc.string()),
        async (jwk, extra) => {
          const shuffled = Object.fromEntries(
            Object.entries({ ...extra, ...jwk }).reverse(),
          ) as typeof jwk
          expect(computeJwkThumbprint(shuffled)).toBe(await calculateJwkThumbprint(jwk))
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe('normalizeHtuCached', () => {
  // A few texts repeat (the table answers), some are not URIs (never kept), some are longer than
  // a remembered text may be, and some differ from a kept one by one character or its case.
  const text = fc.oneof(
    fc.constantFrom(
      'https://api.example/orders',
      'HTTPS://API.example:443/orders',
      'https://api.example/orders/',
      'https://api.example/Orders',
      'http://api.example/orders',
      'not a uri',
      '',
    ),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc.string({ maxLength: 40 }),
    fc.nat(600).map((n) => `https://api.example/${'a'.repeat(n)}`),
  )

  it('answers as normalizeHtu over any sequence of texts, repeated or not', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 400 }), (texts) => {
        for (const value of texts) expect(normalizeHtuCached(value)).toBe(normalizeHtu(value))
        // Again, in reverse: every answer now may come from the table.
        for (const value of texts.reverse()) {
          expect(normalizeHtuCached(value)).toBe(normalizeHtu(value))
        }
      }),
      { numRuns: 60 },
    )
  })

  it('answers undefined for a value that is not a string', () => {
    for (const value of [undefined, null, 1, {}, ['https://api.example/']]) {
      expect(normalizeHtuCached(value)).toBeUndefined()
    }
  })
})
