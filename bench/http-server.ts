/**
 * One server under test, run as a child process of bench/http.ts (so autocannon never shares its
 * core). Argument: the target name. Environment: BENCH_JWKS_URI. Every target answers `GET /`
 * with `ok` once the token is accepted; every server binds 127.0.0.1 on an ephemeral port.
 *
 * IPC: sends `{ ready: port }` once listening; answers `'cpu'` with `{ cpu: process.cpuUsage() }`.
 */
import { createPublicKey, type JsonWebKey, verify } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type RequestHandler } from 'express'
import { expressjwt } from 'express-jwt'
import { auth as auth0 } from 'express-oauth2-jwt-bearer'
import { createVerifier } from 'fast-jwt'
import jwksRsa from 'jwks-rsa'
import Koa from 'koa'
import koaJwt from 'koa-jwt'
import { authenticate as expressAuthenticate } from '../adapters/express.js'
import { authenticate as koaAuthenticate } from '../adapters/koa.js'
import { TARGETS, type Target } from './lib/targets.js'
import { AUDIENCE, ISSUER } from './lib/tokens.js'

process.setSourceMapsEnabled(false)

const jwksUri = process.env.BENCH_JWKS_URI ?? ''

type Jwk = JsonWebKey & { kid: string }

/** What a hand-written middleware verifies with, made per key of the JWKS (fetched at startup). */
async function byKid<T>(make: (jwk: Jwk) => T): Promise<Map<string, T>> {
  const response = await fetch(jwksUri)
  const { keys } = (await response.json()) as { keys: Jwk[] }
  return new Map(keys.map((jwk) => [jwk.kid, make(jwk)]))
}

/** A middleware around `check`, which gives `req.auth` for a Bearer token or throws (a 401). */
function bearerMiddleware(check: (token: string) => unknown): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization
    let auth: unknown
    try {
      if (header === undefined || !header.startsWith('Bearer ')) throw new Error('no token')
      auth = check(header.slice(7))
    } catch {
      res.status(401).end()
      return
    }
    ;(req as unknown as { auth: unknown }).auth = auth
    next()
  }
}

/** The decoded JSON of a token's segment from `start` to `end`. */
function decodeJson<T>(token: string, start: number, end: number): T {
  return JSON.parse(Buffer.from(token.slice(start, end), 'base64url').toString('utf8')) as T
}

/** fast-jwt has no JWKS client: one verifier per key, prepared from the JWKS at startup. */
async function fastJwtMiddleware(): Promise<RequestHandler> {
  const verifiers = await byKid((jwk) =>
    createVerifier({
      key: createPublicKey({ key: jwk, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString(),
      algorithms: [jwk.kty === 'EC' ? 'ES256' : 'RS256'],
      allowedIss: ISSUER,
      allowedAud: AUDIENCE,
      cache: true,
    }),
  )
  return bearerMiddleware((token) => {
    const { kid } = decodeJson<{ kid?: string }>(token, 0, token.indexOf('.'))
    const verifier = kid === undefined ? undefined : verifiers.get(kid)
    if (verifier === undefined) throw new Error('unknown kid')
    return verifier(token)
  })
}

/**
 * The least a verifying middleware can do, written by hand: the RS256 signature with a key
 * prepared per kid at startup, the header and payload decoded and parsed, iss, aud and exp
 * compared. No cache, no options, no challenge: a reference, not a product.
 */
async function floorMiddleware(): Promise<RequestHandler> {
  const publicKeys = await byKid((jwk) => createPublicKey({ key: jwk, format: 'jwk' }))
  return bearerMiddleware((token) => {
    const first = token.indexOf('.')
    const second = token.indexOf('.', first + 1)
    const { kid, alg } = decodeJson<{ kid?: string; alg?: string }>(token, 0, first)
    const key = kid === undefined ? undefined : publicKeys.get(kid)
    if (key === undefined || alg !== 'RS256') throw new Error('no key')
    const claims = decodeJson<{ iss?: string; aud?: string; exp?: number }>(
      token,
      first + 1,
      second,
    )
    const signature = Buffer.from(token.slice(second + 1), 'base64url')
    if (!verify('sha256', Buffer.from(token.slice(0, second)), key, signature)) {
      throw new Error('bad signature')
    }
    if (claims.iss !== ISSUER || claims.aud !== AUDIENCE) throw new Error('not for us')
    if (typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000) {
      throw new Error('expired')
    }
    return claims
  })
}

async function expressApp(target: Target): Promise<express.Express> {
  const app = express()
  switch (target) {
    case 'express-bearer-guard':
      app.use(expressAuthenticate({ issuer: ISSUER, audience: AUDIENCE, jwksUri }))
      break
    case 'express-oauth2-jwt-bearer':
      app.use(auth0({ issuer: ISSUER, audience: AUDIENCE, jwksUri, tokenSigningAlg: 'RS256' }))
      break
    case 'express-jwt':
      app.use(
        expressjwt({
          secret: jwksRsa.expressJwtSecret({
            jwksUri,
            cache: true,
            rateLimit: true,
            jwksRequestsPerMinute: 10,
          }) as never,
          audience: AUDIENCE,
          issuer: ISSUER,
          algorithms: ['RS256'],
        }),
      )
      break
    case 'express-fast-jwt':
      app.use(await fastJwtMiddleware())
      break
    case 'express-floor':
      app.use(await floorMiddleware())
      break
    case 'express-noop':
      // The least any authentication middleware does: an async function that reads the header.
      app.use(async (req, _res, next) => {
        ;(req as unknown as { auth: unknown }).auth = await Promise.resolve(
          req.headers.authorization,
        )
        next()
      })
      break
    case 'express-sync-noop':
      // What any middleware layer costs in Express, with no promise at all.
      app.use((req, _res, next) => {
        ;(req as unknown as { auth: unknown }).auth = req.headers.authorization
        next()
      })
      break
    default:
      break
  }
  app.get('/', (_req, res) => {
    res.send('ok')
  })
  return app
}

function koaApp(target: Target): Koa {
  const app = new Koa()
  if (target === 'koa-noop') {
    app.use(async (ctx, next) => {
      ctx.state.auth = await Promise.resolve(ctx.get('authorization'))
      await next()
    })
  } else if (target === 'koa-bearer-guard') {
    app.use(koaAuthenticate({ issuer: ISSUER, audience: AUDIENCE, jwksUri }))
  } else if (target === 'koa-jwt') {
    app.use(
      koaJwt({
        secret: jwksRsa.koaJwtSecret({
          jwksUri,
          cache: true,
          rateLimit: true,
          jwksRequestsPerMinute: 10,
        }) as never,
        audience: AUDIENCE,
        issuer: ISSUER,
        algorithms: ['RS256'],
      }),
    )
  }
  app.use((ctx) => {
    ctx.body = 'ok'
  })
  return app
}

async function main(): Promise<void> {
  const target = process.argv[2] as Target
  if (!TARGETS.includes(target)) throw new Error(`unknown target ${target}`)
  const handler = target.startsWith('koa') ? koaApp(target).callback() : await expressApp(target)
  const { createServer } = await import('node:http')
  const server: Server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  process.on('message', (message) => {
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() })
  })
  process.on('disconnect', () => process.exit(0))
  process.send?.({ ready: (server.address() as AddressInfo).port })
}

await main()
