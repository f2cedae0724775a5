/**
 * The smallest Hono API protected by bearer-guard, served on Node by @hono/node-server: every
 * route needs a valid token, and /files needs the Files.Read scope. The same `app` runs on Bun or
 * Deno (export `app`; the core needs `node:crypto`). Point it at your issuer and run it:
 *
 *   ISSUER=https://issuer.example/ AUDIENCE=api://orders \
 *   JWKS_URI=https://issuer.example/.well-known/jwks.json npx tsx examples/hono.ts
 *   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/files
 *
 * PORT (default 3000) and HOST (default 127.0.0.1) choose where it listens; PORT=0 takes a free
 * port. It prints the URL once it listens. Tests import `createApp`.
 */
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
// In an application: import { ... } from 'bearer-guard/hono'
import { authenticate, type BearerGuardEnv, requireScopes } from '../adapters/hono.js'
// In an application: import { createValidator, type Validator } from 'bearer-guard'
import { createValidator, type Validator } from '../src/index.js'

/** The API: `authenticate` on every route, a scope guard on /files. */
export function createApp(validator: Validator): Hono<BearerGuardEnv> {
  const app = new Hono<BearerGuardEnv>()
  app.use(authenticate(validator))
  app.get('/me', (c) => {
    const { subject, scopes, appOnly } = c.get('auth')
    return c.json({ subject, scopes, appOnly })
  })
  app.get('/files', requireScopes('Files.Read'), (c) => c.json({ files: ['q3-report.xlsx'] }))
  return app
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ISSUER, AUDIENCE, JWKS_URI, PORT = '3000', HOST = '127.0.0.1' } = process.env
  if (!ISSUER || !AUDIENCE || !JWKS_URI) {
    console.error('Set ISSUER, AUDIENCE and JWKS_URI (see the top of examples/hono.ts).')
    process.exit(1)
  }
  const app = createApp(createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: JWKS_URI }))
  serve({ fetch: app.fetch, hostname: HOST, port: Number(PORT) }, ({ address, port }) => {
    console.log(`listening on http://${address}:${port}`)
  })
}
