/**
 * The smallest Express API protected by bearer-guard: every route needs a valid token, and
 * /files needs the Files.Read scope. Point it at your issuer and run it:
 *
 *   ISSUER=https://issuer.example/ AUDIENCE=api://orders \
 *   JWKS_URI=https://issuer.example/.well-known/jwks.json npx tsx examples/express.ts
 *   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/files
 *
 * PORT (default 3000) and HOST (default 127.0.0.1) choose where it listens; PORT=0 takes a free
 * port. It prints the URL once it listens.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
// In an application: import { authenticate, requireScopes } from 'bearer-guard/express'
import { authenticate, errorHandler, requireScopes } from '../adapters/express.js'

const { ISSUER, AUDIENCE, JWKS_URI, PORT = '3000', HOST = '127.0.0.1' } = process.env
if (!ISSUER || !AUDIENCE || !JWKS_URI) {
  console.error('Set ISSUER, AUDIENCE and JWKS_URI (see the top of examples/express.ts).')
  process.exit(1)
}

const app = express()
app.use(authenticate({ issuer: ISSUER, audience: AUDIENCE, jwksUri: JWKS_URI }))

app.get('/me', (req, res) => {
  res.json({ subject: req.auth?.subject, scopes: req.auth?.scopes, appOnly: req.auth?.appOnly })
})

app.get('/files', requireScopes('Files.Read'), (_req, res) => {
  res.json({ files: ['q3-report.xlsx'] })
})

// Rejections answered with their status, headers and a small JSON body; nothing logged.
app.use(errorHandler())

const server = app.listen(Number(PORT), HOST, () => {
  const { address, port } = server.address() as AddressInfo
  console.log(`listening on http://${address}:${port}`)
})
