/**
 * An Express API for Entra ID with azureAd(): delegated tokens need Files.Read, daemons the
 * Files.Read.All application permission. Point it at your tenant and API registration:
 *
 *   TENANT=<tenant id or domain> CLIENT_ID=<the API's application id> npx tsx examples/azure-ad.ts
 *
 * or run it against the Entra ID emulator of bearer-guard/testing, in one line:
 *
 *   npx tsx examples/with-emulator.ts azure-ad
 *
 * INSTANCE and JWKS_URI override the login instance and the key URL (the emulator sets them);
 * PORT (default 3000) and HOST (default 127.0.0.1) choose where it listens; PORT=0 takes a free
 * port. It prints the URL once it listens.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
// In an application: import { ... } from 'bearer-guard/express' and 'bearer-guard'
import {
  authenticate,
  errorHandler,
  requireScopes,
  requireScopesOrRoles,
} from '../adapters/express.js'
import { azureAd } from '../src/index.js'

const { TENANT, CLIENT_ID, INSTANCE, JWKS_URI, PORT = '3000', HOST = '127.0.0.1' } = process.env
if (!TENANT || !CLIENT_ID) {
  console.error('Set TENANT and CLIENT_ID (see the top of examples/azure-ad.ts).')
  process.exit(1)
}

const app = express()
app.use(
  authenticate(
    azureAd({
      tenant: TENANT,
      clientId: CLIENT_ID,
      ...(INSTANCE ? { instance: INSTANCE } : {}),
      ...(JWKS_URI ? { jwksUri: JWKS_URI } : {}),
    }),
  ),
)

app.get('/me', (req, res) => {
  res.json({ subject: req.auth?.subject, scopes: req.auth?.scopes, appOnly: req.auth?.appOnly })
})

app.get('/files', requireScopes('Files.Read'), (_req, res) => {
  res.json({ files: ['q3-report.xlsx'] })
})

app.get('/reports', requireScopesOrRoles('Files.Read', 'Files.Read.All'), (req, res) => {
  res.json({ caller: req.auth?.clientId, appOnly: req.auth?.appOnly })
})

app.use(errorHandler())

const server = app.listen(Number(PORT), HOST, () => {
  const { address, port } = server.address() as AddressInfo
  console.log(`listening on http://${address}:${port}`)
})
