/**
 * The runnable examples as a user runs them: each in its own process (`node --import tsx`) with
 * PORT=0, against a local JWKS server, with tokens minted at the current time.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken } from '../helpers/tokens.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const EXAMPLES = ['express', 'koa', 'nestjs'] as const

let jwks: JwksServer
const children: ChildProcess[] = []
const started = new Map<string, Promise<string>>()

beforeAll(async () => {
  jwks = await startJwksServer()
  // All three start at once; each suite waits for its own.
  for (const name of EXAMPLES) {
    const env = { ISSUER, AUDIENCE, JWKS_URI: jwks.jwksUri, PORT: '0' }
    const url = startExample(name, env)
    url.catch(() => {})
    started.set(name, url)
  }
})

afterAll(async () => {
  for (const child of children) child.kill()
  await jwks.close()
})

/** Starts an example and resolves with the URL it prints once it listens. */
function startExample(name: string, env: Record<string, string>): Promise<string> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
  delete childEnv.NODE_OPTIONS
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output}`)), 15_000)
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1]
      if (url !== undefined) {
        clearTimeout(timer)
        resolve(url)
      }
    }
    child.stdout?.on('data', read)
    child.stderr?.on('data', read)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with ${code}: ${output}`))
    })
  })
}

function currentToken(claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return mintToken({ claims: { iat: now, nbf: now, exp: now + 600, ...claims } })
}

describe.each(EXAMPLES)('examples/%s.ts', (name) => {
  let url: string

  beforeAll(async () => {
    url = await (started.get(name) as Promise<string>)
  }, 20_000)

  it('answers a valid token with the caller', async () => {
    const response = await fetch(`${url}/me`, {
      headers: { authorization: `Bearer ${await currentToken()}` },
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      subject: 'user-123',
      scopes: ['Files.Read', 'Files.Write'],
      appOnly: false,
    })
  })

  it('guards /files with the Files.Read scope', async () => {
    const allowed = await fetch(`${url}/files`, {
      headers: { authorization: `Bearer ${await currentToken()}` },
    })
    expect(allowed.status).toBe(200)
    const denied = await fetch(`${url}/files`, {
      headers: { authorization: `Bearer ${await currentToken({ scp: 'Profile.Read' })}` },
    })
    expect(denied.status).toBe(403)
    expect(denied.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="the token lacks a scope this resource requires", scope="Files.Read"',
    )
  })

  it('answers 401 with a bare challenge without a token', async () => {
    const response = await fetch(`${url}/me`)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="api"')
  })
})

it('refuses to start without its configuration', async () => {
  await expect(startExample('express', { ISSUER: '', AUDIENCE: '', JWKS_URI: '' })).rejects.toThrow(
    /exited with 1: Set ISSUER, AUDIENCE and JWKS_URI/,
  )
})

describe('examples/resource-metadata.ts', () => {
  const RESOURCE = 'https://api.example.com/orders'
  const METADATA = 'https://api.example.com/.well-known/oauth-protected-resource/orders'
  let url: string

  beforeAll(async () => {
    url = await startExample('resource-metadata', {
      ISSUER,
      AUDIENCE,
      JWKS_URI: jwks.jwksUri,
      RESOURCE,
      PORT: '0',
    })
  }, 20_000)

  it('serves its RFC 9728 metadata without a token, and names it in its 401', async () => {
    const metadata = await fetch(`${url}/.well-known/oauth-protected-resource/orders`)
    expect(metadata.status).toBe(200)
    expect(await metadata.json()).toEqual({
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      scopes_supported: ['Files.Read'],
      bearer_methods_supported: ['header'],
      resource_name: 'Orders API',
    })
    const anonymous = await fetch(`${url}/orders`)
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBe(
      `Bearer realm="api", resource_metadata="${METADATA}"`,
    )
  })

  it('answers a token with the scope', async () => {
    const response = await fetch(`${url}/orders`, {
      headers: { authorization: `Bearer ${await currentToken()}` },
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ subject: 'user-123', orders: [] })
  })
})

describe('examples/mcp.ts', () => {
  const MCP_URL = 'https://mcp.example.com/mcp'
  let url: string

  beforeAll(async () => {
    url = await startExample('mcp', { ISSUER, JWKS_URI: jwks.jwksUri, MCP_URL, PORT: '0' })
  }, 20_000)

  it('lets the MCP SDK client call its tool with a token issued for MCP_URL', async () => {
    const token = await currentToken({ aud: MCP_URL, scp: 'mcp:tools' })
    const client = new Client({ name: 'example-test', version: '1.0.0' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    )
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} })
      expect(result.content).toEqual([{ type: 'text', text: 'user-123' }])
    } finally {
      await client.close()
    }
  })

  it('refuses a token for another audience, naming its metadata', async () => {
    const response = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await currentToken({ scp: 'mcp:tools' })}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toContain(
      'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"',
    )
  })
})

describe('every example against the Entra ID emulator, in one line (issue #13, point 9)', () => {
  // examples/with-emulator.ts starts the emulator and the example, calls it with real tokens
  // (user with and without the scope, daemon, none, forged) and exits 0 when every answer is right.
  // The examples the suites above do not start, plus azureAd()'s own.
  it.each(['azure-ad', 'fastify', 'hono'])(
    'npx tsx examples/with-emulator.ts %s',
    async (name) => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env }
      delete childEnv.NODE_OPTIONS
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'examples/with-emulator.ts', name],
        {
          cwd: root,
          env: childEnv,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let output = ''
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8')
      })
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8')
      })
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
      expect(output.match(/^ok /gm)?.length, output).toBe(5)
      expect(code, output).toBe(0)
    },
    60_000,
  )
})
