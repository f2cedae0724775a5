/**
 * The Hono adapter on Node, through @hono/node-server on 127.0.0.1 over real HTTP: the shared
 * case table (as a Fetch runtime answers it) with Hono's default error handler, an `onError`
 * handler, and `c.get('auth')`.
 */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import * as adapter from '../../adapters/hono.js'
import { createApp } from '../../examples/hono.js'
import { type AuthInfo, BearerGuardError, createValidator } from '../../src/index.js'
import { type CaseEnv, ROUTES, runCase, STACK_FRAME, startCaseEnv } from '../helpers/cases.js'
import { startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { checkExample } from './example-checks.js'
import { FETCH_CASES } from './fetch-cases.js'

const { authenticate } = adapter

type Env = adapter.OptionalBearerGuardEnv

const answer = (c: Context<Env>) => c.json({ subject: c.get('auth')?.subject ?? null })

/** Serves `app` on 127.0.0.1, on an ephemeral port. */
function listen(app: { fetch: (request: Request) => Response | Promise<Response> }) {
  return new Promise<{ origin: string; close(): Promise<void> }>((resolve) => {
    const server = serve(
      { fetch: app.fetch, hostname: '127.0.0.1', port: 0 },
      (info: AddressInfo) => {
        resolve({
          origin: `http://127.0.0.1:${info.port}`,
          close: () => new Promise<void>((done) => server.close(() => done())),
        })
      },
    )
  })
}

/** Serves `ROUTES` with the adapter's middleware. */
function buildApp(env: CaseEnv): Hono<Env> {
  const app = new Hono<Env>()
  for (const [path, spec] of Object.entries(ROUTES)) {
    const middleware: Array<MiddlewareHandler<Env>> = []
    if (spec.validator !== undefined) {
      const validator = env.validators[spec.validator]
      middleware.push(authenticate(validator, { credentialsRequired: spec.optional !== true }))
    }
    if (spec.guard !== undefined) middleware.push(spec.guard(adapter))
    if (middleware.length > 0) app.use(path, ...middleware)
    app.get(path, answer)
  }
  return app
}

/**
 * An `onError` handler as an application would write it: bearer-guard's answer as it is, with a
 * JSON body of its own (the status and headers of `err.getResponse()`).
 */
function jsonErrors(err: Error, c: Context): Response {
  if (err instanceof HTTPException && err.cause instanceof BearerGuardError) {
    const res = err.getResponse()
    const cause = err.cause
    return c.json(
      {
        error: cause.code ?? (cause.status === 401 ? 'unauthorized' : 'server_error'),
        error_description: cause.expose ? cause.message : 'internal error',
      },
      { status: res.status as 401, headers: Object.fromEntries(res.headers) },
    )
  }
  return c.text('Internal Server Error', 500)
}

describe('Hono 4 on Node', () => {
  let env: CaseEnv
  const servers: Array<{ close(): Promise<void> }> = []
  let origin: string

  async function start(app: Parameters<typeof listen>[0]): Promise<string> {
    const server = await listen(app)
    servers.push(server)
    return server.origin
  }

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW * 1000)
    env = await startCaseEnv()
    origin = await start(buildApp(env))
  })

  afterAll(async () => {
    vi.useRealTimers()
    await Promise.all(servers.map((server) => server.close()))
    await env.close()
  })

  describe("shared cases, Hono's default error handler", () => {
    it.each(FETCH_CASES)('$name', async (testCase) => {
      await runCase(origin, testCase)
    })
  })

  describe("Hono's default error handler", () => {
    it('answers with the status, the challenge and the message as text', async () => {
      const token = await mintToken({ claims: { exp: NOW - 3600 } })
      const res = await request(origin).get('/me').set('Authorization', `Bearer ${token}`)
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="invalid_token", error_description="the token expired 60 min ago"',
      )
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
      expect(res.text).toBe('the token expired 60 min ago')
      expect(res.text).not.toMatch(STACK_FRAME)
    })

    it('answers 503 with Retry-After and no body', async () => {
      const res = await request(origin)
        .get('/cold')
        .set('Authorization', `Bearer ${await mintToken()}`)
      expect(res.status).toBe(503)
      expect(res.headers['retry-after']).toBe('5')
      expect(res.headers['www-authenticate']).toBeUndefined()
      expect(res.text).toBe('')
    })

    it('keeps the headers earlier middleware set (CORS, request ids) on a rejection', async () => {
      const app = new Hono()
      app.use(async (c, next) => {
        c.header('x-request-id', 'req-1')
        await next()
      })
      app.use(authenticate(env.validators.main))
      app.get('/', (c) => c.text('ok'))
      const res = await request(await start(app)).get('/')
      expect(res.status).toBe(401)
      expect(res.headers['x-request-id']).toBe('req-1')
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api"')
    })
  })

  describe('onError handler', () => {
    let custom: string

    beforeAll(async () => {
      custom = await start(buildApp(env).onError(jsonErrors))
    })

    it('receives an HTTPException whose cause is the bearer-guard error', async () => {
      let seen: unknown
      const app = new Hono()
        .use(authenticate(env.validators.main))
        .get('/', (c) => c.text('ok'))
        .onError((err) => {
          seen = err
          return (err as HTTPException).getResponse()
        })
      const res = await request(await start(app))
        .get('/')
        .set('Authorization', 'Bearer a.b.c')
      expect(res.status).toBe(401)
      expect(seen).toBeInstanceOf(HTTPException)
      const exception = seen as HTTPException
      expect(exception.status).toBe(401)
      expect(exception.message).toBe('the token segments must be unpadded base64url')
      expect(exception.cause).toBeInstanceOf(BearerGuardError)
      expect((exception.cause as BearerGuardError).reason).toBe('malformed_token')
    })

    it('answers 401 with the challenge and a JSON body', async () => {
      const token = await mintToken({ claims: { aud: 'api://someone-else' } })
      const res = await request(custom).get('/me').set('Authorization', `Bearer ${token}`)
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="invalid_token", error_description="the token audience (aud) is not this API"',
      )
      expect(res.body).toEqual({
        error: 'invalid_token',
        error_description: 'the token audience (aud) is not this API',
      })
      expect(res.text).not.toContain(token)
    })

    it('answers 403 from a guard with the scope challenge', async () => {
      const res = await request(custom)
        .get('/files/delete')
        .set('Authorization', `Bearer ${await mintToken()}`)
      expect(res.status).toBe(403)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="insufficient_scope", error_description="the token lacks a scope this resource requires", scope="Files.Delete"',
      )
      expect(res.body.error).toBe('insufficient_scope')
    })

    it('answers 503 with Retry-After and no challenge', async () => {
      const res = await request(custom)
        .get('/cold')
        .set('Authorization', `Bearer ${await mintToken()}`)
      expect(res.status).toBe(503)
      expect(res.headers['retry-after']).toBe('5')
      expect(res.headers['www-authenticate']).toBeUndefined()
      expect(res.body).toEqual({ error: 'server_error', error_description: 'internal error' })
    })

    it('leaves any other error as it is: a throwing predicate is a 500', async () => {
      let seen: unknown
      const bug = new RangeError('a bug in the predicate')
      const app = new Hono()
        .use(authenticate(env.validators.main))
        .use(
          adapter.requireClaims(() => {
            throw bug
          }),
        )
        .get('/', (c) => c.text('ok'))
        .onError((err, c) => {
          seen = err
          return jsonErrors(err, c)
        })
      const res = await request(await start(app))
        .get('/')
        .set('Authorization', `Bearer ${await mintToken()}`)
      expect(res.status).toBe(500)
      expect(seen).toBe(bug)
    })
  })

  describe("c.get('auth')", () => {
    it('is the frozen AuthInfo of the token', async () => {
      let seen: AuthInfo | undefined
      const app = new Hono<adapter.BearerGuardEnv>()
        .use(authenticate(env.validators.main))
        .get('/', (c) => {
          seen = c.get('auth')
          return c.body(null, 204)
        })
      const token = await mintToken()
      await request(await start(app))
        .get('/')
        .set('Authorization', `Bearer ${token}`)
        .expect(204)
      expect(seen?.token).toBe(token)
      expect(seen?.subject).toBe('user-123')
      expect(seen?.clientId).toBe('client-abc')
      expect(seen?.scopes).toEqual(['Files.Read', 'Files.Write'])
      expect(Object.isFrozen(seen)).toBe(true)
    })

    it('stays undefined for an anonymous request when credentials are optional', async () => {
      let seen: AuthInfo | undefined | null = null
      const app = new Hono()
        .use(authenticate(env.validators.main, { credentialsRequired: false }))
        .get('/', (c) => {
          seen = c.get('auth')
          return c.body(null, 204)
        })
      await request(await start(app))
        .get('/')
        .expect(204)
      expect(seen).toBeUndefined()
    })

    it('is not reached by the handler when authentication fails', async () => {
      const handler = vi.fn((c: Context) => c.body(null, 204))
      const app = new Hono().use(authenticate(env.validators.main)).get('/', handler)
      await request(await start(app))
        .get('/')
        .set('Authorization', 'Bearer a.b.c')
        .expect(401)
      expect(handler).not.toHaveBeenCalled()
    })

    it('works with guards composed on the app', async () => {
      const app = new Hono<adapter.BearerGuardEnv>()
        .use(authenticate(env.validators.main))
        .use(adapter.requireScopes('Files.Read', 'Files.Write'))
        .use(adapter.requireAnyRole('Reader', 'Writer'))
        .get('/', (c) => c.json({ subject: c.get('auth').subject }))
      const server = await start(app)
      const allowed = await mintToken({ claims: { roles: ['Writer'] } })
      await request(server)
        .get('/')
        .set('Authorization', `Bearer ${allowed}`)
        .expect(200, { subject: 'user-123' })
      const res = await request(server)
        .get('/')
        .set('Authorization', `Bearer ${await mintToken()}`)
      expect(res.status).toBe(403)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="insufficient_scope", error_description="the token lacks every role this resource accepts: Reader or Writer"',
      )
    })

    it('works with requireAnyScope and requireClaims on routes', async () => {
      const app = new Hono()
        .use(authenticate(env.validators.main))
        .get('/any', adapter.requireAnyScope('Files.Delete', 'Files.Read'), answer)
        .get(
          '/claims',
          adapter.requireClaims((auth) => auth.tenantId === 'contoso', 'contoso only'),
          answer,
        )
      const server = await start(app)
      const token = await mintToken()
      await request(server).get('/any').set('Authorization', `Bearer ${token}`).expect(200)
      const res = await request(server).get('/claims').set('Authorization', `Bearer ${token}`)
      expect(res.status).toBe(403)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="insufficient_scope", error_description="contoso only"',
      )
    })
  })

  describe('creation', () => {
    it('checks the options when the middleware is created, not per request', () => {
      expect(() =>
        authenticate({
          issuer: ISSUER,
          audiance: AUDIENCE,
        } as unknown as adapter.ValidatorOptions),
      ).toThrow(TypeError)
    })

    it('checks guard names when the guard is created', () => {
      expect(() => adapter.requireScopes('Files Read')).toThrow(TypeError)
      expect(() => adapter.requireRoles()).toThrow(TypeError)
    })

    it('fetches no keys before the first request', async () => {
      const jwks = await startJwksServer()
      try {
        authenticate({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri })
        expect(jwks.hits).toBe(0)
      } finally {
        await jwks.close()
      }
    })

    it('fetches the JWKS once when many routes share one validator', async () => {
      const jwks = await startJwksServer()
      try {
        const shared = createValidator({
          issuer: ISSUER,
          audience: AUDIENCE,
          jwksUri: jwks.jwksUri,
        })
        const app = new Hono()
        const paths: string[] = []
        for (let i = 0; i < 10; i++) {
          app.get(`/r${i}`, authenticate(shared), answer)
          paths.push(`/r${i}`)
        }
        const server = await start(app)
        const token = await mintToken()
        for (const path of paths) {
          await request(server).get(path).set('Authorization', `Bearer ${token}`).expect(200)
        }
        expect(jwks.hits).toBe(1)
      } finally {
        await jwks.close()
      }
    })

    it('serves every request with one fetch when authenticate(options) is created once', async () => {
      const jwks = await startJwksServer()
      try {
        const app = new Hono()
          .use(authenticate({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri }))
          .get('/', answer)
        const server = await start(app)
        const token = await mintToken()
        const send = () =>
          request(server).get('/').set('Authorization', `Bearer ${token}`).expect(200)
        await Promise.all(Array.from({ length: 5 }, send))
        for (let i = 0; i < 5; i++) await send()
        expect(jwks.hits).toBe(1)
      } finally {
        await jwks.close()
      }
    })
  })

  describe('examples/hono.ts', () => {
    it('runs on port 0: /me for any valid token, /files with the Files.Read scope', async () => {
      await checkExample(await start(createApp(env.validators.main)))
    })
  })
})
