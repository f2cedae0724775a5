/**
 * The NestJS adapter in real Nest applications (Express platform) listening on 127.0.0.1:0,
 * over real HTTP: the shared case table, then Nest's own ways (decorators on classes and
 * handlers, `@Auth()`, the module's factories, the exception filter).
 */
import type { AddressInfo } from 'node:net'
import {
  type ArgumentsHost,
  Catch,
  Controller,
  type DynamicModule,
  type ExceptionFilter,
  Get,
  type INestApplication,
  Inject,
  Injectable,
  type LoggerService,
  Module,
  type ModuleMetadata,
  UseFilters,
  UseGuards,
} from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  Auth,
  BEARER_GUARD_VALIDATOR,
  BearerAuthGuard,
  BearerGuardModule,
  RequireAnyRole,
  RequireAnyScope,
  RequireAuthContext,
  RequireClaims,
  RequireRoles,
  RequireScopes,
  RequireScopesOrRoles,
  RequireStepUp,
} from '../../adapters/nestjs.js'
import {
  type AuthInfo,
  BearerGuardError,
  createValidator,
  type Validator,
  type ValidatorOptions,
} from '../../src/index.js'
import {
  CASES,
  type CaseEnv,
  type GuardFactories,
  ROUTES,
  type RoutePath,
  type RouteSpec,
  runCase,
  STACK_FRAME,
  startCaseEnv,
} from '../helpers/cases.js'
import { startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

type Decorator = ClassDecorator & MethodDecorator

const NEST: GuardFactories<Decorator> = {
  requireScopes: RequireScopes,
  requireRoles: RequireRoles,
  requireScopesOrRoles: RequireScopesOrRoles,
  requireAuthContext: RequireAuthContext,
  requireStepUp: RequireStepUp,
}

/** Collects what Nest logs at error and warn level: a rejection must log nothing. */
const logged: string[] = []
const logger: LoggerService = {
  log: () => {},
  error: (...args: unknown[]) => logged.push(args.map(String).join(' ')),
  warn: (...args: unknown[]) => logged.push(args.map(String).join(' ')),
}

/** A controller for one route of `ROUTES`, answering `{ subject }` as every adapter does. */
function routeController(path: string, spec: RouteSpec): new () => unknown {
  @Controller(path)
  class RouteController {
    @Get()
    handle(@Auth() auth: AuthInfo | undefined) {
      return { subject: auth?.subject ?? null }
    }
  }
  const descriptor = Object.getOwnPropertyDescriptor(RouteController.prototype, 'handle')
  spec.guard?.(NEST)(RouteController.prototype, 'handle', descriptor as PropertyDescriptor)
  if (spec.validator !== undefined) UseGuards(BearerAuthGuard)(RouteController)
  return RouteController
}

/** A Nest application of the given module metadata, listening on 127.0.0.1:0. */
async function listen(metadata: ModuleMetadata): Promise<{ app: INestApplication; url: string }> {
  @Module(metadata)
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger, abortOnError: false })
  await app.listen(0, '127.0.0.1')
  const { port } = app.getHttpServer().address() as AddressInfo
  return { app, url: `http://127.0.0.1:${port}` }
}

function routes(paths: RoutePath[]) {
  return paths.map((path) => routeController(path, ROUTES[path]))
}

let env: CaseEnv
const apps: INestApplication[] = []
/** Base URLs: `main` requires credentials, `optional` does not, `cold` never gets keys. */
const urls = { main: '', optional: '', cold: '' }

async function start(
  name: keyof typeof urls,
  module: DynamicModule,
  controllers: Array<new () => unknown>,
) {
  const { app, url } = await listen({ imports: [module], controllers })
  apps.push(app)
  urls[name] = url
}

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  env = await startCaseEnv()
  const main = [
    '/me',
    '/files',
    '/files/delete',
    '/admin',
    '/data',
    '/guard-only',
    '/auth-context',
    '/step-up',
  ] as const
  await Promise.all([
    start('main', BearerGuardModule.forRoot(env.validators.main), routes([...main])),
    start(
      'optional',
      BearerGuardModule.forRoot(env.validators.main, { credentialsRequired: false }),
      routes(['/optional', '/guard-only']),
    ),
    start('cold', BearerGuardModule.forRoot(env.validators.cold), routes(['/cold'])),
  ])
})

afterAll(async () => {
  vi.useRealTimers()
  await Promise.all(apps.map((app) => app.close()))
  await env.close()
})

function urlFor(path: RoutePath): string {
  return path === '/optional' ? urls.optional : path === '/cold' ? urls.cold : urls.main
}

