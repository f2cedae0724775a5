/**
 * The Fetch-API adapter: a plain `(request: Request) => Response` handler, no framework, served
 * over real HTTP by @hono/node-server on 127.0.0.1 (which builds a standard Request, joining
 * repeated headers as every Fetch runtime does), plus `toResponse` and the guards on their own.
 */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest'
import * as adapter from '../../adapters/fetch.js'
import {
  type AuthInfo,
  createValidator,
  InsufficientScopeError,
  KeysUnavailableError,
  UnauthorizedError,
} from '../../src/index.js'
import {
  type CaseEnv,
  ROUTES,
  type RoutePath,
  runCase,
  STACK_FRAME,
  startCaseEnv,
} from '../helpers/cases.js'
import { startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'
import { FETCH_CASE_OVERRIDES, FETCH_CASES } from './fetch-cases.js'

const { authenticate, toResponse } = adapter

type Handler = (request: Request) => Promise<Response>

/** Serves `handler` on 127.0.0.1, on an ephemeral port. */
async function listen(handler: Handler): Promise<{ origin: string; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve(
      { fetch: handler, hostname: '127.0.0.1', port: 0 },
      (info: AddressInfo) => {
        resolve({
          origin: `http://127.0.0.1:${info.port}`,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done())
            }),
        })
      },
    )
  })
}

/** A handler serving `ROUTES`, as a route handler of a Fetch runtime would be written. */
function buildHandler(env: CaseEnv): Handler {
  const routes = new Map(
    Object.entries(ROUTES).map(([path, spec]) => [
      path,
      {
        authenticate:
          spec.validator === undefined
            ? undefined
            : authenticate(env.validators[spec.validator], {
                credentialsRequired: spec.optional !== true,
              }),
        guard: spec.guard?.(adapter),
      },
    ]),
  )
  return async (req) => {
    const route = routes.get(new URL(req.url).pathname as RoutePath)
    if (route === undefined) return new Response(null, { status: 404 })
    const auth = route.authenticate === undefined ? undefined : await route.authenticate(req)
    if (auth instanceof Response) return auth
    const denied = route.guard?.(auth)
    if (denied !== undefined) return denied
    return Response.json({ subject: auth?.subject ?? null })
  }
}

