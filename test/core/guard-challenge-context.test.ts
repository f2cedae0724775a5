/**
 * A guard answers in the terms of the validator that verified the token (verifier-context.ts): its
 * realm, and every scheme it accepts, so a 403 from a validator that also accepts DPoP carries a
 * DPoP challenge with its proof `algs` beside the Bearer one (RFC 9449 §7.1, RFC 7235 §4.1).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { checkGuard, createValidator, requireScopes } from '../../src/index.js'
import { ecKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  return () => vi.useRealTimers()
})

const base = { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(ecKey) }

describe('a guard rejection in the verifying validator terms', () => {
  it('names the validator realm', async () => {
    const validator = createValidator({ ...base, realm: 'orders' })
    const auth = await validator.verify(await mintToken({ key: ecKey }))
    expect(checkGuard(requireScopes('Orders.Write'), auth)?.headers['WWW-Authenticate']).toBe(
      'Bearer realm="orders", error="insufficient_scope", error_description="the token lacks a scope this resource requires", scope="Orders.Write"',
    )
  })

  it('carries a DPoP challenge with algs beside the Bearer one when DPoP is accepted', async () => {
    const validator = createValidator({
      ...base,
      dpop: { publicOrigin: 'https://api.example' },
    })
    const auth = await validator.verify(await mintToken({ key: ecKey }))
    const challenge = checkGuard(requireScopes('Orders.Write'), auth)?.headers['WWW-Authenticate']
    expect(challenge).toMatch(
      /^Bearer realm="api", error="insufficient_scope", .*scope="Orders\.Write"/,
    )
    expect(challenge).toMatch(
      /, DPoP realm="api", error="insufficient_scope", .*scope="Orders\.Write", algs="ES256 [^"]*"$/,
    )
  })

  it('keeps the default context for a validator with none of its own', async () => {
    const validator = createValidator(base)
    const auth = await validator.verify(await mintToken({ key: ecKey }))
    expect(checkGuard(requireScopes('Orders.Write'), auth)?.headers['WWW-Authenticate']).toMatch(
      /^Bearer realm="api", error="insufficient_scope"/,
    )
    expect(checkGuard(requireScopes('Files.Read'), auth)).toBeUndefined()
  })
})
