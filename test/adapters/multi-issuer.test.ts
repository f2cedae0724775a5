/**
 * Every adapter takes a multi-issuer validator as it takes a `createValidator` result: the same
 * small app (a route that names the accepting configuration, a route behind `requireScopes`) on
 * Express, Koa, Fastify, the Fetch API, Hono and NestJS, over real HTTP, with two issuers whose
 * keys come from two real JWKS servers.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import Router from '@koa/router'
import { Controller, Get, type INestApplication, Module, UseGuards } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import * as expressAdapter from '../../adapters/express.js'
import * as fastifyAdapter from '../../adapters/fastify.js'
import * as fetchAdapter from '../../adapters/fetch.js'
import * as honoAdapter from '../../adapters/hono.js'
import * as koaAdapter from '../../adapters/koa.js'
import { Auth, BearerAuthGuard, BearerGuardModule, RequireScopes } from '../../adapters/nestjs.js'
import { type AuthInfo, createMultiIssuerValidator, type Validator } from '../../src/index.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { ecKey, rsaKey } from '../helpers/keys.js'
import { mintToken, NOW } from '../helpers/tokens.js'

const ISSUER_A = 'https://a.example/'
const ISSUER_B = 'https://b.example/'
const AUDIENCE = 'api://orders'

const body = (auth: AuthInfo | undefined) => ({ issuerName: auth?.issuerName ?? null })

function listening(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
  })
}

/** Each framework serves GET /me (authenticated) and GET /files (plus `requireScopes('Files.Read')`). */
const FRAMEWORKS: Record<
  string,
  (validator: Validator) => Promise<{ url: string; close(): Promise<unknown> }>
> = {
  async express(validator) {
    const { authenticate, requireScopes } = expressAdapter
    const app = express()
    app.get('/me', authenticate(validator), (req, res) => res.json(body(req.auth)))
    app.get('/files', authenticate(validator), requireScopes('Files.Read'), (req, res) =>
      res.json(body(req.auth)),
    )
    const server = createServer(app)
    return { url: await listening(server), close: () => closeServer(server) }
  },
  async koa(validator) {
    const { authenticate, requireScopes } = koaAdapter
    const app = new Koa()
    const router = new Router()
    router.get('/me', (ctx) => {
      ctx.body = body(ctx.state.auth)
    })
    router.get('/files', requireScopes('Files.Read'), (ctx) => {
      ctx.body = body(ctx.state.auth)
    })
    app.use(authenticate(validator)).use(router.routes())
    const server = createServer(app.callback())
    return { url: await listening(server), close: () => closeServer(server) }
  },
  async fastify(validator) {
    const { authenticate, requireScopes } = fastifyAdapter
    const app = Fastify()
    app.addHook('onRequest', authenticate(validator))
    app.get('/me', async (request) => body(request.auth))
    app.get('/files', { preHandler: [requireScopes('Files.Read')] }, async (request) =>
      body(request.auth),
    )
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    return { url, close: () => app.close() }
  },
  async fetch(validator) {
    const { authenticate, requireScopes } = fetchAdapter
    const authenticateRequest = authenticate(validator)
    const filesRead = requireScopes('Files.Read')
    const handler = async (request: Request): Promise<Response> => {
      const auth = await authenticateRequest(request)
      if (auth instanceof Response) return auth
      if (new URL(request.url).pathname === '/files') {
        const denied = filesRead(auth)
        if (denied !== undefined) return denied
      }
      return Response.json(body(auth))
    }
    return new Promise((resolve) => {
      const server = serve({ fetch: handler, port: 0, hostname: '127.0.0.1' }, (info) => {
        resolve({
          url: `http://127.0.0.1:${info.port}`,
          close: () => closeServer(server as Server),
        })
      })
    })
  },
  async hono(validator) {
    const { authenticate, requireScopes } = honoAdapter
    const app = new Hono<honoAdapter.BearerGuardEnv>()
    app.use('*', authenticate(validator))
    app.get('/me', (c) => c.json(body(c.get('auth'))))
    app.get('/files', requireScopes('Files.Read'), (c) => c.json(body(c.get('auth'))))
    return new Promise((resolve) => {
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
        resolve({
          url: `http://127.0.0.1:${info.port}`,
          close: () => closeServer(server as Server),
        })
      })
    })
  },
  async nestjs(validator) {
    @Controller()
    @UseGuards(BearerAuthGuard)
    class OrdersController {
      @Get('me')
      me(@Auth() auth: AuthInfo) {
        return body(auth)
      }

      @Get('files')
      @RequireScopes('Files.Read')
      files(@Auth() auth: AuthInfo) {
        return body(auth)
      }
    }
    @Module({ imports: [BearerGuardModule.forRoot(validator)], controllers: [OrdersController] })
    class AppModule {}
    const app: INestApplication = await NestFactory.create(AppModule, { logger: false })
    await app.listen(0, '127.0.0.1')
    const { port } = app.getHttpServer().address() as AddressInfo
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() }
  },
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