describe('shared cases', () => {
  // Nest has no state in which a requirement runs without authentication: @RequireScopes brings
  // BearerAuthGuard along (fail closed), so '/guard-only' authenticates the token and passes.
  // The Nest form of that row is below: a requirement reached anonymously answers 401.
  const cases = CASES.filter((testCase) => testCase.path !== '/guard-only')

  it.each(cases)('$name', async (testCase) => {
    await runCase(urlFor(testCase.path), testCase)
  })

  it('logs nothing for any rejection', () => {
    expect(logged).toEqual([])
  })
})

describe('requirements', () => {
  const bearer = async () => `Bearer ${await mintToken()}`

  it('authenticate a route that carries only a requirement, and refuse it anonymously', async () => {
    await request(urls.main)
      .get('/guard-only')
      .set('Authorization', await bearer())
      .expect(200, { subject: 'user-123' })
    const res = await request(urls.main).get('/guard-only')
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"')
  })

  it('answer 401 when reached anonymously with optional credentials', async () => {
    const res = await request(urls.optional).get('/guard-only')
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"')
    expect(res.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Authentication required',
    })
  })

  describe('on classes and handlers', () => {
    let url: string

    beforeAll(async () => {
      @Controller('orders')
      @RequireScopes('Files.Read')
      @UseGuards(BearerAuthGuard)
      class OrdersController {
        @Get()
        list(@Auth() auth: AuthInfo) {
          return { scopes: auth.scopes }
        }

        @Get('admin')
        @RequireRoles('Orders.Admin')
        @RequireAnyRole('Orders.Reader', 'Orders.Admin')
        admin() {
          return { ok: true }
        }

        @Get('any')
        @RequireAnyScope('Nope', 'Files.Write')
        any() {
          return { ok: true }
        }

        @Get('finance')
        @RequireClaims((auth) => auth.claims.department === 'finance', 'finance staff only')
        finance() {
          return { ok: true }
        }
      }
      const validator = createValidator({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: env.jwks.jwksUri,
        tokenCache: false,
      })
      const started = await listen({
        imports: [BearerGuardModule.forRoot(validator)],
        controllers: [OrdersController],
      })
      apps.push(started.app)
      url = started.url
    })

    it('applies the class requirement to every handler', async () => {
      const token = await mintToken({ claims: { scp: 'Files.Write' } })
      const res = await request(url).get('/orders').set('Authorization', `Bearer ${token}`)
      expect(res.status).toBe(403)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="insufficient_scope", error_description="the token lacks a scope this resource requires", scope="Files.Read"',
      )
      expect(res.body).toEqual({
        statusCode: 403,
        error: 'insufficient_scope',
        message: 'the token lacks a scope this resource requires',
      })
    })

    it('gives the handler the AuthInfo through @Auth()', async () => {
      await request(url)
        .get('/orders')
        .set('Authorization', `Bearer ${await mintToken()}`)
        .expect(200, { scopes: ['Files.Read', 'Files.Write'] })
    })

    it('applies every requirement of a handler, besides the class one', async () => {
      const reader = await mintToken({ claims: { roles: ['Orders.Reader'] } })
      const res = await request(url).get('/orders/admin').set('Authorization', `Bearer ${reader}`)
      expect(res.status).toBe(403)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="insufficient_scope", error_description="the token lacks a role this resource accepts: Orders.Admin"',
      )
      const admin = await mintToken({ claims: { roles: ['Orders.Admin'] } })
      await request(url).get('/orders/admin').set('Authorization', `Bearer ${admin}`).expect(200)
      const noScope = await mintToken({ claims: { scp: 'Other', roles: ['Orders.Admin'] } })
      await request(url).get('/orders/admin').set('Authorization', `Bearer ${noScope}`).expect(403)
    })

    it('supports the any-of and claim forms', async () => {
      await request(url)
        .get('/orders/any')
        .set('Authorization', `Bearer ${await mintToken()}`)
        .expect(200)
      const res = await request(url)
        .get('/orders/finance')
        .set('Authorization', `Bearer ${await mintToken()}`)
      expect(res.status).toBe(403)
      expect(res.body.message).toBe('finance staff only')
    })

    it('verifies the token once when the guard is applied to the class and the handler', async () => {
      const calls = vi.fn()
      const counting = createValidator({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: env.jwks.jwksUri,
        tokenCache: false,
        validateClaims: () => {
          calls()
          return undefined
        },
      })
      @Controller()
      @UseGuards(BearerAuthGuard)
      class TwiceController {
        @Get()
        @UseGuards(BearerAuthGuard)
        @RequireScopes('Files.Read')
        handle() {
          return {}
        }
      }
      const started = await listen({
        imports: [BearerGuardModule.forRoot(counting)],
        controllers: [TwiceController],
      })
      apps.push(started.app)
      // With keys not loaded yet, the validator runs validateClaims before and after the fetch.
      await counting.warmUp()
      await request(started.url)
        .get('/')
        .set('Authorization', `Bearer ${await mintToken()}`)
        .expect(200)
      expect(calls).toHaveBeenCalledTimes(1)
    })
  })

  it('check their names when the class is defined', () => {
    expect(() => RequireScopes('Files Read')).toThrow(TypeError)
    expect(() => RequireRoles()).toThrow(TypeError)
    expect(() => RequireScopesOrRoles([])).toThrow(TypeError)
  })
})

