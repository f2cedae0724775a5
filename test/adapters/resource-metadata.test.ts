/**
 * RFC 9728 metadata served by every adapter over real HTTP on 127.0.0.1: Express, Koa, Fastify,
 * Fetch (through @hono/node-server's request listener), Hono and NestJS. Each app serves the
 * metadata first and protects `/orders` after it, with the resource identifier its own URL, so
 * that panva's oauth4webapi (an RFC 9728 client) can discover it and check that `resource`
 * matches. One table of requests, the same answers from every framework.
 */
import 'reflect-metadata'
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { Controller, Get, Module, UseGuards } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import Koa from 'koa'
import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import * as expressAdapter from '../../adapters/express.js'
import * as fastifyAdapter from '../../adapters/fastify.js'
import * as fetchAdapter from '../../adapters/fetch.js'
import * as honoAdapter from '../../adapters/hono.js'
import * as koaAdapter from '../../adapters/koa.js'
import * as nestAdapter from '../../adapters/nestjs.js'
import { createValidator, type Validator } from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

const SUFFIXED = '/.well-known/oauth-protected-resource/orders'
const ROOT = '/.well-known/oauth-protected-resource'

type Framework = 'express' | 'koa' | 'fastify' | 'fetch' | 'hono' | 'nestjs'

/** Builds a framework's app around the validator; resolves to its Node request listener. */
const BUILDERS: Record<Framework, (validator: Validator) => Promise<RequestListener>> = {
  async express(validator) {
    const app = express()
    app.use(expressAdapter.protectedResourceMetadata(validator))
    app.get('/orders', expressAdapter.authenticate(validator), (req, res) => {
      res.json({ subject: req.auth?.subject })
    })
    return app
  },
  async koa(validator) {
    const app = new Koa()
    app.use(koaAdapter.protectedResourceMetadata(validator))
    app.use(koaAdapter.authenticate(validator))
    app.use((ctx) => {
      if (ctx.path === '/orders') ctx.body = { subject: ctx.state.auth.subject }
    })
    return app.callback()
  },
  async fastify(validator) {
    let listener: RequestListener | undefined
    const app = Fastify({
      serverFactory: (handler) => {
        listener = handler
        return createServer()
      },
    })
    await app.register(fastifyAdapter.protectedResourceMetadata(validator))
    await app.register(fastifyAdapter.bearerGuard, { validator })
    app.get('/orders', async (request) => ({ subject: request.auth?.subject }))
    await app.ready()
    return listener as RequestListener
  },
  async fetch(validator) {
    const metadata = fetchAdapter.protectedResourceMetadata(validator)
    const authenticateRequest = fetchAdapter.authenticate(validator)
    return getRequestListener(async (request) => {
      const answer = metadata(request)
      if (answer !== undefined) return answer
      if (new URL(request.url).pathname !== '/orders') return new Response(null, { status: 404 })
      const auth = await authenticateRequest(request)
      if (auth instanceof Response) return auth
      return Response.json({ subject: auth.subject })
    })
  },
  async hono(validator) {
    const app = new Hono<honoAdapter.BearerGuardEnv>()
    app.use(honoAdapter.protectedResourceMetadata(validator))
    app.get('/orders', honoAdapter.authenticate(validator), (c) =>
      c.json({ subject: c.get('auth').subject }),
    )
    return getRequestListener(app.fetch)
  },
  async nestjs(validator) {
    @Controller('orders')
    @UseGuards(nestAdapter.BearerAuthGuard)
    class OrdersController {
      @Get()
      list(@nestAdapter.Auth() auth: nestAdapter.AuthInfo) {
        return { subject: auth.subject }
      }
    }
    @Module({
      imports: [nestAdapter.BearerGuardModule.forRoot(validator)],
      controllers: [OrdersController],
    })
    class AppModule {}
    const instance = express()
    const app = await NestFactory.create(AppModule, new ExpressAdapter(instance), { logger: false })
    app.use(nestAdapter.protectedResourceMetadata(validator))
    await app.init()
    closers.push(() => app.close())
    return instance
  },
}

