/**
 * The smallest Fastify API protected by bearer-guard: the plugin makes every route need a valid
 * token, and /files needs the Files.Read scope. Point it at your issuer and run it:
 *
 *   ISSUER=https://issuer.example/ AUDIENCE=api://orders \
 *   JWKS_URI=https://issuer.example/.well-known/jwks.json npx tsx examples/fastify.ts
 *   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/files
 *
 * PORT (default 3000) and HOST (default 127.0.0.1) choose where it listens; PORT=0 takes a free
 * port. It prints the URL once it listens. Tests import `createApp`.
 */
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
// In an application: import { ... } from 'bearer-guard/fastify'
import { bearerGuard, requireScopes } from '../adapters/fastify.js'
// In an application: import { createValidator, type Validator } from 'bearer-guard'
import { createValidator, type Validator } from '../src/index.js'

/** The API. Register `bearerGuard` inside a plugin instead to protect only that plugin's routes. */
export function createApp(validator: Validator): FastifyInstance {
  const app = Fastify()
  app.register(bearerGuard, { validator })
  app.get('/me', async (request) => {
    const { subject, scopes, appOnly } = request.auth ?? {}
    return { subject, scopes, appOnly }
  })
  app.get('/files', { preHandler: requireScopes('Files.Read') }, async () => ({
    files: ['q3-report.xlsx'],
  }))
  return app
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ISSUER, AUDIENCE, JWKS_URI, PORT = '3000', HOST = '127.0.0.1' } = process.env
  if (!ISSUER || !AUDIENCE || !JWKS_URI) {
    console.error('Set ISSUER, AUDIENCE and JWKS_URI (see the top of examples/fastify.ts).')
    process.exit(1)
  }
  const app = createApp(createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: JWKS_URI }))
  console.log(`listening on ${await app.listen({ port: Number(PORT), host: HOST })}`)
}