describe('Fetch API', () => {
  let env: CaseEnv
  let server: { origin: string; close(): Promise<void> }

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW * 1000)
    env = await startCaseEnv()
    server = await listen(buildHandler(env))
  })

  afterAll(async () => {
    vi.useRealTimers()
    await server.close()
    await env.close()
  })

  describe('shared cases over HTTP (repeated headers arrive joined)', () => {
    it('differs from the Node adapters only in the rows that repeat the header', () => {
      expect(FETCH_CASE_OVERRIDES).toBe(2)
    })

    it.each(FETCH_CASES)('$name', async (testCase) => {
      await runCase(server.origin, testCase)
    })
  })

  describe('error responses', () => {
    it('answers a 4xx with its status, the challenge and the message as text', async () => {
      const token = await mintToken({ claims: { exp: NOW - 3600 } })
      const res = await request(server.origin).get('/me').set('Authorization', `Bearer ${token}`)
      expect(res.status).toBe(401)
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
      expect(res.text).toBe('the token expired 60 min ago')
      expect(res.text).not.toMatch(STACK_FRAME)
    })

    it('answers 503 with Retry-After and no body', async () => {
      const res = await request(server.origin)
        .get('/cold')
        .set('Authorization', `Bearer ${await mintToken()}`)
      expect(res.status).toBe(503)
      expect(res.headers['retry-after']).toBe('5')
      expect(res.headers['www-authenticate']).toBeUndefined()
      expect(res.text).toBe('')
    })
  })

  describe('toResponse', () => {
    it('copies the status and the one challenge header', async () => {
      const response = toResponse(
        new InsufficientScopeError('the token lacks a scope this resource requires', {
          reason: 'missing_scope',
          realm: 'orders',
          scopes: ['Files.Delete'],
        }),
      )
      expect(response.status).toBe(403)
      expect([...response.headers]).toEqual([
        ['content-type', 'text/plain; charset=utf-8'],
        [
          'www-authenticate',
          'Bearer realm="orders", error="insufficient_scope", error_description="the token lacks a scope this resource requires", scope="Files.Delete"',
        ],
      ])
      expect(await response.text()).toBe('the token lacks a scope this resource requires')
    })

    it('answers a 401 without credentials with the bare realm challenge', async () => {
      const response = toResponse(new UnauthorizedError({ reason: 'missing_token', realm: 'api' }))
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="api"')
      expect(await response.text()).toBe('Authentication required')
    })

    it('gives a 5xx (expose false) no body and no content type', async () => {
      const response = toResponse(
        new KeysUnavailableError(5, { reason: 'keys_unavailable', realm: 'api' }),
      )
      expect(response.status).toBe(503)
      expect([...response.headers]).toEqual([['retry-after', '5']])
      expect(response.body).toBeNull()
    })

    it('rethrows anything that is not a bearer-guard error', () => {
      const bug = new RangeError('a bug')
      expect(() => toResponse(bug)).toThrow(bug)
    })
  })

  describe('authenticate', () => {
    it('resolves to the frozen AuthInfo of the token', async () => {
      const token = await mintToken()
      const auth = await authenticate(env.validators.main)(
        new Request('http://api.test/', { headers: { authorization: `Bearer ${token}` } }),
      )
      expect(auth).not.toBeInstanceOf(Response)
      const info = auth as AuthInfo
      expect(info.token).toBe(token)
      expect(info.subject).toBe('user-123')
      expect(info.scopes).toEqual(['Files.Read', 'Files.Write'])
      expect(Object.isFrozen(info)).toBe(true)
    })

    it('resolves to undefined for an anonymous request when credentials are optional', async () => {
      const check = authenticate(env.validators.main, { credentialsRequired: false })
      expect(await check(new Request('http://api.test/'))).toBeUndefined()
      const basic = new Request('http://api.test/', {
        headers: { authorization: 'Basic dXNlcjpwYXNz' },
      })
      expect(await check(basic)).toBeUndefined()
    })

    it('resolves to a 401 Response for a bad token', async () => {
      const result = await authenticate(env.validators.main)({
        headers: new Headers({ authorization: 'Bearer a.b.c' }),
      })
      expect(result).toBeInstanceOf(Response)
      expect((result as Response).status).toBe(401)
    })

    it('refuses two Bearer headers joined by the Headers object with 400', async () => {
      const token = await mintToken()
      const headers = new Headers()
      headers.append('authorization', `Bearer ${token}`)
      headers.append('authorization', `Bearer ${token}`)
      expect(headers.get('authorization')).toBe(`Bearer ${token}, Bearer ${token}`)
      const result = (await authenticate(env.validators.main)({ headers })) as Response
      expect(result.status).toBe(400)
      expect(result.headers.get('www-authenticate')).toContain('error="invalid_request"')
      expect(await result.text()).not.toContain(token)
    })

    it('is typed by credentialsRequired', () => {
      expectTypeOf(authenticate(env.validators.main)).returns.resolves.toEqualTypeOf<
        AuthInfo | Response
      >()
      expectTypeOf(
        authenticate(env.validators.main, { credentialsRequired: false }),
      ).returns.resolves.toEqualTypeOf<AuthInfo | Response | undefined>()
      expectTypeOf(adapter.requireScopes('a')).toEqualTypeOf<adapter.FetchGuard>()
    })
  })

  describe('guards', () => {
    let auth: AuthInfo

    beforeAll(async () => {
      auth = (await env.validators.main.verify(
        await mintToken({ claims: { roles: ['Orders.Admin'] } }),
      )) as AuthInfo
    })

    it('return undefined when the token passes', () => {
      expect(adapter.requireScopes('Files.Read')(auth)).toBeUndefined()
      expect(adapter.requireAnyScope('Files.Delete', 'Files.Write')(auth)).toBeUndefined()
      expect(adapter.requireRoles('Orders.Admin')(auth)).toBeUndefined()
      expect(adapter.requireAnyRole('Reader', 'Orders.Admin')(auth)).toBeUndefined()
      expect(adapter.requireScopesOrRoles('Files.Read', 'Data.Read.All')(auth)).toBeUndefined()
      expect(adapter.requireClaims((info) => info.subject === 'user-123')(auth)).toBeUndefined()
    })

    it('return a 403 Response when the token lacks what they need', async () => {
      const denied = adapter.requireClaims(() => false, 'finance staff only')(auth)
      expect(denied?.status).toBe(403)
      expect(denied?.headers.get('www-authenticate')).toBe(
        'Bearer realm="api", error="insufficient_scope", error_description="finance staff only"',
      )
      expect(await denied?.text()).toBe('finance staff only')
    })

    it('return a 401 Response without authentication', () => {
      const denied = adapter.requireScopes('Files.Read')(undefined)
      expect(denied?.status).toBe(401)
      expect(denied?.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    })
  })

  describe('creation', () => {
    it('checks the options when the function is created, not per request', () => {
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

    it('fetches the JWKS once for concurrent requests when created once from options', async () => {
      const jwks = await startJwksServer()
      try {
        const check = authenticate({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri })
        expect(jwks.hits).toBe(0)
        const token = await mintToken()
        const req = () =>
          check(new Request('http://api.test/', { headers: { authorization: `Bearer ${token}` } }))
        const results = await Promise.all(Array.from({ length: 5 }, req))
        for (const result of results) expect(result).not.toBeInstanceOf(Response)
        expect(jwks.hits).toBe(1)
      } finally {
        await jwks.close()
      }
    })

    it('shares one validator, and one fetch, across many routes', async () => {
      const jwks = await startJwksServer()
      try {
        const shared = createValidator({
          issuer: ISSUER,
          audience: AUDIENCE,
          jwksUri: jwks.jwksUri,
        })
        const checks = Array.from({ length: 10 }, () => authenticate(shared))
        const token = await mintToken()
        for (const check of checks) {
          const result = await check({ headers: new Headers({ authorization: `Bearer ${token}` }) })
          expect(result).not.toBeInstanceOf(Response)
        }
        expect(jwks.hits).toBe(1)
      } finally {
        await jwks.close()
      }
    })
  })
})
