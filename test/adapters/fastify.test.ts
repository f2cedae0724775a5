/**
 * The Fastify adapter over real HTTP (127.0.0.1, ephemeral ports): the shared case table through
 * route-level hooks and through the plugin, Fastify's default error handler, a custom one, and
 * `request.auth`.
 */
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import * as adapter from '../../adapters/fastify.js'
import { createApp } from '../../examples/fastify.js'
import { type AuthInfo, createValidator } from '../../src/index.js'
import {
  CASES,
  type CaseEnv,
  ROUTES,
  runCase,
  STACK_FRAME,
  startCaseEnv,
} from '../helpers/cases.js'
import { startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { checkExample } from './example-checks.js'

const { authenticate, bearerGuard } = adapter

const answer = async (req: FastifyRequest) => ({ subject: req.auth?.subject ?? null })

/** Collects what a Fastify logger writes, one JSON line per record. */
function logSink(): { stream: Writable; text(): string } {
  const lines: string[] = []
  return {
    stream: new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk))
        callback()
      },
    }),
    text: () => lines.join(''),
  }
}

/** Serves `ROUTES` with route-level hooks: `authenticate` as `onRequest`, guards as `preHandler`. */
function withHooks(app: FastifyInstance, env: CaseEnv): FastifyInstance {
  for (const [path, spec] of Object.entries(ROUTES)) {
    const validator = spec.validator === undefined ? undefined : env.validators[spec.validator]
    app.get(
      path,
      {
        onRequest:
          validator === undefined
            ? []
            : [authenticate(validator, { credentialsRequired: spec.optional !== true })],
        preHandler: spec.guard === undefined ? [] : [spec.guard(adapter)],
      },
      answer,
    )
  }
  return app
}

/** Serves `ROUTES` with the plugin, registered in one encapsulated context per route. */
function withPlugin(app: FastifyInstance, env: CaseEnv): FastifyInstance {
  for (const [path, spec] of Object.entries(ROUTES)) {
    app.register(async (scope) => {
      if (spec.validator !== undefined) {
        await scope.register(bearerGuard, {
          validator: env.validators[spec.validator],
          credentialsRequired: spec.optional !== true,
        })
      }
      scope.get(path, { preHandler: spec.guard === undefined ? [] : [spec.guard(adapter)] }, answer)
    })
  }
  return app
}

async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' })
}

/**
 * The custom error handler the README documents: copy `error.headers` (WWW-Authenticate or
 * Retry-After) before answering, and show the message only when `error.expose` is true.
 */
function customErrorHandler(
  error: Error & { statusCode?: number; code?: string; expose?: boolean; headers?: object },
  _request: FastifyRequest,
  reply: FastifyReply,
) {
  return reply
    .headers(error.headers ?? {})
    .code(error.statusCode ?? 500)
    .send({
      error: error.code ?? 'server_error',
      error_description: error.expose === true ? error.message : 'internal error',
    })
}

