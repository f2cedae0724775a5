import { describe, expect, it } from 'vitest'
import { requireAuthContext, requireScopes, requireStepUp } from '../../src/index.js'
import { inspectToken } from '../../src/inspect.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

const options = {
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: toJwks(rsaKey),
  authorizationUri:
    'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize',
  tokenCache: false as const,
}
const C1_BASE64 = 'eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19'

describe('inspectToken: authentication and route', () => {
  it('shows xms_cc, acrs, acr and auth_time, in either claim shape', async () => {
    const token = await mintToken({
      claims: { xms_cc: 'CP1 cp2', acrs: ['c2'], acr: 'urn:example:mfa', auth_time: NOW - 90 },
    })
    const report = await inspectToken(token, options, { now: NOW })
    expect(report.authentication).toEqual({
      clientCapabilities: ['CP1', 'cp2'],
      handlesClaimsChallenges: true,
      authContexts: ['c2'],
      acr: 'urn:example:mfa',
      authTime: NOW - 90,
    })
    expect(report.route).toBeUndefined()
  })

  it("says what a route would ask: the claims challenge of requireAuthContext, in the validator's terms", async () => {
    const token = await mintToken({ claims: { xms_cc: ['cp1'] } })
    const report = await inspectToken(token, options, {
      now: NOW,
      guards: [requireScopes('Files.Read'), requireAuthContext('c1')],
    })
    expect(report.verdict).toBe('accepted')
    expect(report.route?.status).toBe('fail')
    expect(report.route?.error?.status).toBe(401)
    expect(report.route?.error?.headers['WWW-Authenticate']).toBe(
      `Bearer realm="", authorization_uri="${options.authorizationUri}", error="insufficient_claims", claims="${C1_BASE64}"`,
    )
  })

  it('runs requireStepUp as of the inspection time, and passes a route whose guards all pass', async () => {
    const token = await mintToken({ claims: { acr: 'mfa', auth_time: NOW - 100 } })
    const guards = [requireStepUp({ acrValues: ['mfa'], maxAge: 120 })]
    const fresh = await inspectToken(token, options, { now: NOW, guards })
    expect(fresh.route).toEqual({
      status: 'pass',
      detail: 'every guard of the route lets the token through',
    })
    const late = await inspectToken(token, options, { now: NOW + 60, guards })
    expect(late.route?.error?.headers['WWW-Authenticate']).toBe(
      'Bearer realm="api", error="insufficient_user_authentication", error_description="a more recent authentication is required", acr_values="mfa", max_age="120"',
    )
  })

  it('skips the route for a token the validator rejects, and checks the guards setting', async () => {
    const expired = await mintToken({
      claims: { exp: NOW - 3600, iat: NOW - 7200, nbf: NOW - 7200 },
    })
    const report = await inspectToken(expired, options, {
      now: NOW,
      guards: [requireAuthContext('c1')],
    })
    expect(report.route?.status).toBe('skip')
    await expect(inspectToken(expired, options, { guards: ['x'] as never })).rejects.toThrow(
      TypeError,
    )
  })
})
