/**
 * Redirects stay refused now that the key fetch asks for `redirect: 'manual'` (workerd refuses
 * `'error'`): the 3xx itself, an opaque redirect, and a `fetch` option that follows redirects
 * anyway all count as a failed fetch, and the redirect target is never asked for keys.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { type BearerGuardEvent, createValidator, type ValidatorOptions } from '../../src/index.js'
import { fetchJson } from '../../src/jwks.js'
import { type JwksServer, REDIRECT_PATH, startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { expectKeysUnavailable, rejectionOf } from './support.js'

let server: JwksServer
let token: string

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  server = await startJwksServer()
  token = await mintToken()
})
afterAll(async () => {
  vi.useRealTimers()
  await server.close()
})
beforeEach(() => {
  server.setMode('ok')
  server.setDiscoveryMode('ok')
  server.resetHits()
})

function remote(extra: Partial<ValidatorOptions> = {}) {
  const events: BearerGuardEvent[] = []
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: server.jwksUri,
    onEvent: (event) => events.push(event),
    ...extra,
  } as ValidatorOptions)
  return { validator, events }
}

function failures(events: BearerGuardEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'keys_refresh_failed' ? [event.message] : []))
}

describe('fetchJson', () => {
  it('asks for redirect: manual, which every runtime accepts', async () => {
    let redirect: RequestInit['redirect']
    const spy: typeof fetch = (input, init) => {
      redirect = init?.redirect
      return fetch(input, init)
    }
    await expect(fetchJson(new URL(server.jwksUri), 1_000, 65_536, spy)).resolves.toMatchObject({
      keys: expect.any(Array),
    })
    expect(redirect).toBe('manual')
  })

  it('refuses a 302 from the JWKS server on Node without following it', async () => {
    server.setMode('redirect')
    await expect(fetchJson(new URL(server.jwksUri), 1_000, 65_536)).rejects.toThrow(
      `${server.jwksUri} answered with a redirect (HTTP 302), which is refused`,
    )
    expect(server.requests.map((request) => request.path)).toEqual(['/keys'])
  })

  it('refuses an opaque redirect (status 0), as a browser-like fetch returns it', async () => {
    const opaque: typeof fetch = async () => {
      const response = new Response(null, { status: 200 })
      Object.defineProperty(response, 'type', { value: 'opaqueredirect' })
      Object.defineProperty(response, 'status', { value: 0 })
      return response
    }
    await expect(fetchJson(new URL(server.jwksUri), 1_000, 65_536, opaque)).rejects.toThrow(
      'answered with a redirect (HTTP 0), which is refused',
    )
  })

  it('refuses a response that a fetch option reached by following a redirect', async () => {
    server.setMode('redirect')
    const following: typeof fetch = (input, init) => fetch(input, { ...init, redirect: 'follow' })
    await expect(fetchJson(new URL(server.jwksUri), 1_000, 65_536, following)).rejects.toThrow(
      'answered with a redirect (HTTP 200), which is refused',
    )
  })
})

describe('a redirecting issuer', () => {
  it('gets a 503 at a cold start when the JWKS redirects, and the target is never asked', async () => {
    server.setMode('redirect')
    const { validator, events } = remote()
    expectKeysUnavailable(await rejectionOf(validator.verify(token)), '5')
    expect(failures(events)).toEqual([
      `${server.jwksUri} answered with a redirect (HTTP 302), which is refused`,
    ])
    expect(server.requests.map((request) => request.path)).not.toContain(REDIRECT_PATH)
  })

  it('gets a 503 when the discovery document redirects', async () => {
    server.setDiscoveryMode('redirect')
    const { validator, events } = remote({ jwksUri: undefined, discoveryUrl: server.discoveryUrl })
    expectKeysUnavailable(await rejectionOf(validator.verify(token)), '5')
    expect(failures(events)).toEqual([
      `${server.discoveryUrl} answered with a redirect (HTTP 302), which is refused`,
    ])
    expect(server.hits).toBe(0)
  })

  it('serves keys again once the JWKS answers 200 itself', async () => {
    server.setMode('redirect')
    const { validator } = remote({ cooldownDuration: 0 })
    expectKeysUnavailable(await rejectionOf(validator.verify(token)), '5')
    server.setMode('ok')
    await expect(validator.verify(token)).resolves.toMatchObject({ subject: 'user-123' })
  })
})
