/**
 * The app every runtime serves: the built `bearer-guard/fetch` and `bearer-guard/hono` adapters
 * over two validators each (a JWKS server of its own, and one whose JWKS is down). Plain
 * JavaScript on the Fetch API only, so Node, Bun, Deno and workerd load the same file; it sits
 * next to `dist/` in the test's scratch copy of the package.
 */

import { Hono } from 'hono'
import { CRYPTO_BACKEND } from '#crypto'
import * as fetchAdapter from './dist/fetch.js'
import * as honoAdapter from './dist/hono.js'
import { createValidator } from './dist/index.js'

/**
 * @param {{ issuer: string, audience: string, jwks: { fetch: string, hono: string }, coldJwksUri: string }} config
 * @returns {(request: Request) => Promise<Response>}
 */
export function createApp(config) {
  const validator = (jwksUri) =>
    createValidator({
      issuer: config.issuer,
      audience: config.audience,
      jwksUri,
      // A token signed by a key rotated in since the last fetch makes the next fetch at once.
      cooldownDuration: 0,
      // Why a key fetch failed goes to stderr, which the test shows when a case fails.
      onEvent: (event) => {
        if (event.type === 'keys_refresh_failed')
          console.error(`keys_refresh_failed: ${event.message}`)
      },
    })
  const fetchRoutes = {
    '/fetch/me': fetchAdapter.authenticate(validator(config.jwks.fetch)),
    '/fetch/cold': fetchAdapter.authenticate(validator(config.coldJwksUri)),
  }
  const hono = new Hono()
  hono.use('/hono/me', honoAdapter.authenticate(validator(config.jwks.hono)))
  hono.use('/hono/cold', honoAdapter.authenticate(validator(config.coldJwksUri)))
  const subject = (c) => c.json({ subject: c.get('auth').subject })
  hono.get('/hono/me', subject)
  hono.get('/hono/cold', subject)

  return async (request) => {
    const { pathname } = new URL(request.url)
    // Which build of the core's platform code (package.json `imports`) the runtime loaded.
    if (pathname === '/backend') return new Response(CRYPTO_BACKEND.name)
    if (pathname.startsWith('/hono/')) return hono.fetch(request)
    const authenticate = fetchRoutes[pathname]
    if (authenticate === undefined) return new Response('not found', { status: 404 })
    const auth = await authenticate(request)
    if (auth instanceof Response) return auth
    return Response.json({ subject: auth.subject })
  }
}
