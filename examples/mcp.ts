/**
 * An MCP server (Streamable HTTP, stateless) whose tools only answer tokens issued for it: the
 * MCP SDK's bearer middleware with bearer-guard's verifier, and the RFC 9728 metadata MCP clients
 * discover the authorization server from. Point it at your issuer and run it:
 *
 *   ISSUER=https://issuer.example/ JWKS_URI=https://issuer.example/.well-known/jwks.json \
 *   MCP_URL=https://mcp.example.com/mcp npx tsx examples/mcp.ts
 *   curl http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp
 *
 * MCP_URL is the server's canonical URI, as clients call it: the resource they ask tokens for
 * (RFC 8707), so the audience tokens must carry. Tools need the `mcp:tools` scope. PORT (default
 * 3000) and HOST (default 127.0.0.1) choose where it listens; PORT=0 takes a free port. It prints
 * the URL once it listens.
 */
import type { AddressInfo } from 'node:net'
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js'
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
// In an application: import { ... } from 'bearer-guard/mcp' and 'bearer-guard'
import { bearerGuardAuth, mcpBearerAuth, protectedResourceMetadata } from '../adapters/mcp.js'
import { createValidator } from '../src/index.js'

const { ISSUER, JWKS_URI, MCP_URL, PORT = '3000', HOST = '127.0.0.1' } = process.env
if (!ISSUER || !JWKS_URI || !MCP_URL) {
  console.error('Set ISSUER, JWKS_URI and MCP_URL (see the top of examples/mcp.ts).')
  process.exit(1)
}

const validator = createValidator({
  issuer: ISSUER,
  audience: MCP_URL,
  jwksUri: JWKS_URI,
  resourceMetadata: { resource: MCP_URL, scopesSupported: ['mcp:tools'] },
})

function createServer(): McpServer {
  const server = new McpServer({ name: 'orders', version: '1.0.0' })
  server.registerTool('whoami', { description: 'Who is calling' }, async ({ authInfo }) => ({
    content: [{ type: 'text', text: bearerGuardAuth(authInfo)?.subject ?? 'nobody' }],
  }))
  return server
}

const app = createMcpExpressApp({ host: HOST })
app.use(protectedResourceMetadata(validator))
app.post(
  new URL(MCP_URL).pathname,
  requireBearerAuth(mcpBearerAuth(validator, { requiredScopes: ['mcp:tools'] })),
  async (req, res) => {
    const server = createServer()
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
    res.on('close', () => {
      void transport.close()
      void server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(req, res, req.body)
  },
)

const listener = app.listen(Number(PORT), HOST, () => {
  const { address, port } = listener.address() as AddressInfo
  console.log(`listening on http://${address}:${port}`)
})
