import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type BearerGuardEvent, createValidator } from '../../src/index.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { ecKey, otherRsaKey, rsaKey } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

let server: JwksServer
beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  server = await startJwksServer({ keys: [rsaKey, ecKey] })
})
afterAll(async () => {
  vi.useRealTimers()
  await server.close()
})

describe('onEvent', () => {
  it('reports keys refreshed, keys rotated, a failed refresh and rejections, never a token', async () => {
    const events: BearerGuardEvent[] = []
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: server.jwksUri,
      cooldownDuration: 0,
      onEvent: (event) => events.push(event),
    })
    const good = await mintToken()
    await validator.verify(good)
    expect(events).toEqual([
      {
        type: 'keys_refreshed',
        keyIds: ['rsa-1', 'ec-1'],
        added: ['rsa-1', 'ec-1'],
        removed: [],
        trigger: 'initial',
      },
    ])
    server.setKeys([otherRsaKey])
    await validator.verify(await mintToken({ key: otherRsaKey }))
    expect(events.slice(1)).toEqual([
      {
        type: 'keys_refreshed',
        keyIds: ['rsa-2'],
        added: ['rsa-2'],
        removed: ['rsa-1', 'ec-1'],
        trigger: 'unknown_kid',
      },
      { type: 'keys_rotated', added: ['rsa-2'], removed: ['rsa-1', 'ec-1'] },
    ])
    server.setMode('down')
    const unknown = await mintToken({ header: { kid: 'nope' } })
    await expect(validator.verify(unknown)).rejects.toMatchObject({ status: 503 })
    expect(events.at(-2)).toMatchObject({
      type: 'keys_refresh_failed',
      servingStaleKeys: true,
      trigger: 'unknown_kid',
    })
    expect(events.at(-1)).toMatchObject({
      type: 'token_rejected',
      status: 503,
      reason: 'keys_unavailable',
    })
    server.setMode('ok')
    const expired = await mintToken({ claims: { exp: NOW - 3600 } })
    await expect(validator.verify(expired)).rejects.toMatchObject({ status: 401 })
    // Its keys are due for a refresh, so the signature is not checked: no clock offset in the
    // public description, the full one as detail (issue #13).
    expect(events.at(-1)).toEqual({
      type: 'token_rejected',
      status: 401,
      reason: 'expired',
      description: 'the token has expired',
      detail: 'the token expired 60 min ago',
    })
    const serialized = JSON.stringify(events)
    for (const token of [good, unknown, expired]) {
      for (const part of token.split('.')) expect(serialized).not.toContain(part)
    }
  })

  it('keeps answering when the listener throws', async () => {
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: server.jwksUri,
      onEvent: () => {
        throw new Error('logger down')
      },
    })
    server.setKeys([rsaKey])
    await expect(validator.verify(await mintToken())).resolves.toMatchObject({
      subject: 'user-123',
    })
    await expect(validator.verify('x.y.z')).rejects.toMatchObject({ status: 401 })
  })
})