const servers: Server[] = []
const closers: Array<() => Promise<unknown>> = []

/** A server listening on 127.0.0.1:0 first, so that the resource identifier can be its URL. */
async function start(framework: Framework): Promise<{ origin: string; resource: string }> {
  const server = createServer()
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const resource = `${origin}/orders`
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: toJwks(rsaKey),
    resourceMetadata: { resource, scopesSupported: ['Files.Read'], resourceName: 'Orders' },
  })
  server.on('request', await BUILDERS[framework](validator))
  return { origin, resource }
}

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
})

afterAll(async () => {
  vi.useRealTimers()
  await Promise.all(closers.map((close) => close()))
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  )
})

const insecure = { [oauth.allowInsecureRequests]: true }

describe.each(Object.keys(BUILDERS) as Framework[])('%s', (framework) => {
  let origin: string
  let resource: string
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${origin}${path}`, { ...init, signal: AbortSignal.timeout(5_000) })

  beforeAll(async () => {
    ;({ origin, resource } = await start(framework))
  })

  it('answers GET on the path-suffixed and root paths with the JSON document', async () => {
    for (const path of [SUFFIXED, ROOT, `${SUFFIXED}?probe=1`]) {
      const response = await call(path)
      expect(response.status, path).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(response.headers.get('cache-control')).toBe('public, max-age=3600')
      expect(response.headers.get('access-control-allow-origin')).toBe('*')
      expect(await response.json()).toEqual({
        resource,
        authorization_servers: [ISSUER],
        scopes_supported: ['Files.Read'],
        bearer_methods_supported: ['header'],
        resource_name: 'Orders',
      })
    }
  })

  it('answers HEAD with the headers and no body', async () => {
    const response = await call(SUFFIXED, { method: 'HEAD' })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await response.text()).toBe('')
  })

  it('answers OPTIONS for a CORS preflight and other methods with 405 and Allow', async () => {
    const preflight = await call(SUFFIXED, {
      method: 'OPTIONS',
      headers: { origin: 'https://inspector.example', 'access-control-request-method': 'GET' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, HEAD, OPTIONS')
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const response = await call(SUFFIXED, { method, body: method === 'DELETE' ? null : '{}' })
      expect(response.status, method).toBe(405)
      expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS')
      await response.arrayBuffer()
    }
  })

  it('is discovered by oauth4webapi, whose check that resource matches passes', async () => {
    const response = await oauth.resourceDiscoveryRequest(new URL(resource), insecure)
    const metadata = await oauth.processResourceDiscoveryResponse(new URL(resource), response)
    expect(metadata.resource).toBe(resource)
    expect(metadata.bearer_methods_supported).toEqual(['header'])
    // The check is real: the same document for another resource is refused.
    const again = await oauth.resourceDiscoveryRequest(new URL(resource), insecure)
    await expect(
      oauth.processResourceDiscoveryResponse(new URL(`${origin}/other`), again),
    ).rejects.toThrow(/resource/)
  })

  it('leaves the protected route protected, its 401 naming the metadata URL', async () => {
    const anonymous = await call('/orders')
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBe(
      `Bearer realm="api", resource_metadata="${origin}${SUFFIXED}"`,
    )
    await anonymous.arrayBuffer()
    const token = await mintToken()
    const allowed = await call('/orders', { headers: { authorization: `Bearer ${token}` } })
    expect(allowed.status).toBe(200)
    expect(await allowed.json()).toEqual({ subject: 'user-123' })
  })

  it('passes other paths on to the app', async () => {
    const response = await call('/.well-known/oauth-protected-resource/other')
    expect([401, 404]).toContain(response.status)
    expect(response.headers.get('content-type') ?? '').not.toMatch(/^application\/json$/)
    await response.arrayBuffer()
  })
})