let serverA: JwksServer
let serverB: JwksServer
let tokens: { a: string; b: string; stranger: string }

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  ;[serverA, serverB] = await Promise.all([startJwksServer(), startJwksServer()])
  serverA.setKeys([rsaKey])
  serverB.setKeys([ecKey])
  const [a, b, stranger] = await Promise.all([
    mintToken({ claims: { iss: ISSUER_A, aud: AUDIENCE } }),
    mintToken({ key: ecKey, claims: { iss: ISSUER_B, aud: AUDIENCE, scp: 'Orders.Read' } }),
    mintToken({ claims: { iss: 'https://evil.example/', aud: AUDIENCE } }),
  ])
  tokens = { a, b, stranger }
})
afterAll(async () => {
  vi.useRealTimers()
  await Promise.all([serverA.close(), serverB.close()])
})

describe.each(Object.keys(FRAMEWORKS))('a multi-issuer validator on %s', (name) => {
  let app: { url: string; close(): Promise<unknown> }
  beforeAll(async () => {
    serverA.resetHits()
    serverB.resetHits()
    const validator = createMultiIssuerValidator({
      issuers: {
        a: { issuer: ISSUER_A, audience: AUDIENCE, jwksUri: serverA.jwksUri },
        b: { issuer: ISSUER_B, audience: AUDIENCE, jwksUri: serverB.jwksUri, realm: 'partners' },
      },
    })
    app = await (FRAMEWORKS[name] as (typeof FRAMEWORKS)[string])(validator)
  })
  afterAll(() => app.close())

  const get = (path: string, token?: string) =>
    fetch(`${app.url}${path}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    })

  it('puts the accepting configuration on the request, for each issuer', async () => {
    for (const [token, issuerName] of [
      [tokens.a, 'a'],
      [tokens.b, 'b'],
      [tokens.b, 'b'],
    ] as const) {
      const res = await get('/me', token)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ issuerName })
    }
    expect([serverA.hits, serverB.hits]).toEqual([1, 1])
  })

  it('answers an unknown issuer 401 invalid_token without fetching, and no credentials 401', async () => {
    const res = await get('/me', tokens.stranger)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="invalid_token", error_description="the token issuer (iss) is not one this API accepts"',
    )
    expect(await res.text()).not.toContain(tokens.stranger)
    const none = await get('/me')
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    expect([serverA.hits, serverB.hits]).toEqual([1, 1])
  })

  it("runs guards on either issuer's token, answering in the accepting configuration's realm", async () => {
    const allowed = await get('/files', tokens.a)
    expect(allowed.status).toBe(200)
    expect(await allowed.json()).toEqual({ issuerName: 'a' })
    const denied = await get('/files', tokens.b)
    expect(denied.status).toBe(403)
    expect(denied.headers.get('www-authenticate')).toBe(
      'Bearer realm="partners", error="insufficient_scope", error_description="the token lacks a scope this resource requires", scope="Files.Read"',
    )
  })
})
