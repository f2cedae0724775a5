/**
 * An MCP server protected by bearer-guard, end to end with the real SDK
 * (`@modelcontextprotocol/sdk`): a Streamable HTTP server on Express behind the SDK's own
 * `requireBearerAuth`, given `bearer-guard/mcp`'s verifier, and the SDK's `Client` with its
 * `StreamableHTTPClientTransport` calling a tool. Tokens come from two issuers:
 *
 * - panva's `oidc-provider`, a plain OIDC issuer: the SDK client discovers everything itself
 *   (the 401's `resource_metadata`, our RFC 9728 document, the issuer's metadata) and gets a JWT
 *   access token with the client-credentials grant for the MCP server's URL as resource (RFC 8707);
 * - the Entra ID emulator of `bearer-guard/testing`, with `azureAd()`, tokens sent as they are.
 *
 * Then the rejections as the SDK's middleware answers them: no token, a token for another
 * audience, a missing scope, an expired token, no keys to be had.
 *
 * This file lives in the `tsconfig.mcp.json` program: the SDK's middleware declares Express's
 * `req.auth` with its own type, as `bearer-guard/express` does with ours (see README, "MCP servers").
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js'
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import Provider, { errors } from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bearerGuardAuth,
  createTokenVerifier,
  mcpBearerAuth,
  protectedResourceMetadata,
} from '../../adapters/mcp.js'
import { azureAd, createValidator, type Validator } from '../../src/index.js'
import { type EntraEmulator, startEntraEmulator } from '../../src/testing/index.js'
import { createTestKey } from '../helpers/keys.js'
import { clientCredentialsClient } from '../helpers/oidc-clients.js'

const CLIENT_ID = 'mcp-agent'
const CLIENT_SECRET = 'a client secret that is long enough for the test'
const SCOPE = 'mcp:tools'

const servers: Server[] = []
const close = (server: Server) => new Promise<void>((done) => server.close(() => done()))

/** A server listening on 127.0.0.1:0 before it has a handler, so its URL can configure it. */
async function listening(): Promise<{ server: Server; origin: string }> {
  const server = createServer()
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** The MCP server's one tool: who called, as the SDK and bearer-guard saw it. */
function createMcpServer(): McpServer {
  const server = new McpServer({ name: 'orders', version: '1.0.0' })
  server.registerTool('whoami', { description: 'Who is calling' }, async (extra) => {
    const auth = bearerGuardAuth(extra.authInfo)
    const text = JSON.stringify({
      clientId: extra.authInfo?.clientId,
      scopes: extra.authInfo?.scopes,
      resource: extra.authInfo?.resource?.href,
      expiresAt: extra.authInfo?.expiresAt,
      issuer: auth?.issuer,
      subject: auth?.subject,
    })
    return { content: [{ type: 'text', text }] }
  })
  return server
}

/** Serves an MCP server at /mcp behind the SDK's bearer middleware with our verifier. */
function mcpApp(validator: Validator) {
  const app = createMcpExpressApp()
  app.use(protectedResourceMetadata(validator))
  app.post(
    '/mcp',
    requireBearerAuth(mcpBearerAuth(validator, { requiredScopes: [SCOPE] })),
    async (req, res) => {
      // Stateless: one server and transport per request.
      const server = createMcpServer()
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      })
      res.on('close', () => {
        void transport.close()
        void server.close()
      })
      await server.connect(transport)
      await transport.handleRequest(req, res, req.body)
    },
  )
  return app
}

/** Calls the `whoami` tool with the SDK client; resolves to what the tool saw. */
async function callWhoami(
  url: string,
  options: ConstructorParameters<typeof StreamableHTTPClientTransport>[1],
): Promise<Record<string, unknown>> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(url), options))
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} })
    const [content] = result.content as Array<{ type: string; text: string }>
    return JSON.parse(content?.text ?? 'null') as Record<string, unknown>
  } finally {
    await client.close()
  }
}

/** A JSON-RPC `initialize` request to the MCP endpoint, as raw fetch, for the rejection cases. */
function initialize(url: string, token?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'raw', version: '1' },
      },
    }),
    signal: AbortSignal.timeout(5_000),
  })
}

afterAll(() => Promise.all(servers.map(close)))

