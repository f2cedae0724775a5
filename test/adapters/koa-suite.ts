/**
 * The Koa adapter suite, run against Koa 3 (`koa`) and Koa 2 (`koa2`), with @koa/router for
 * route-level guards.
 */
import Router from '@koa/router'
import type Koa from 'koa'
import type { Middleware } from 'koa'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { OptionalBearerGuardState } from '../../adapters/koa.js'
import * as adapter from '../../adapters/koa.js'
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

const { authenticate } = adapter

type KoaClass = typeof Koa
type State = OptionalBearerGuardState

const answer: Middleware<State> = (ctx) => {
  ctx.body = { subject: ctx.state.auth?.subject ?? null }
}

/** A router serving `ROUTES` with the adapter. */
function buildRouter(env: CaseEnv): Router<State> {
  const router = new Router<State>()
  for (const [path, spec] of Object.entries(ROUTES)) {
    const middleware: Array<Middleware<State>> = []
    if (spec.validator !== undefined) {
      const validator = env.validators[spec.validator]
      middleware.push(authenticate(validator, { credentialsRequired: spec.optional !== true }))
    }
    if (spec.guard !== undefined) middleware.push(spec.guard(adapter))
    router.get(path, ...middleware, answer)
  }
  return router
}

/**
 * The error middleware pattern the README documents: copy `err.headers` (WWW-Authenticate or
 * Retry-After) before answering, and show the message only when `err.expose` is true.
 */
const errorMiddleware: Middleware = async (ctx, next) => {
  try {
    await next()
  } catch (err) {
    const error = err as { status?: number; headers?: Record<string, string> } & Error & {
        code?: string
        expose?: boolean
      }
    ctx.set(error.headers ?? {})
    ctx.status = error.status ?? 500
    ctx.body = {
      error: error.code ?? 'server_error',
      error_description: error.expose === true ? error.message : 'internal error',
    }
  }
}