describe('Fastify 5', () => {
  let env: CaseEnv
  const apps: FastifyInstance[] = []
  const logs = logSink()
  const sent: string[] = []
  let hooks: string
  let plugin: string

  async function start(app: FastifyInstance): Promise<string> {
    apps.push(app)
    return listen(app)
  }

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW * 1000)
    env = await startCaseEnv()
    // Logging on, at info: Fastify's default handler logs 4xx at info and 5xx at error.
    hooks = await start(withHooks(Fastify({ logger: { stream: logs.stream } }), env))
    plugin = await start(withPlugin(Fastify({ logger: { stream: logs.stream } }), env))
  })

  afterAll(async () => {
    vi.useRealTimers()
    await Promise.all(apps.map((app) => app.close()))
    await env.close()
  })

  describe('shared cases, route-level onRequest and preHandler hooks', () => {
    it.each(CASES)('$name', async (testCase) => {
      sent.push(await runCase(hooks, testCase))
    })
  })

  describe('shared cases, the plugin', () => {
    it.each(CASES)('$name', async (testCase) => {
      sent.push(await runCase(plugin, testCase))
    })
  })

  describe("Fastify's default error handler", () => {
    it('answers with the status, the challenge and a JSON body without stack', async () => {
      const token = await mintToken({ claims: { exp: NOW - 3600 } })
      const res = await request(hooks).get('/me').set('Authorization', `Bearer ${token}`)
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="invalid_token", error_description="the token expired 60 min ago"',
      )
      expect(res.body).toEqual({
        statusCode: 401,
        code: 'invalid_token',
        error: 'Unauthorized',
        message: 'the token expired 60 min ago',
      })
      expect(res.text).not.toMatch(STACK_FRAME)
      expect(res.text).not.toContain(token)
    })

    it('answers a guard failure with 403 and the scope challenge', async () => {
      const res = await request(plugin)
        .get('/files/delete')
        .set('Authorization', `Bearer ${await mintToken()}`)
      expect(res.status).toBe(403)
      expect(res.body).toEqual({
        statusCode: 403,
        code: 'insufficient_scope',
        error: 'Forbidden',
        message: 'the token lacks a scope this resource requires',
      })
    })

    it('answers 503 with Retry-After, no challenge and the fixed public message', async () => {
      const res = await request(hooks)
        .get('/cold')
        .set('Authorization', `Bearer ${await mintToken()}`)
      expect(res.status).toBe(503)
      expect(res.headers['retry-after']).toBe('5')
      expect(res.headers['www-authenticate']).toBeUndefined()
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'Signing keys are temporarily unavailable',
      })
    })

    it('logs 4xx at info without a stack, the 503 at error with its cause, never a token', () => {
      type LogRecord = { level: number; err?: { type: string; stack: string } }
      const records = logs
        .text()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as LogRecord)
      const errors = records.flatMap((record) => (record.err === undefined ? [] : [record]))
      const clientErrors = errors.filter((record) => record.level === 30)
      expect(clientErrors.map((record) => record.err?.type)).toContain('InvalidTokenError')
      for (const record of clientErrors) {
        expect(record.err?.stack).toMatch(/^\w+Error: [^\n]+$/)
      }
      const serverErrors = errors.filter((record) => record.level === 50)
      expect(serverErrors.map((record) => record.err?.type)).toContain('KeysUnavailableError')
      expect(serverErrors[0]?.err?.stack).toContain('caused by:')
      expect(sent.length).toBe(CASES.length * 2)
      for (const token of sent) expect(logs.text()).not.toContain(token)
    })
  })

  describe('custom error handler that copies error.headers', () => {
    let custom: string

    beforeAll(async () => {
      const app = Fastify()
      app.setErrorHandler(customErrorHandler)
      custom = await start(withHooks(app, env))
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
  })

  describe('request.auth', () => {
    it('is the frozen AuthInfo of the token', async () => {
      let seen: AuthInfo | undefined
      const app = Fastify()
      app.get('/', { onRequest: authenticate(env.validators.main) }, async (req) => {
        seen = req.auth
        return ''
      })
      const token = await mintToken()
      await request(await start(app))
        .get('/')
        .set('Authorization', `Bearer ${token}`)
        .expect(200)
      expect(seen?.token).toBe(token)
      expect(seen?.subject).toBe('user-123')
      expect(seen?.clientId).toBe('client-abc')
      expect(seen?.scopes).toEqual(['Files.Read', 'Files.Write'])
      expect(Object.isFrozen(seen)).toBe(true)
    })

    it('stays undefined for an anonymous request when credentials are optional', async () => {
      let seen: AuthInfo | undefined | null = null
      const app = Fastify()
      await app.register(bearerGuard, {
        validator: env.validators.main,
        credentialsRequired: false,
      })
      app.get('/', async (req) => {
        seen = req.auth
        return ''
      })
      await request(await start(app))
        .get('/')
        .expect(200)
      expect(seen).toBeUndefined()
    })

    it('is not reached by the handler when authentication fails', async () => {
      const handler = vi.fn(async () => '')
      const app = Fastify()
      app.get('/', { onRequest: authenticate(env.validators.main) }, handler)
      await request(await start(app))
        .get('/')
        .set('Authorization', 'Bearer a.b.c')
        .expect(401)
      expect(handler).not.toHaveBeenCalled()
    })

    it('works with authenticate as a preHandler and guards added with addHook', async () => {
      const app = Fastify()
      app.addHook('preHandler', authenticate(env.validators.main))
      app.addHook('preHandler', adapter.requireScopes('Files.Read', 'Files.Write'))
      app.addHook('preHandler', adapter.requireAnyRole('Reader', 'Writer'))
      app.get('/', answer)
      const origin = await start(app)
      const allowed = await mintToken({ claims: { roles: ['Writer'] } })
      await request(origin)
        .get('/')
        .set('Authorization', `Bearer ${allowed}`)
        .expect(200, { subject: 'user-123' })
      const res = await request(origin)
        .get('/')
        .set('Authorization', `Bearer ${await mintToken()}`)
      expect(res.status).toBe(403)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="insufficient_scope", error_description="the token lacks every role this resource accepts: Reader or Writer"',
      )
    })

    it('answers 403 from requireAnyScope and requireClaims', async () => {
      const app = Fastify()
      app.addHook('onRequest', authenticate(env.validators.main))
      app.get('/any', { preHandler: adapter.requireAnyScope('Files.Delete', 'Files.Read') }, answer)
      app.get(
        '/claims',
        {
          preHandler: adapter.requireClaims((auth) => auth.tenantId === 'contoso', 'contoso only'),
        },
        answer,
      )
      const origin = await start(app)
      const token = await mintToken()
      await request(origin).get('/any').set('Authorization', `Bearer ${token}`).expect(200)
      const res = await request(origin).get('/claims').set('Authorization', `Bearer ${token}`)
      expect(res.status).toBe(403)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="insufficient_scope", error_description="contoso only"',
      )
    })
  })

  describe('the plugin', () => {
    it('protects the context it is registered in, not its parent', async () => {
      const app = Fastify()
      app.get('/public', async (req) => ({ auth: req.auth ?? null }))
      app.register(
        async (api) => {
          await api.register(bearerGuard, { validator: env.validators.main })
          api.get('/me', answer)
          api.register(async (nested) => {
            nested.get('/nested', answer)
          })
        },
        { prefix: '/api' },
      )
      const origin = await start(app)
      await request(origin).get('/public').expect(200, { auth: null })
      await request(origin).get('/api/me').expect(401)
      await request(origin).get('/api/nested').expect(401)
      const token = await mintToken()
      await request(origin)
        .get('/api/nested')
        .set('Authorization', `Bearer ${token}`)
        .expect(200, { subject: 'user-123' })
    })

    it('takes validator options and credentialsRequired side by side', async () => {
      const jwks = await startJwksServer()
      try {
        const app = Fastify()
        await app.register(bearerGuard, {
          issuer: ISSUER,
          audience: AUDIENCE,
          jwksUri: jwks.jwksUri,
          credentialsRequired: false,
        })
        app.get('/', answer)
        const origin = await start(app)
        await request(origin).get('/').expect(200, { subject: null })
        await request(origin)
          .get('/')
          .set('Authorization', `Bearer ${await mintToken()}`)
          .expect(200, { subject: 'user-123' })
        expect(jwks.hits).toBe(1)
      } finally {
        await jwks.close()
      }
    })

    it('refuses a misspelt option when the app starts', async () => {
      const app = Fastify()
      app.register(bearerGuard, {
        issuer: ISSUER,
        audiance: AUDIENCE,
      } as unknown as adapter.BearerGuardPluginOptions)
      await expect(app.ready()).rejects.toThrow(TypeError)
    })

    it('can be registered in two sibling contexts with different validators', async () => {
      const app = Fastify()
      app.register(async (scope) => {
        await scope.register(bearerGuard, { validator: env.validators.main })
        scope.get('/main', answer)
      })
      app.register(async (scope) => {
        await scope.register(bearerGuard, { validator: env.validators.cold })
        scope.get('/cold', answer)
      })
      const origin = await start(app)
      const token = await mintToken()
      await request(origin).get('/main').set('Authorization', `Bearer ${token}`).expect(200)
      await request(origin).get('/cold').set('Authorization', `Bearer ${token}`).expect(503)
    })
  })

  describe('creation', () => {
    it('checks the options when the hook is created, not per request', () => {
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
        const app = Fastify()
        const paths: string[] = []
        for (let i = 0; i < 10; i++) {
          app.get(`/r${i}`, { onRequest: authenticate(shared) }, answer)
          paths.push(`/r${i}`)
        }
        const origin = await start(app)
        const token = await mintToken()
        for (const path of paths) {
          await request(origin).get(path).set('Authorization', `Bearer ${token}`).expect(200)
        }
        expect(jwks.hits).toBe(1)
      } finally {
        await jwks.close()
      }
    })

    it('serves concurrent requests with one fetch when the plugin gets options', async () => {
      const jwks = await startJwksServer()
      try {
        const app = Fastify()
        await app.register(bearerGuard, {
          issuer: ISSUER,
          audience: AUDIENCE,
          jwksUri: jwks.jwksUri,
        })
        app.get('/', answer)
        const origin = await start(app)
        const token = await mintToken()
        const send = () =>
          request(origin).get('/').set('Authorization', `Bearer ${token}`).expect(200)
        await Promise.all(Array.from({ length: 5 }, send))
        for (let i = 0; i < 5; i++) await send()
        expect(jwks.hits).toBe(1)
      } finally {
        await jwks.close()
      }
    })
  })

  describe('examples/fastify.ts', () => {
    it('runs on port 0: /me for any valid token, /files with the Files.Read scope', async () => {
      const app = createApp(env.validators.main)
      apps.push(app)
      const origin = await app.listen({ port: 0, host: '127.0.0.1' })
      await checkExample(origin)
    })
  })
})
