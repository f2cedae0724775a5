import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createValidator } from '../../src/index.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

let server: JwksServer
beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  server = await startJwksServer()
})
afterAll(async () => {
  vi.useRealTimers()
  await server.close()
})

describe('the fetch option', () => {
  it('fetches keys and discovery through the given function, with our limits still applied', async () => {
    const seen: Array<{ url: string; redirect: unknown; signal: boolean }> = []
    const counting: typeof fetch = (input, init) => {
      seen.push({
        url: String(input),
        redirect: init?.redirect,
        signal: init?.signal instanceof AbortSignal,
      })
      return fetch(input, init)
    }
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      discoveryUrl: server.discoveryUrl,
      fetch: counting,
    })
    await expect(validator.verify(await mintToken())).resolves.toMatchObject({
      subject: 'user-123',
    })
    expect(seen).toEqual([
      { url: server.discoveryUrl, redirect: 'manual', signal: true },
      { url: server.jwksUri, redirect: 'manual', signal: true },
    ])
  })

  it('answers 503 when the given fetch fails, and refuses a fetch option that is not a function', async () => {
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: server.jwksUri,
      fetch: () => Promise.reject(new Error('proxy down')),
    })
    await expect(validator.verify(await mintToken())).rejects.toMatchObject({ status: 503 })
    expect(() =>
      createValidator({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: server.jwksUri,
        fetch: 'x' as never,
      }),
    ).toThrow('"fetch" option must be a function')
  })
})
