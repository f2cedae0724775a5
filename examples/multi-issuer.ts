/**
 * One Express API for two issuers: the workforce's Entra ID tenant (azureAd()) and a partner
 * OIDC issuer (Auth0, Okta, Keycloak...) whose keys are found through its discovery document.
 * Every route needs a token of either; /orders needs the Orders.Read scope or the
 * Orders.Read.All application permission, whichever issuer it comes from.
 *
 *   TENANT=<tenant id> CLIENT_ID=<the API's application id> \
 *   PARTNER_ISSUER=https://partner.eu.auth0.com/ PARTNER_AUDIENCE=https://orders.example.com/ \
 *   npx tsx examples/multi-issuer.ts
 *   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/me
 *
 * INSTANCE and JWKS_URI override Entra ID's login instance and key URL (the emulator of
 * bearer-guard/testing sets them); PORT (default 3000) and HOST (default 127.0.0.1) choose where
 * it listens; PORT=0 takes a free port. It prints the URL once it listens.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
// In an application: import { ... } from 'bearer-guard/express' and 'bearer-guard'
import { authenticate, errorHandler, requireScopesOrRoles } from '../adapters/express.js'
import { azureAd, createMultiIssuerValidator } from '../src/index.js'

const { TENANT, CLIENT_ID, INSTANCE, JWKS_URI, PARTNER_ISSUER, PARTNER_AUDIENCE } = process.env
const { PORT = '3000', HOST = '127.0.0.1' } = process.env
if (!TENANT || !CLIENT_ID || !PARTNER_ISSUER || !PARTNER_AUDIENCE) {
  console.error(
    'Set TENANT, CLIENT_ID, PARTNER_ISSUER and PARTNER_AUDIENCE (see the top of examples/multi-issuer.ts).',
  )
  process.exit(1)
}

const validator = createMultiIssuerValidator({
  issuers: {
    workforce: azureAd({
      tenant: TENANT,
      clientId: CLIENT_ID,
      ...(INSTANCE ? { instance: INSTANCE } : {}),
      ...(JWKS_URI ? { jwksUri: JWKS_URI } : {}),
    }),
    // No key source: the keys come from the issuer's discovery document.
    partners: { issuer: PARTNER_ISSUER, audience: PARTNER_AUDIENCE },
  },
})

const app = express()
app.use(authenticate(validator))
app.get('/me', (req, res) => {
  res.json({
    issuerName: req.auth?.issuerName,
    subject: req.auth?.subject,
    appOnly: req.auth?.appOnly,
  })
})
app.get('/orders', requireScopesOrRoles('Orders.Read', 'Orders.Read.All'), (req, res) => {
  res.json({ orders: ['PO-1001'], for: req.auth?.issuerName })
})
app.use(errorHandler())

// Keys and discovery of both issuers before the first request; a failure is logged, and the
// first requests then wait for them (or answer 503 while an issuer is down).
validator.warmUp().catch((error: Error) => console.error(`warm-up: ${error.message}`))
const server = app.listen(Number(PORT), HOST, () => {
  const { address, port } = server.address() as AddressInfo
  console.log(`listening on http://${address}:${port}`)
})