describe('the exception filter', () => {
  it('answers with the status, the challenge and a body without stack or token', async () => {
    const token = await mintToken({ claims: { exp: NOW - 3600 } })
    const res = await request(urls.main).get('/me').set('Authorization', `Bearer ${token}`)
    expect(res.status).toBe(401)
    expect(res.body).toEqual({
      statusCode: 401,
      error: 'invalid_token',
      message: 'the token expired 60 min ago',
    })
    expect(res.text).not.toMatch(STACK_FRAME)
    expect(res.text).not.toContain(token)
  })

  it('hides the message of a 503 and sets Retry-After', async () => {
    const res = await request(urls.cold)
      .get('/cold')
      .set('Authorization', `Bearer ${await mintToken()}`)
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Service Unavailable',
    })
  })

  it('leaves other errors to Nest', async () => {
    @Controller()
    class FailingController {
      @Get()
      fail() {
        throw new Error('boom')
      }
    }
    const quiet = vi.spyOn(logger, 'error').mockImplementation(() => {})
    const started = await listen({
      imports: [BearerGuardModule.forRoot(env.validators.main)],
      controllers: [FailingController],
    })
    apps.push(started.app)
    const res = await request(started.url).get('/')
    quiet.mockRestore()
    expect(res.status).toBe(500)
    expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error' })
  })

  it('gives way to a filter of the controller for bearer-guard errors', async () => {
    @Catch(BearerGuardError)
    class TeapotFilter implements ExceptionFilter {
      catch(_error: BearerGuardError, host: ArgumentsHost) {
        host.switchToHttp().getResponse().status(418).json({ custom: true })
      }
    }
    @Controller()
    @UseGuards(BearerAuthGuard)
    @UseFilters(TeapotFilter)
    class CustomController {
      @Get()
      handle() {
        return {}
      }
    }
    const started = await listen({
      imports: [BearerGuardModule.forRoot(env.validators.main)],
      controllers: [CustomController],
    })
    apps.push(started.app)
    await request(started.url).get('/').expect(418, { custom: true })
  })
})

describe('BearerGuardModule', () => {
  it('checks the options in forRoot, at startup', () => {
    expect(() =>
      BearerGuardModule.forRoot({
        issuer: ISSUER,
        audiance: AUDIENCE,
      } as unknown as ValidatorOptions),
    ).toThrow(TypeError)
  })

  it('fetches no keys before the first request', async () => {
    const jwks = await startJwksServer()
    try {
      BearerGuardModule.forRoot({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri })
      expect(jwks.hits).toBe(0)
    } finally {
      await jwks.close()
    }
  })

  it('builds the validator from injected configuration with forRootAsync, and provides it', async () => {
    @Injectable()
    class Config {
      readonly jwksUri = env.jwks.jwksUri
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}

    @Controller()
    @UseGuards(BearerAuthGuard)
    class MeController {
      constructor(@Inject(BEARER_GUARD_VALIDATOR) private readonly validator: Validator) {}

      @Get()
      handle(@Auth() auth: AuthInfo) {
        return { subject: auth.subject, realm: this.validator.realm }
      }
    }
    const started = await listen({
      imports: [
        BearerGuardModule.forRootAsync({
          imports: [ConfigModule],
          inject: [Config],
          useFactory: async (config: Config) => ({
            issuer: ISSUER,
            audience: AUDIENCE,
            jwksUri: config.jwksUri,
            realm: 'orders',
          }),
        }),
      ],
      controllers: [MeController],
    })
    apps.push(started.app)
    await request(started.url)
      .get('/')
      .set('Authorization', `Bearer ${await mintToken()}`)
      .expect(200, { subject: 'user-123', realm: 'orders' })
    const res = await request(started.url).get('/')
    expect(res.headers['www-authenticate']).toBe('Bearer realm="orders"')
  })
})
