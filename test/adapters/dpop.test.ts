/**
 * DPoP (RFC 9449) and certificate-bound tokens (RFC 8705, the proxy-header form) through every adapter over real HTTP: the shared table of
 * test/helpers/dpop-cases.ts, sent to Express, Koa, Fastify, the Fetch adapter (served by
 * @hono/node-server), Hono and NestJS, each serving `/{validator}/me` for GET and POST. No adapter
 * has DPoP-specific code: each hands the request to the core and applies the decision.
 */
import 'reflect-metadata'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import Router from '@koa/router'
import {
  Controller,
  Get,
  HttpCode,
  type INestApplication,
  Module,
  Post,
  UseGuards,
} from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as expressAdapter from '../../adapters/express.js'
import * as fastifyAdapter from '../../adapters/fastify.js'
import * as fetchAdapter from '../../adapters/fetch.js'
import * as honoAdapter from '../../adapters/hono.js'
import * as koaAdapter from '../../adapters/koa.js'
import { Auth, BearerAuthGuard, BearerGuardModule } from '../../adapters/nestjs.js'
import type { AuthInfo, Validator } from '../../src/index.js'
import { makeProof, PUBLIC_ORIGIN } from '../helpers/dpop.js'
import {
  createDpopCaseEnv,
  createDpopValidators,
  DPOP_CASES,
  DPOP_VALIDATORS,
  type DpopCaseEnv,
  type DpopValidatorName,
  runDpopCase,
  sendRaw,
} from '../helpers/dpop-cases.js'

const body = (auth: AuthInfo | undefined) => ({
  subject: auth?.subject ?? null,
  jkt: auth?.binding?.method === 'dpop' ? auth.binding.jkt : null,
  x5t: auth?.binding?.method === 'certificate' ? auth.binding.x5tS256 : null,
})

interface Served {
  baseUrl(validator: DpopValidatorName): string
  close(): Promise<void>
}

type Validators = Record<DpopValidatorName, Validator>

function closing(server: { close(done: () => void): unknown }): () => Promise<void> {
  return () => new Promise<void>((done) => server.close(() => done()))
}

async function listenNode(handler: RequestListener): Promise<Served> {
  const server = createServer(handler)
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { baseUrl: () => url, close: closing(server) }
}

function listenFetch(fetch: (request: Request) => Response | Promise<Response>): Promise<Served> {
  return new Promise((resolve) => {
    const server = serve({ fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
      const url = `http://127.0.0.1:${info.port}`
      resolve({ baseUrl: () => url, close: closing(server) })
    })
  })
}

const ADAPTERS: Record<string, (validators: Validators) => Promise<Served>> = {
  async express(validators) {
    const app = express()
    for (const name of DPOP_VALIDATORS) {
      // Mounted: the router sees `/me` in req.url, the core reads req.originalUrl.
      const router = express.Router()
      router.all('/me', expressAdapter.authenticate(validators[name]), (req, res) => {
        res.json(body(req.auth))
      })
      app.use(`/${name}`, router)
    }
    return listenNode(app as unknown as RequestListener)
  },
  async koa(validators) {
    const app = new Koa()
    const router = new Router()
    for (const name of DPOP_VALIDATORS) {
      router.all(`/${name}/me`, koaAdapter.authenticate(validators[name]), (ctx) => {
        ctx.body = body(ctx.state.auth)
      })
    }
    app.use(router.routes())
    return listenNode(app.callback() as RequestListener)
  },
  async fastify(validators) {
    const app = Fastify()
    for (const name of DPOP_VALIDATORS) {
      app.route({
        method: ['GET', 'POST'],
        url: `/${name}/me`,
        onRequest: fastifyAdapter.authenticate(validators[name]),
        handler: async (request) => body(request.auth),
      })
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    return { baseUrl: () => url, close: () => app.close() }
  },
  async fetch(validators) {
    const authenticators = Object.fromEntries(
      DPOP_VALIDATORS.map((name) => [name, fetchAdapter.authenticate(validators[name])]),
    )
    return listenFetch(async (request) => {
      const name = new URL(request.url).pathname.split('/')[1] as DpopValidatorName
      const auth = await (authenticators[name] as fetchAdapter.Authenticator)(request)
      if (auth instanceof Response) return auth
      return fetchAdapter.withDecisionHeaders(request, Response.json(body(auth)))
    })
  },
  async hono(validators) {
    const app = new Hono<honoAdapter.BearerGuardEnv>()
    for (const name of DPOP_VALIDATORS) {
      app.on(['GET', 'POST'], `/${name}/me`, honoAdapter.authenticate(validators[name]), (c) =>
        c.json(body(c.get('auth'))),
      )
    }
    return listenFetch(app.fetch)
  },
  async nestjs(validators) {
    const apps: INestApplication[] = []
    const urls: Partial<Record<DpopValidatorName, string>> = {}
    for (const name of DPOP_VALIDATORS) {
      @Controller(`${name}/me`)
      @UseGuards(BearerAuthGuard)
      class MeController {
        @Get()
        get(@Auth() auth: AuthInfo | undefined) {
          return body(auth)
        }
        @Post()
        @HttpCode(200)
        post(@Auth() auth: AuthInfo | undefined) {
          return body(auth)
        }
      }
      @Module({
        imports: [BearerGuardModule.forRoot(validators[name])],
        controllers: [MeController],
      })
      class AppModule {}
      const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false })
      await app.listen(0, '127.0.0.1')
      apps.push(app)
      urls[name] = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
    }
    return {
      baseUrl: (name) => urls[name] as string,
      close: async () => {
        await Promise.all(apps.map((app) => app.close()))
      },
    }
  },
}

let env: DpopCaseEnv
beforeAll(async () => {
  env = await createDpopCaseEnv()
})

describe.each(Object.keys(ADAPTERS))('DPoP through %s', (adapterName) => {
  let served: Served
  beforeAll(async () => {
    served = await (ADAPTERS[adapterName] as (v: Validators) => Promise<Served>)(
      createDpopValidators(),
    )
  })
  afterAll(() => served.close())

  it.each(DPOP_CASES)('$name', (testCase) => runDpopCase(served.baseUrl, env, testCase))

  it('checks the proof against the request target as sent, not as a router rewrote it', async () => {
    const path = '/dpop/me'
    const res = await sendRaw(`${served.baseUrl('dpop')}${path}?page=2`, 'GET', [
      ['Authorization', `DPoP ${env.token}`],
      ['DPoP', await makeProof(env.key, { token: env.token, htu: `${PUBLIC_ORIGIN}${path}` })],
    ])
    expect(res.status).toBe(200)
  })
})
