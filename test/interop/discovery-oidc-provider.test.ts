/**
 * Discovery from the issuer with a real OpenID provider: panva's oidc-provider issues RFC 9068 JWT
 * access tokens with the client-credentials grant, and the API is configured with nothing but
 * `{ issuer, audience }`: its keys come from the provider's discovery document. Everything on
 * 127.0.0.1 (http on a loopback host, as for `jwksUri`).
 */
import { createServer, type Server } from 'node:http'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticate } from '../../adapters/express.js'
import { createValidator } from '../../src/index.js'
import { CLIENT_SECRET, close, listen, startProvider } from '../helpers/oidc-provider.js'

const CLIENT_ID = 'discovery-client'
const AUDIENCE = 'api://orders'

let issuer: string
let api: string
const requests: string[] = []
const servers: Server[] = []

beforeAll(async () => {
  const provider = await startProvider({
    clientId: CLIENT_ID,
    audience: AUDIENCE,
    onRequest: (url) => requests.push(url),
  })
  issuer = provider.issuer
  servers.push(provider.server)

  const apiServer = createServer()
  api = await listen(apiServer)
  const app = express()
  app.get('/me', authenticate({ issuer, audience: AUDIENCE }), (req, res) => {
    res.json({ clientId: req.auth?.clientId, scopes: req.auth?.scopes })
  })
  apiServer.on('request', app)
  servers.push(apiServer)
})

afterAll(() => Promise.all(servers.map(close)))

async function clientCredentialsToken(): Promise<string> {
  const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'Files.Read' }),
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { access_token: string }).access_token
}

describe('discovery from a real OpenID provider (oidc-provider)', () => {
  it('verifies its JWT access tokens with keys found through its discovery document', async () => {
    const token = await clientCredentialsToken()
    const validator = createValidator({ issuer, audience: AUDIENCE })
    requests.length = 0
    const auth = await validator.verify(token)
    expect(auth).toMatchObject({ issuer, clientId: CLIENT_ID, scopes: ['Files.Read'] })
    expect(requests[0]).toBe('/.well-known/openid-configuration')
    expect(requests).toHaveLength(2)
  })

  it('protects an Express route configured with only the issuer and the audience', async () => {
    const token = await clientCredentialsToken()
    const ok = await fetch(`${api}/me`, { headers: { authorization: `Bearer ${token}` } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ clientId: CLIENT_ID, scopes: ['Files.Read'] })
    const bad = await fetch(`${api}/me`, { headers: { authorization: `Bearer ${token}x` } })
    expect(bad.status).toBe(401)
  })

  it('refuses the provider as another issuer: its document names the issuer without the slash', async () => {
    const token = await clientCredentialsToken()
    const messages: string[] = []
    const validator = createValidator({
      issuer: `${issuer}/`,
      audience: AUDIENCE,
      onEvent: (event) => {
        if (event.type === 'keys_refresh_failed') messages.push(event.message)
      },
    })
    requests.length = 0
    // Its tokens name the issuer without the slash: refused before any key work.
    expect(await validator.verify(token).catch((e: { status: number }) => e.status)).toBe(401)
    expect(requests).toEqual([])
    expect(await validator.warmUp().catch((e: { status: number }) => e.status)).toBe(503)
    expect(messages[0]).toContain(`names the issuer "${issuer}", not the configured "${issuer}/"`)
  })
})
