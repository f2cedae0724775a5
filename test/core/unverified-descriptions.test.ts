/**
 * A caller whose token signature has not been verified is told what failed, but no configuration
 * value of the API (its client id, in the Entra ID hints) and no clock offset ("expired 20793 d
 * ago"); a token that verifies gets the full description (issue #13, point 6). Inspect and
 * onEvent keep the full text.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { azureAd, type BearerGuardEvent, createValidator, inspectToken } from '../../src/index.js'
import { attackerKey, rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { rejectionOf } from './support.js'

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  return () => vi.useRealTimers()
})

// A forged token: signed by the attacker with the kid of the API's real key.
const forged = (claims: Record<string, unknown>) =>
  mintToken({ key: attackerKey, claims, header: { kid: rsaKey.kid } })

describe('expired tokens', () => {
  it('tells a forged expired token only that it expired, and logs the offset as detail', async () => {
    const events: BearerGuardEvent[] = []
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: toJwks(rsaKey),
      onEvent: (event) => events.push(event),
    })
    await validator.warmUp()
    const error = await rejectionOf(validator.verify(await forged({ exp: NOW - 1_796_515_200 })))
    expect(error.reason).toBe('expired')
    expect(error.message).toBe('the token has expired')
    expect(error.headers['WWW-Authenticate']).toBe(
      'Bearer realm="api", error="invalid_token", error_description="the token has expired"',
    )
    expect(events.at(-1)).toEqual({
      type: 'token_rejected',
      status: 401,
      reason: 'expired',
      description: 'the token has expired',
      detail: 'the token expired 20793 d ago',
    })
  })

  it('tells a genuine expired token how long ago, once the key is at hand', async () => {
    const validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })
    await validator.warmUp()
    const error = await rejectionOf(
      validator.verify(await mintToken({ claims: { exp: NOW - 3600 } })),
    )
    expect(error.message).toBe('the token expired 60 min ago')
  })

  it('keeps the full text in inspect, for the developer who holds the token', async () => {
    const token = await forged({ exp: NOW - 3600 })
    const report = await inspectToken(token, {
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: toJwks(rsaKey),
    })
    const exp = report.checks.find((check) => check.name === 'exp')
    expect(exp?.detail).toBe('the token expired 60 min ago')
  })
})

describe('Entra ID hints (they name the API)', () => {
  const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
  const CLIENT = '6e74172b-be56-4843-9ff4-e66a39bb12e3'
  const options = {
    ...azureAd({ tenant: TENANT, clientId: CLIENT }),
    jwksUri: undefined,
    keys: toJwks(rsaKey),
  }
  const graph = {
    iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
    tid: TENANT,
    ver: '2.0',
    aud: 'https://graph.microsoft.com',
    scp: 'User.Read',
  }

  it('gives a forged token the plain audience rejection, without the client id', async () => {
    const validator = createValidator(options)
    await validator.warmUp()
    const error = await rejectionOf(validator.verify(await forged(graph)))
    expect(error.reason).toBe('wrong_audience')
    expect(error.message).toBe('the token audience (aud) is not this API')
    expect(error.headers['WWW-Authenticate']).not.toContain(CLIENT)
  })

  it('gives a genuine Graph token the hint that names what to request', async () => {
    const validator = createValidator(options)
    const error = await rejectionOf(validator.verify(await mintToken({ claims: graph })))
    expect(error.message).toContain(CLIENT)
    expect(error.message).toContain('Microsoft Graph')
  })
})