/** Defines the whole suite for one Koa major version. */
export function defineKoaSuite(name: string, KoaApp: KoaClass): void {
  describe(name, () => {
    let env: CaseEnv
    let app: { callback(): ReturnType<Koa['callback']> }
    let log: ReturnType<typeof captureErrorLog>
    const sent: string[] = []

    beforeAll(async () => {
      log = captureErrorLog()
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(NOW * 1000)
      env = await startCaseEnv()
      // Koa's default error handling: ctx.onerror answers, app.onerror logs.
      app = new KoaApp<State>().use(buildRouter(env).routes())
    })

    afterAll(async () => {
      log.restore()
      vi.useRealTimers()
      await env.close()
    })

    describe('shared cases, default error handling', () => {
      it.each(CASES)('$name', async (testCase) => {
        sent.push(await runCase(app.callback(), testCase))
      })

      it('logs only the 503, and without any token', async () => {
        const text = await log.text()
        // Koa's app.onerror logs errors whose expose is false: the 503 only.
        expect(text).toContain('KeysUnavailableError')
        expect(text).not.toContain('InvalidTokenError')
        for (const token of sent) expect(text).not.toContain(token)
      })
    })

    describe('default error handling', () => {
      it('answers with the public message of a 4xx and no stack', async () => {
        const token = await mintToken({ claims: { exp: NOW - 3600 } })
        const res = await request(app.callback()).get('/me').set('Authorization', `Bearer ${token}`)
        expect(res.status).toBe(401)
        expect(res.text).toBe('the token expired 60 min ago')
        expect(res.text).not.toMatch(STACK_FRAME)
      })

      it('hides the message of a 503', async () => {
        const res = await request(app.callback())
          .get('/cold')
          .set('Authorization', `Bearer ${await mintToken()}`)
        expect(res.status).toBe(503)
        expect(res.headers['retry-after']).toBe('5')
        expect(res.text).toBe('Service Unavailable')
      })
    })

    describe('custom error middleware that copies err.headers', () => {
      let custom: { callback(): ReturnType<Koa['callback']> }

      beforeAll(() => {
        custom = new KoaApp<State>().use(errorMiddleware).use(buildRouter(env).routes())
      })

      it('answers 401 with the challenge and a JSON body', async () => {
        const token = await mintToken({ claims: { aud: 'api://someone-else' } })
        const res = await request(custom.callback())
          .get('/me')
          .set('Authorization', `Bearer ${token}`)
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
        const res = await request(custom.callback())
          .get('/files/delete')
          .set('Authorization', `Bearer ${await mintToken()}`)
        expect(res.status).toBe(403)
        expect(res.headers['www-authenticate']).toBe(
          'Bearer realm="api", error="insufficient_scope", error_description="the token lacks a scope this resource requires", scope="Files.Delete"',
        )
        expect(res.body.error).toBe('insufficient_scope')
      })

      it('answers 503 with Retry-After and no challenge', async () => {
        const res = await request(custom.callback())
          .get('/cold')
          .set('Authorization', `Bearer ${await mintToken()}`)
        expect(res.status).toBe(503)
        expect(res.headers['retry-after']).toBe('5')
        expect(res.headers['www-authenticate']).toBeUndefined()
        expect(res.body).toEqual({ error: 'server_error', error_description: 'internal error' })
      })
    })

    describe('ctx.state.auth', () => {
      it('is the frozen AuthInfo of the token', async () => {
        let seen: AuthInfo | undefined
        const inspect = new KoaApp().use(authenticate(env.validators.main)).use((ctx) => {
          seen = ctx.state.auth
          ctx.status = 204
        })
        const token = await mintToken()
        await request(inspect.callback())
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
        const inspect = new KoaApp()
          .use(authenticate(env.validators.main, { credentialsRequired: false }))
          .use((ctx) => {
            seen = ctx.state.auth
            ctx.status = 204
          })
        await request(inspect.callback()).get('/').expect(204)
        expect(seen).toBeUndefined()
      })

      it('is not reached by downstream middleware when authentication fails', async () => {
        const downstream = vi.fn<Middleware>((ctx) => {
          ctx.status = 204
        })
        const inspect = new KoaApp().use(authenticate(env.validators.main)).use(downstream)
        await request(inspect.callback()).get('/').set('Authorization', 'Bearer a.b.c').expect(401)
        expect(downstream).not.toHaveBeenCalled()
      })

      it('works with guards composed on the app, without a router', async () => {
        const composed = new KoaApp()
          .use(authenticate(env.validators.main))
          .use(adapter.requireScopes('Files.Read', 'Files.Write'))
          .use(adapter.requireAnyRole('Reader', 'Writer'))
          .use((ctx) => {
            ctx.body = { subject: ctx.state.auth.subject }
          })
        const allowed = await mintToken({ claims: { roles: ['Writer'] } })
        await request(composed.callback())
          .get('/')
          .set('Authorization', `Bearer ${allowed}`)
          .expect(200, { subject: 'user-123' })
        const res = await request(composed.callback())
          .get('/')
          .set('Authorization', `Bearer ${await mintToken()}`)
        expect(res.status).toBe(403)
        expect(res.headers['www-authenticate']).toBe(
          'Bearer realm="api", error="insufficient_scope", error_description="the token lacks every role this resource accepts: Reader or Writer"',
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

      it('fetches the JWKS once when many middlewares share one validator', async () => {
        const jwks = await startJwksServer()
        try {
          const shared = createValidator({
            issuer: ISSUER,
            audience: AUDIENCE,
            jwksUri: jwks.jwksUri,
          })
          const router = new Router()
          const paths: string[] = []
          for (let i = 0; i < 10; i++) {
            router.get(`/r${i}`, authenticate(shared), answer)
            paths.push(`/r${i}`)
          }
          const multi = new KoaApp().use(router.routes())
          const token = await mintToken()
          for (const path of paths) {
            await request(multi.callback())
              .get(path)
              .set('Authorization', `Bearer ${token}`)
              .expect(200)
          }
          expect(jwks.hits).toBe(1)
        } finally {
          await jwks.close()
        }
      })

      it('serves every request with one fetch when authenticate(options) is created once', async () => {
        const jwks = await startJwksServer()
        try {
          const single = new KoaApp()
            .use(authenticate({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri }))
            .use(answer)
          const server = single.callback()
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
  })
}
