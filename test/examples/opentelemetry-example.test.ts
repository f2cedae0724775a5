/**
 * examples/opentelemetry.ts as a user runs it: its own process (`node --import tsx`), PORT=0, a
 * local JWKS server, tokens minted at the current time; its console exporters print the spans and
 * metrics it made.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken } from '../helpers/tokens.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

let jwks: JwksServer
let child: ChildProcess
let output = ''
let url: string

/** Resolves once `pattern` is in the output; fails after `ms`. */
async function waitFor(pattern: RegExp, ms = 15_000): Promise<string> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const found = pattern.exec(output)
    if (found !== null) return found[1] ?? found[0]
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`not seen within ${ms} ms: ${pattern}\n${output}`)
}

beforeAll(async () => {
  jwks = await startJwksServer()
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ISSUER,
    AUDIENCE,
    JWKS_URI: jwks.jwksUri,
    PORT: '0',
    METRICS_INTERVAL: '300',
  }
  delete env.NODE_OPTIONS
  child = spawn(process.execPath, ['--import', 'tsx', 'examples/opentelemetry.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const read = (chunk: Buffer) => {
    output += chunk.toString('utf8')
  }
  child.stdout?.on('data', read)
  child.stderr?.on('data', read)
  url = await waitFor(/listening on (http:\/\/\S+)/, 20_000)
}, 30_000)

afterAll(async () => {
  child?.kill()
  await jwks.close()
})

describe('examples/opentelemetry.ts', () => {
  it('answers with the caller and prints its validation and key-fetch spans and metrics', async () => {
    const now = Math.floor(Date.now() / 1000)
    const token = await mintToken({ claims: { iat: now, nbf: now, exp: now + 600 } })
    const response = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ clientId: 'client-abc', appOnly: false })
    expect((await fetch(`${url}/files`)).status).toBe(401)
    await waitFor(/name: 'bearer_guard\.jwks\.fetch'/)
    await waitFor(/'bearer_guard\.outcome': 'accepted'/)
    await waitFor(/'bearer_guard\.rejection\.reason': 'missing_token'/)
    await waitFor(/name: 'bearer_guard\.validations'/)
    expect(output).not.toContain('user-123')
    expect(output).not.toContain(token.split('.')[1])
  }, 30_000)
})
