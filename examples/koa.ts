/**
 * The smallest Koa API protected by bearer-guard: every route needs a valid token, and /files
 * needs the Files.Read scope. Point it at your issuer and run it:
 *
 *   ISSUER=https://issuer.example/ AUDIENCE=api://orders \
 *   JWKS_URI=https://issuer.example/.well-known/jwks.json npx tsx examples/koa.ts
 *   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/files
 *
 * PORT (default 3000) and HOST (default 127.0.0.1) choose where it listens; PORT=0 takes a free
 * port. It prints the URL once it listens.
 */
import type { AddressInfo } from 'node:net'
import Router from '@koa/router'
import Koa from 'koa'
// In an application: import { ... } from 'bearer-guard/koa'
import { authenticate, type BearerGuardState, requireScopes } from '../adapters/koa.js'

const { ISSUER, AUDIENCE, JWKS_URI, PORT = '3000', HOST = '127.0.0.1' } = process.env
if (!ISSUER || !AUDIENCE || !JWKS_URI) {
  console.error('Set ISSUER, AUDIENCE and JWKS_URI (see the top of examples/koa.ts).')
  process.exit(1)
}

const router = new Router<BearerGuardState>()
router.get('/me', (ctx) => {
  const { subject, scopes, appOnly } = ctx.state.auth
  ctx.body = { subject, scopes, appOnly }
})
router.get('/files', requireScopes('Files.Read'), (ctx) => {
  ctx.body = { files: ['q3-report.xlsx'] }
})

const app = new Koa<BearerGuardState>()
  .use(authenticate({ issuer: ISSUER, audience: AUDIENCE, jwksUri: JWKS_URI }))
  .use(router.routes())

const server = app.listen(Number(PORT), HOST, () => {
  const { address, port } = server.address() as AddressInfo
  console.log(`listening on http://${address}:${port}`)
})
