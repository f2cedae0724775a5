import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createValidator, toValidator, type ValidatorOptions } from '../../src/index.js'
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

describe('toValidator', () => {
  it('gives one validator for one options object, so middleware made per request fetches once', async () => {
    server.resetHits()
    const options: ValidatorOptions = {
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: server.jwksUri,
    }
    const token = await mintToken()
    for (let i = 0; i < 50; i++) {
      const auth = await toValidator(options).authenticate(`Bearer ${token}`)
      expect(auth.subject).toBe('user-123')
    }
    expect(toValidator(options)).toBe(toValidator(options))
    expect(server.hits).toBe(1)
  })

  it('gives separate validators (and caches) for separate options objects', () => {
    const a = toValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: server.jwksUri })
    const b = toValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: server.jwksUri })
    expect(a).not.toBe(b)
    const made = createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: server.jwksUri })
    expect(toValidator(made)).toBe(made)
  })
})