describe('with tokens from a plain OIDC issuer (oidc-provider), found by the SDK client itself', () => {
  let issuer: string
  let mcpUrl: string
  let metadataUrl: string

  beforeAll(async () => {
    const as = await listening()
    issuer = as.origin
    const mcp = await listening()
    mcpUrl = `${mcp.origin}/mcp`
    metadataUrl = `${mcp.origin}/.well-known/oauth-protected-resource/mcp`
    const signing = await createTestKey('ES256', 'as-es256')
    const provider = new Provider(issuer, {
      clients: [clientCredentialsClient(CLIENT_ID, CLIENT_SECRET, { scope: SCOPE })],
      jwks: { keys: [signing.privateJwk as never] },
      scopes: [SCOPE],
      features: {
        clientCredentials: { enabled: true },
        devInteractions: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => mcpUrl,
          useGrantedResource: () => true,
          // Tokens for the MCP server only; any other resource indicator is refused.
          getResourceServerInfo: (_ctx, resource) => {
            if (resource !== mcpUrl) throw new errors.InvalidTarget()
            return {
              scope: SCOPE,
              audience: resource,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'ES256' } },
            }
          },
        },
      },
    })
    as.server.on('request', provider.callback())
    const validator = createValidator({
      issuer,
      audience: mcpUrl,
      jwksUri: `${issuer}/jwks`,
      resourceMetadata: { resource: mcpUrl, scopesSupported: [SCOPE], resourceName: 'Orders MCP' },
    })
    mcp.server.on('request', mcpApp(validator))
  })

  it('serves the RFC 9728 document the MCP authorization spec requires', async () => {
    const response = await fetch(metadataUrl, { signal: AbortSignal.timeout(5_000) })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      resource: mcpUrl,
      authorization_servers: [issuer],
      scopes_supported: [SCOPE],
      bearer_methods_supported: ['header'],
      resource_name: 'Orders MCP',
    })
  })

  it('answers a call without a token with 401 naming the metadata, as the SDK middleware words it', async () => {
    const response = await initialize(mcpUrl)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="Missing Authorization header", scope="${SCOPE}", resource_metadata="${metadataUrl}"`,
    )
  })

  it('lets the SDK client discover the issuer, get a token for the MCP server and call a tool', async () => {
    const authProvider = new ClientCredentialsProvider({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      // The SDK asks client-credentials tokens for this scope (not the challenge's).
      scope: SCOPE,
      expectedIssuer: issuer,
    })
    const seen = await callWhoami(mcpUrl, { authProvider })
    expect(seen).toMatchObject({
      clientId: CLIENT_ID,
      scopes: [SCOPE],
      resource: mcpUrl,
      issuer,
      subject: CLIENT_ID,
    })
    expect(seen.expiresAt).toBeTypeOf('number')
    // The token the SDK got names the MCP server as its audience (RFC 8707).
    const token = authProvider.tokens()?.access_token as string
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString())
    expect(claims.aud).toBe(mcpUrl)
  })
})

describe('with tokens from the Entra ID emulator (azureAd)', () => {
  let emulator: EntraEmulator
  let mcpUrl: string
  let metadataUrl: string
  let validator: Validator

  beforeAll(async () => {
    emulator = await startEntraEmulator({ http: true })
    const mcp = await listening()
    mcpUrl = `${mcp.origin}/mcp`
    metadataUrl = `${mcp.origin}/.well-known/oauth-protected-resource/mcp`
    validator = createValidator(
      azureAd({
        ...emulator.azureAdOptions(),
        // The MCP server's URL, and the App ID URI it also answers to in other calls.
        audience: [mcpUrl, 'api://orders'],
        resourceMetadata: { resource: mcpUrl, scopesSupported: [SCOPE] },
      }),
    )
    mcp.server.on('request', mcpApp(validator))
  })

  afterAll(() => emulator.close())

  const mint = (overrides: Parameters<EntraEmulator['mint']>[0]) => emulator.mint(overrides)

  it('names the tenant issuer as the authorization server', async () => {
    const response = await fetch(metadataUrl, { signal: AbortSignal.timeout(5_000) })
    const document = (await response.json()) as { authorization_servers: string[] }
    expect(document.authorization_servers).toEqual([emulator.issuer()])
  })

  it('lets the SDK client call a tool with a token issued for the MCP server', async () => {
    const token = mint({ resource: mcpUrl, scopes: [SCOPE] })
    const seen = await callWhoami(mcpUrl, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    })
    expect(seen).toMatchObject({
      clientId: emulator.defaultClient.clientId,
      scopes: [SCOPE],
      resource: mcpUrl,
      issuer: emulator.issuer(),
      subject: expect.any(String),
    })
  })

  it('refuses a token for another audience with 401 and the metadata URL', async () => {
    const response = await initialize(mcpUrl, mint({ resource: 'api://payments', scopes: [SCOPE] }))
    expect(response.status).toBe(401)
    const challenge = response.headers.get('www-authenticate') as string
    expect(challenge).toMatch(/^Bearer error="invalid_token", error_description="[^"]*audience/)
    expect(challenge).toContain(`resource_metadata="${metadataUrl}"`)
    expect(await response.text()).not.toContain('eyJ')
  })

  it('refuses a token the validator accepts for another of its audiences: it is not for the MCP server', async () => {
    const response = await initialize(mcpUrl, mint({ resource: 'api://orders', scopes: [SCOPE] }))
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="the token audience (aud) is not this MCP server: request a token for the resource ${mcpUrl}", scope="${SCOPE}", resource_metadata="${metadataUrl}"`,
    )
  })

  it('answers a token without the required scope with 403 insufficient_scope', async () => {
    const response = await initialize(mcpUrl, mint({ resource: mcpUrl, scopes: ['Other.Read'] }))
    expect(response.status).toBe(403)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", error_description="Insufficient scope", scope="${SCOPE}", resource_metadata="${metadataUrl}"`,
    )
  })

  it('refuses an expired token with our description', async () => {
    const issuedAt = Math.floor(Date.now() / 1000) - 7200
    const token = mint({ resource: mcpUrl, scopes: [SCOPE], issuedAt, lifetime: 600 })
    const response = await initialize(mcpUrl, token)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toMatch(
      /^Bearer error="invalid_token", error_description="[^"]*expired[^"]*", scope=/,
    )
  })

  it('answers 500 server_error, not 401, when no key can be had', async () => {
    const cold = createValidator(
      azureAd({
        ...emulator.azureAdOptions(),
        audience: mcpUrl,
        resourceMetadata: { resource: mcpUrl },
        timeoutDuration: 2_000,
      }),
    )
    const verifier = createTokenVerifier(cold)
    emulator.setJwksMode('down')
    try {
      const error = await verifier
        .verifyAccessToken(mint({ resource: mcpUrl, scopes: [SCOPE] }))
        .then(
          () => undefined,
          (reason: unknown) => reason,
        )
      expect(error).toBeInstanceOf(Error)
      expect((error as { constructor: { errorCode?: string } }).constructor.errorCode).toBe(
        'server_error',
      )
      expect((error as Error).message).toBe('the token cannot be verified now')
    } finally {
      emulator.setJwksMode('ok')
    }
  })
})

describe('createTokenVerifier at creation', () => {
  const keys = { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] }

  it('needs the resourceMetadata option', () => {
    expect(() =>
      createTokenVerifier({
        issuer: 'https://as.example/',
        audience: 'https://mcp.example/',
        keys,
      }),
    ).toThrow(/needs the "resourceMetadata" option/)
  })

  it('needs the canonical URI among the audiences', () => {
    expect(() =>
      createTokenVerifier({
        issuer: 'https://as.example/',
        audience: 'api://orders',
        keys,
        resourceMetadata: { resource: 'https://mcp.example/mcp' },
      }),
    ).toThrow(/"audience" option must include "resourceMetadata.resource"/)
  })

  it('refuses required scopes that cannot be named in a challenge', () => {
    expect(() =>
      mcpBearerAuth(
        {
          issuer: 'https://as.example/',
          audience: 'https://mcp.example/mcp',
          keys,
          resourceMetadata: { resource: 'https://mcp.example/mcp' },
        },
        { requiredScopes: ['a"b'] },
      ),
    ).toThrow(TypeError)
  })
})
