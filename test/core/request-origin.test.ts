/**
 * The request's URI for DPoP's `htu` (request.ts): the path as sent (origin-form, absolute-form,
 * Express's originalUrl, an adapter's target), and the origin a trusted proxy states in
 * `X-Forwarded-*` or RFC 7239 `Forwarded`; plus the server nonces (dpop-nonce.ts).
 */
import { describe, expect, it } from 'vitest'
import { createNonceSource } from '../../src/dpop-nonce.js'
import { readProxyOrigin, readRequestPath, readRequestUri } from '../../src/request.js'

const node = (lines: string[], url = '/a/b?q=1', originalUrl?: string) => ({
  method: 'GET',
  url,
  originalUrl,
  rawHeaders: lines,
})

describe('readRequestPath', () => {
  it('takes the target as sent, without query and fragment', () => {
    expect(readRequestPath(node([]))).toBe('/a/b')
    expect(readRequestPath(node([], '/me', '/api/me?x'))).toBe('/api/me')
    expect(readRequestPath(node([], '/me'), '/mounted/me#f')).toBe('/mounted/me')
    expect(readRequestPath(node([], 'http://proxy.example/abs/path?q'))).toBe('/abs/path')
    expect(readRequestPath(node([], '*'))).toBeUndefined()
    expect(readRequestPath(node([], 'ftp://x/y'))).toBeUndefined()
    const fetchRequest = new Request('http://127.0.0.1:3000/f/g?h=1')
    expect(readRequestPath(fetchRequest)).toBe('/f/g')
  })
})

describe('readProxyOrigin', () => {
  it('reads the last X-Forwarded-Proto and X-Forwarded-Host values', () => {
    const request = node([
      'X-Forwarded-Proto',
      'http, HTTPS',
      'X-Forwarded-Host',
      'evil.example',
      'X-Forwarded-Host',
      'API.example:443',
    ])
    expect(readProxyOrigin(request, 'x-forwarded')).toBe('https://api.example')
    expect(readProxyOrigin(node(['X-Forwarded-Host', 'a.example']), 'x-forwarded')).toBeUndefined()
  })

  it('reads proto and host of the last Forwarded element (RFC 7239), quoted or not', () => {
    const request = node([
      'Forwarded',
      'for=1.2.3.4;proto=http;host=evil.example, for=5.6.7.8;proto=https;host="api.example:8443"',
    ])
    expect(readProxyOrigin(request, 'forwarded')).toBe('https://api.example:8443')
    expect(readProxyOrigin(node(['Forwarded', 'for=1.2.3.4;host=a']), 'forwarded')).toBeUndefined()
    expect(
      readProxyOrigin(node(['Forwarded', 'proto=https;host=a/b']), 'forwarded'),
    ).toBeUndefined()
    expect(readProxyOrigin(node([]), 'forwarded')).toBeUndefined()
  })
})

describe('readRequestUri', () => {
  it('is the origin and the path, normalised, or nothing when either is unknown', () => {
    expect(readRequestUri(node([], '/%7Euser/./x'), 'https://api.example')).toBe(
      'https://api.example/~user/x',
    )
    expect(readRequestUri(node([]), undefined)).toBeUndefined()
    expect(readRequestUri(node([], '*'), 'https://api.example')).toBeUndefined()
  })
})

describe('createNonceSource', () => {
  it('accepts the current and the previous slot, refuses older, foreign and malformed nonces', () => {
    const nonces = createNonceSource(Buffer.alloc(32, 1), 60)
    const now = 1_700_000_000
    const current = nonces.current(now)
    expect(nonces.current(now + 1)).toBe(current)
    expect(nonces.check(current, now)).toBe('current')
    expect(nonces.check(current, now + 60)).toBe('previous')
    expect(nonces.check(current, now + 120)).toBe('invalid')
    expect(nonces.check(createNonceSource(Buffer.alloc(32, 2), 60).current(now), now)).toBe(
      'invalid',
    )
    expect(nonces.check('not a nonce', now)).toBe('invalid')
    const dot = current.indexOf('.')
    const flipped = current[dot + 1] === 'A' ? 'B' : 'A'
    expect(
      nonces.check(`${current.slice(0, dot + 1)}${flipped}${current.slice(dot + 2)}`, now),
    ).toBe('invalid')
    expect(nonces.check(nonces.current(now - 60), now)).toBe('previous')
  })
})
