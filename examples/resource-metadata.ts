/**
 * An Express API that publishes its OAuth 2.0 Protected Resource Metadata (RFC 9728): clients
 * learn from it which issuer gives tokens for this API and which scopes it knows, and every 401
 * points at it. Point it at your issuer and run it:
 *
 *   ISSUER=https://issuer.example/ AUDIENCE=api://orders \
 *   JWKS_URI=https://issuer.example/.well-known/jwks.json \
 *   RESOURCE=https://api.example.com/orders npx tsx examples/resource-metadata.ts
 *   curl http://127.0.0.1:3000/.well-known/oauth-protected-resource/orders
 *
 * RESOURCE is the URL clients call the API at (behind a proxy, the public one). PORT (default
 * 3000) and HOST (default 127.0.0.1) choose where it listens; PORT=0 takes a free port. It prints
 * the URL once it listens.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
// In an application: import { ... } from 'bearer-guard/express' and 'bearer-guard'
import {
  authenticate,
  errorHandler,
  protectedResourceMetadata,
  requireScopes,
} from '../adapters/express.js'
import { createValidator } from '../src/index.js'

const { ISSUER, AUDIENCE, JWKS_URI, RESOURCE, PORT = '3000', HOST = '127.0.0.1' } = process.env
if (!ISSUER || !AUDIENCE || !JWKS_URI || !RESOURCE) {
  console.error(
    'Set ISSUER, AUDIENCE, JWKS_URI and RESOURCE (see the top of examples/resource-metadata.ts).',
  )
  process.exit(1)
}

const validator = createValidator({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwksUri: JWKS_URI,
  resourceMetadata: {
    resource: RESOURCE,
    scopesSupported: ['Files.Read'],
    resourceName: 'Orders API',
  },
})

const app = express()
// The metadata is public: served before authentication.
app.use(protectedResourceMetadata(validator))
app.use(authenticate(validator))

app.get('/orders', requireScopes('Files.Read'), (req, res) => {
  res.json({ subject: req.auth?.subject, orders: [] })
})

app.use(errorHandler())

const server = app.listen(Number(PORT), HOST, () => {
  const { address, port } = server.address() as AddressInfo
  console.log(`listening on http://${address}:${port}`)
})
