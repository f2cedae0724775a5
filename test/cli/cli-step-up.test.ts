import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/cli/run.js'
import { cli } from '../helpers/cli.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

let jwks: JwksServer
let config: string[]

beforeAll(async () => {
  jwks = await startJwksServer()
  config = ['--issuer', ISSUER, '--audience', AUDIENCE, '--jwks', jwks.jwksUri, '--now', `${NOW}`]
})

afterAll(() => jwks.close())

describe('bearer-guard inspect: authentication and what a route asks', () => {
  it('prints xms_cc, acrs, acr and auth_time, and the claims challenge of --auth-context (exit 1)', async () => {
    const token = await mintToken({ claims: { xms_cc: ['cp1'], acr: 'pwd', auth_time: NOW - 60 } })
    const run = await cli(['inspect', token, ...config, '--auth-context', 'c1'])
    expect(run.code).toBe(EXIT.rejected)
    expect(run.stdout).toContain('  xms_cc     ["cp1"] (cp1: the client handles claims challenges)')
    expect(run.stdout).toContain('  acrs       []')
    expect(run.stdout).toContain('  acr        "pwd"')
    expect(run.stdout).toContain('  auth_time  2020-11-03T15:06:18.000Z (60 s ago)')
    expect(run.stdout).toContain('Verdict: ACCEPTED')
    expect(run.stdout).toContain('Route: FAIL')
    expect(run.stdout).toContain('  The route answers 401')
    expect(run.stdout).toContain('error="insufficient_claims"')
  })

  it('answers the step-up flags in JSON, and exits 0 when the route lets the token through', async () => {
    const token = await mintToken({ claims: { acr: 'mfa', auth_time: NOW - 60 } })
    const pass = await cli([
      'inspect',
      token,
      ...config,
      '--acr-values',
      'mfa,hwk',
      '--max-age',
      '300',
    ])
    expect(pass.code).toBe(EXIT.accepted)
    const fail = await cli(['inspect', token, ...config, '--max-age', '30', '--json'])
    expect(fail.code).toBe(EXIT.rejected)
    const json = JSON.parse(fail.stdout) as { route: { response: { headers: object } } }
    expect(json.route.response.headers).toEqual({
      'WWW-Authenticate':
        'Bearer realm="api", error="insufficient_user_authentication", error_description="a more recent authentication is required", max_age="30"',
    })
  })
})
