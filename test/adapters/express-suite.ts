/**
 * The Express adapter suite, run against Express 5 (`express`) and Express 4 (`express4`).
 */
import type createExpress from 'express'
import type { ErrorRequestHandler, Express, RequestHandler } from 'express'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import * as adapter from '../../adapters/express.js'
import { type AuthInfo, createValidator } from '../../src/index.js'
import {
  CASES,
  type CaseEnv,
  captureErrorLog,
  ROUTES,
  runCase,
  STACK_FRAME,
  startCaseEnv,
} from '../helpers/cases.js'
import { startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

const { authenticate, requireScopes } = adapter

type ExpressModule = typeof createExpress

const answer: RequestHandler = (req, res) => {
  res.json({ subject: req.auth?.subject ?? null })
}

/** Serves `ROUTES` with the adapter, in development mode, with Express's default error handler. */
function buildApp(express: ExpressModule, env: CaseEnv): Express {
  const app = express()
  // Development mode prints err.stack into the body: the case where a stack trace could leak.
  app.set('env', 'development')
  for (const [path, spec] of Object.entries(ROUTES)) {
    const handlers: RequestHandler[] = []
    if (spec.validator !== undefined) {
      const validator = env.validators[spec.validator]
      handlers.push(authenticate(validator, { credentialsRequired: spec.optional !== true }))
    }
    if (spec.guard !== undefined) handlers.push(spec.guard(adapter))
    app.get(path, ...handlers, answer)
  }
  return app
}

/**
 * The error handler pattern the README documents: copy `err.headers` (WWW-Authenticate or
 * Retry-After) before answering, and show the message only when `err.expose` is true.
 */
const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  res.set(err.headers ?? {})
  res.status(err.status ?? 500).json({
    error: err.code ?? 'server_error',
    error_description: err.expose === true ? err.message : 'internal error',
  })
}

/** Defines the whole suite for one Express major version. */
export function defineExpressSuite(name: string, express: ExpressModule): void {
  describe(name, () => {
    let env: CaseEnv
    let app: Express
    let log: ReturnType<typeof captureErrorLog>
    const sent: string[] = []

    beforeAll(async () => {
      log = captureErrorLog()
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(NOW * 1000)
      env = await startCaseEnv()
      app = buildApp(express, env)
    })

    afterAll(async () => {
      log.restore()
      vi.useRealTimers()
      await env.close()
    })

    describe('shared cases, default error handler in development mode', () => {
      it('runs in development mode', () => {
        expect(app.get('env')).toBe('development')
      })

      it.each(CASES)('$name', async (testCase) => {
        sent.push(await runCase(app, testCase))
      })

      it('logs rejections without any token', async () => {
        const text = await log.text()
        expect(text).toContain('InvalidTokenError')
        for (const token of sent) expect(text).not.toContain(token)
      })
    })

    describe('default error handler', () => {
      it('prints only "Name: message" where development mode prints the stack', async () => {
        const token = await mintToken({ claims: { exp: NOW - 3600 } })
        const res = await request(app).get('/me').set('Authorization', `Bearer ${token}`)
        expect(res.status).toBe(401)
        expect(res.text).toContain('InvalidTokenError: the token expired 60 min ago')
        expect(res.text).not.toMatch(STACK_FRAME)
        expect(res.text).not.toContain(token)
      })

      it('hides the message of a 503 in production mode', async () => {
        const production = buildApp(express, env)
        production.set('env', 'production')
        const res = await request(production)
          .get('/cold')
          .set('Authorization', `Bearer ${await mintToken()}`)
        expect(res.status).toBe(503)
        expect(res.headers['retry-after']).toBe('5')
        expect(res.text).not.toContain('Signing keys')
      })
    })

    describe('custom error handler that copies err.headers', () => {
      let custom: Express

      beforeAll(() => {
        custom = buildApp(express, env)
        custom.use(errorHandler)
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

    describe('req.auth', () => {
      it('is the frozen AuthInfo of the token', async () => {
        let seen: AuthInfo | undefined
        const inspect = express()
        inspect.get('/', authenticate(env.validators.main), (req, res) => {
          seen = req.auth
          res.end()
        })
        const token = await mintToken()
        await request(inspect).get('/').set('Authorization', `Bearer ${token}`).expect(200)
        expect(seen?.token).toBe(token)
        expect(seen?.subject).toBe('user-123')
        expect(seen?.clientId).toBe('client-abc')
        expect(seen?.scopes).toEqual(['Files.Read', 'Files.Write'])
        expect(Object.isFrozen(seen)).toBe(true)
      })

      it('stays undefined for an anonymous request when credentials are optional', async () => {
        let seen: AuthInfo | undefined | null = null
        const inspect = express()
        inspect.get(
          '/',
          authenticate(env.validators.main, { credentialsRequired: false }),
          (req, res) => {
            seen = req.auth
            res.end()
          },
        )
        await request(inspect).get('/').expect(200)
        expect(seen).toBeUndefined()
      })

      it('is not reached by the route handler when authentication fails', async () => {
        const handler = vi.fn<RequestHandler>((_req, res) => {
          res.end()
        })
        const inspect = express()
        inspect.get('/', authenticate(env.validators.main), handler)
        await request(inspect).get('/').set('Authorization', 'Bearer a.b.c').expect(401)
        expect(handler).not.toHaveBeenCalled()
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
        expect(() => requireScopes('Files Read')).toThrow(TypeError)
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

      it('fetches the JWKS once when many middlewares share one validator', async () => {
        const jwks = await startJwksServer()
        try {
          const shared = createValidator({
            issuer: ISSUER,
            audience: AUDIENCE,
            jwksUri: jwks.jwksUri,
          })
          const multi = express()
          const paths: string[] = []
          for (let i = 0; i < 10; i++) {
            const router = express.Router()
            router.use(authenticate(shared))
            router.get('/', answer)
            multi.use(`/r${i}`, router)
            paths.push(`/r${i}`)
          }
          const token = await mintToken()
          for (const path of paths) {
            await request(multi).get(path).set('Authorization', `Bearer ${token}`).expect(200)
          }
          expect(jwks.hits).toBe(1)
        } finally {
          await jwks.close()
        }
      })

      it('serves every request with one fetch when authenticate(options) is created once', async () => {
        const jwks = await startJwksServer()
        try {
          const single = express()
          single.use(authenticate({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri }))
          single.get('/', answer)
          const token = await mintToken()
          const send = () =>
            request(single).get('/').set('Authorization', `Bearer ${token}`).expect(200)
          await Promise.all(Array.from({ length: 5 }, send))
          for (let i = 0; i < 5; i++) await send()
          expect(jwks.hits).toBe(1)
        } finally {
          await jwks.close()
        }
      })
    })
  })
}
