/**
 * examples/multi-issuer.ts as a user runs it: its own process (`node --import tsx`), PORT=0, the
 * Entra ID emulator as the workforce issuer, and a local partner issuer whose discovery document
 * names a real JWKS server; tokens minted at the current time.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type AppRegistration,
  type EntraEmulator,
  startEntraEmulator,
} from '../../src/testing/index.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { mintToken } from '../helpers/tokens.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const PARTNER_AUDIENCE = 'https://orders.example.com/'

let emulator: EntraEmulator
let api: AppRegistration
let jwks: JwksServer
let discovery: Server
let partnerIssuer = ''
let child: ChildProcess | undefined
let url = ''

beforeAll(async () => {
  ;[emulator, jwks] = await Promise.all([startEntraEmulator({ http: true }), startJwksServer()])
  api = emulator.registerApp({
    name: 'Orders',
    scopes: ['Orders.Read'],
    appRoles: ['Orders.Read.All'],
  })
  discovery = createServer((req, res) => {
    if (req.url !== '/.well-known/openid-configuration') return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ issuer: partnerIssuer, jwks_uri: jwks.jwksUri }))
  })
  await new Promise<void>((resolve) => discovery.listen(0, '127.0.0.1', resolve))
  partnerIssuer = `http://127.0.0.1:${(discovery.address() as AddressInfo).port}`
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TENANT: emulator.tenantId,
    CLIENT_ID: api.clientId,
    INSTANCE: emulator.instance,
    JWKS_URI: emulator.jwksUri(),
    PARTNER_ISSUER: partnerIssuer,
    PARTNER_AUDIENCE,
    PORT: '0',
  }
  delete env.NODE_OPTIONS
  const started = spawn(process.execPath, ['--import', 'tsx', 'examples/multi-issuer.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child = started
  url = await new Promise<string>((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`did not start: ${output}`)), 15_000)
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      const found = /listening on (http:\/\/\S+)/.exec(output)?.[1]
      if (found !== undefined) {
        clearTimeout(timer)
        resolve(found)
      }
    }
    started.stdout?.on('data', read)
    started.stderr?.on('data', read)
    started.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code}: ${output}`))
    })
  })
}, 30_000)

afterAll(async () => {
  child?.kill()
  discovery?.closeAllConnections()
  await new Promise((resolve) => discovery?.close(resolve))
  await Promise.all([emulator?.close(), jwks?.close()])
})

function partnerToken(claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return mintToken({
    claims: {
      iss: partnerIssuer,
      aud: PARTNER_AUDIENCE,
      scp: 'Orders.Read',
      iat: now,
      nbf: now,
      exp: now + 600,
      ...claims,
    },
  })
}

const call = (path: string, token?: string) =>
  fetch(`${url}${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  })

describe('examples/multi-issuer.ts', () => {
  it('accepts a workforce user, a workforce daemon and a partner, and names the issuer', async () => {
    const user = emulator.mint({ resource: api, scopes: ['Orders.Read'] })
    const daemon = emulator.mint({ resource: api, roles: ['Orders.Read.All'] })
    for (const [token, issuerName] of [
      [user, 'workforce'],
      [daemon, 'workforce'],
      [await partnerToken(), 'partners'],
    ] as const) {
      const res = await call('/orders', token)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ orders: ['PO-1001'], for: issuerName })
    }
    expect(jwks.discoveryHits).toBe(0)
    expect(jwks.hits).toBe(1)
  })

  it('refuses a partner token without the scope (403), a stranger (401) and no token (401)', async () => {
    const denied = await call('/orders', await partnerToken({ scp: 'Profile.Read' }))
    expect(denied.status).toBe(403)
    const stranger = await call('/me', await partnerToken({ iss: 'https://evil.example/' }))
    expect(stranger.status).toBe(401)
    expect(stranger.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="invalid_token", error_description="the token issuer (iss) is not one this API accepts"',
    )
    expect((await call('/me')).status).toBe(401)
  })
})
