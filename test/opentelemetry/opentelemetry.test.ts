/**
 * bearer-guard/opentelemetry with the real OpenTelemetry SDK (in-memory span and metric
 * exporters, the AsyncLocalStorage context manager) against a real Express API behind a real
 * HTTP server, with keys from the local JWKS server.
 */
import { request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import express from 'express'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { authenticate, errorHandler } from '../../adapters/express.js'
import { createValidator, type Validator } from '../../src/index.js'
import {
  BearerGuardInstrumentation,
  INSTRUMENTATION_VERSION,
  KEY_FETCH_SPAN,
  VALIDATION_SPAN,
} from '../../src/opentelemetry.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { otherRsaKey, rsaKey } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken } from '../helpers/tokens.js'

/** The address the test client calls from, and the one it claims through X-Forwarded-For. */
const CALLER_IP = '127.0.0.3'
const FORWARDED_IP = '203.0.113.77'
/** Claims no telemetry may show. */
const PERSONAL = {
  sub: 'sub-PRIVATE-5d1f0c',
  oid: 'oid-PRIVATE-9a7e42',
  upn: 'upn-PRIVATE@contoso.example',
  name: 'Name PRIVATE Person',
  preferred_username: 'pref-PRIVATE@contoso.example',
  email: 'email-PRIVATE@contoso.example',
}

const spans = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
const reader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
})
const meterProvider = new MeterProvider({ readers: [reader] })
const contextManager = new AsyncLocalStorageContextManager().enable()
const tracer = tracerProvider.getTracer('test-http-server')

let instrumentation: BearerGuardInstrumentation
let jwks: JwksServer
const servers: Server[] = []

beforeAll(async () => {
  context.setGlobalContextManager(contextManager)
  instrumentation = new BearerGuardInstrumentation({ tracerProvider, meterProvider })
  jwks = await startJwksServer({ keys: [rsaKey] })
})
afterEach(() => {
  jwks.setMode('ok')
  jwks.setKeys([rsaKey])
  instrumentation.enable()
})
afterAll(async () => {
  instrumentation.disable()
  for (const server of servers) server.closeAllConnections()
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  await jwks.close()
  await meterProvider.shutdown()
  await tracerProvider.shutdown()
  context.disable()
})

/**
 * An Express API behind a node:http server that opens a SERVER span per request and makes it
 * active, as an HTTP instrumentation does.
 */
async function startApi(validator: Validator): Promise<string> {
  const app = express()
  app.use(authenticate(validator))
  app.get('/me', (req, res) => {
    res.json({ client: req.auth?.clientId })
  })
  app.use(errorHandler())
  const { createServer } = await import('node:http')
  const server = createServer((req, res) => {
    tracer.startActiveSpan(`${req.method}`, { kind: SpanKind.SERVER }, (span) => {
      res.on('finish', () => span.end())
      app(req, res)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** GET /me from CALLER_IP, with X-Forwarded-For; resolves with the status. */
function call(origin: string, token: string): Promise<number> {
  const url = new URL('/me', origin)
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        localAddress: CALLER_IP,
        headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': FORWARDED_IP },
        timeout: 10_000,
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode as number))
      },
    )
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

function token(claims: Record<string, unknown> = {}, key = rsaKey): Promise<string> {
  const now = nowSeconds()
  return mintToken({
    key,
    claims: { iat: now, nbf: now, exp: now + 600, tid: 'tenant-7', ...PERSONAL, ...claims },
  })
}

function validator(options: { cooldownDuration?: number; jwksUri?: string } = {}): Validator {
  return createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri, ...options })
}

/** The spans finished since the last call, by name. */
function takeSpans(): {
  http: ReadableSpan[]
  validations: ReadableSpan[]
  fetches: ReadableSpan[]
} {
  const finished = spans.getFinishedSpans()
  spans.reset()
  return {
    http: finished.filter((span) => span.kind === SpanKind.SERVER),
    validations: finished.filter((span) => span.name === VALIDATION_SPAN),
    fetches: finished.filter((span) => span.name === KEY_FETCH_SPAN),
  }
}

describe('BearerGuardInstrumentation: spans', () => {
  it('makes a validation span, the child of the HTTP span, and a key-fetch span under it', async () => {
    const api = await startApi(validator())
    takeSpans()
    const valid = await token()
    expect(await call(api, valid)).toBe(200)
    const first = takeSpans()
    expect(first.http).toHaveLength(1)
    expect(first.validations).toHaveLength(1)
    expect(first.fetches).toHaveLength(1)
    const [http, validation, fetch] = [first.http[0], first.validations[0], first.fetches[0]]
    expect(validation?.kind).toBe(SpanKind.INTERNAL)
    expect(validation?.spanContext().traceId).toBe(http?.spanContext().traceId)
    expect(validation?.parentSpanContext?.spanId).toBe(http?.spanContext().spanId)
    expect(fetch?.parentSpanContext?.spanId).toBe(validation?.spanContext().spanId)
    expect(validation?.attributes).toEqual({
      'bearer_guard.operation': 'decide',
      'bearer_guard.issuer': ISSUER,
      'bearer_guard.outcome': 'accepted',
      'bearer_guard.token_cache': 'miss',
      'bearer_guard.tenant_id': 'tenant-7',
      'bearer_guard.client_id': 'client-abc',
      'bearer_guard.key_id': 'rsa-1',
      'bearer_guard.app_only': false,
    })
    expect(validation?.status.code).toBe(SpanStatusCode.UNSET)
    const port = Number(new URL(jwks.jwksUri).port)
    expect(fetch?.attributes).toEqual({
      'url.full': jwks.jwksUri,
      'server.address': '127.0.0.1',
      'server.port': port,
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'bearer_guard.jwks.trigger': 'initial',
      'bearer_guard.jwks.outcome': 'success',
      'bearer_guard.jwks.key_count': 1,
    })
    // The same token again: a cache hit, still a child of its own request's span.
    expect(await call(api, valid)).toBe(200)
    const second = takeSpans()
    expect(second.fetches).toHaveLength(0)
    expect(second.validations[0]?.attributes['bearer_guard.token_cache']).toBe('hit')
    expect(second.validations[0]?.parentSpanContext?.spanId).toBe(
      second.http[0]?.spanContext().spanId,
    )
  })

  it("leaves the JWKS URL's query (a key, say) out of the key fetch span", async () => {
    const api = await startApi(validator({ jwksUri: `${jwks.jwksUri}?code=FUNCTION-KEY-SECRET` }))
    takeSpans()
    expect(await call(api, await token())).toBe(200)
    const { fetches } = takeSpans()
    expect(fetches).toHaveLength(1)
    expect(fetches[0]?.attributes['url.full']).toBe(jwks.jwksUri)
    expect(JSON.stringify(fetches[0]?.attributes)).not.toContain('FUNCTION-KEY-SECRET')
  })

  it('records an expired token and a wrong audience as rejections, leaving the status unset', async () => {
    const checked = validator()
    await checked.warmUp()
    const api = await startApi(checked)
    takeSpans()
    const now = nowSeconds()
    expect(
      await call(api, await token({ iat: now - 7200, nbf: now - 7200, exp: now - 3600 })),
    ).toBe(401)
    expect(await call(api, await token({ aud: 'api://someone-else' }))).toBe(401)
    const { validations } = takeSpans()
    expect(validations.map((span) => span.attributes)).toEqual([
      expect.objectContaining({
        'bearer_guard.outcome': 'rejected',
        'bearer_guard.rejection.reason': 'expired',
        'bearer_guard.status': 401,
      }),
      expect.objectContaining({
        'bearer_guard.outcome': 'rejected',
        'bearer_guard.rejection.reason': 'wrong_audience',
        'bearer_guard.status': 401,
      }),
    ])
    for (const span of validations) {
      expect(span.status.code).toBe(SpanStatusCode.UNSET)
      // No error.type on a 4xx (it goes with an ERROR status), and no HTTP response attribute on
      // an INTERNAL span.
      expect(span.attributes['error.type']).toBeUndefined()
      expect(span.attributes['http.response.status_code']).toBeUndefined()
      expect(span.attributes['bearer_guard.client_id']).toBeUndefined()
    }
  })

  it('marks a JWKS outage (503) as an error on the validation and on the key fetch', async () => {
    const api = await startApi(validator())
    takeSpans()
    jwks.setMode('down')
    expect(await call(api, await token())).toBe(503)
    const { validations, fetches } = takeSpans()
    expect(validations[0]?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'keys_unavailable',
    })
    expect(validations[0]?.attributes).toMatchObject({
      'bearer_guard.outcome': 'rejected',
      'bearer_guard.status': 503,
      'error.type': 'keys_unavailable',
    })
    expect(fetches[0]?.status.code).toBe(SpanStatusCode.ERROR)
    expect(fetches[0]?.status.message).toContain('answered HTTP 500')
    expect(fetches[0]?.attributes).toMatchObject({
      'bearer_guard.jwks.outcome': 'failure',
      'http.response.status_code': 500,
      'error.type': '500',
      'bearer_guard.jwks.stale_keys_served': false,
    })
  })

  it('traces a refetch for a rotated key', async () => {
    const rotating = validator({ cooldownDuration: 0 })
    await rotating.warmUp()
    const api = await startApi(rotating)
    takeSpans()
    jwks.setKeys([otherRsaKey])
    expect(await call(api, await token({}, otherRsaKey))).toBe(200)
    const { validations, fetches } = takeSpans()
    expect(fetches[0]?.attributes).toMatchObject({
      'bearer_guard.jwks.trigger': 'unknown_kid',
      'bearer_guard.jwks.outcome': 'success',
      'bearer_guard.jwks.key_count': 1,
    })
    expect(fetches[0]?.parentSpanContext?.spanId).toBe(validations[0]?.spanContext().spanId)
    expect(validations[0]?.attributes['bearer_guard.key_id']).toBe('rsa-2')
  })

  it('stops making spans once disabled, and starts again when enabled', async () => {
    const checked = validator()
    await checked.warmUp()
    const api = await startApi(checked)
    takeSpans()
    instrumentation.disable()
    instrumentation.disable()
    expect(await call(api, await token())).toBe(200)
    const off = takeSpans()
    expect(off.http).toHaveLength(1)
    expect(off.validations).toHaveLength(0)
    instrumentation.enable()
    expect(await call(api, await token())).toBe(200)
    expect(takeSpans().validations).toHaveLength(1)
  })

  it('names its scope with the package version', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default
    expect(INSTRUMENTATION_VERSION).toBe(version)
    expect(instrumentation.instrumentationVersion).toBe(version)
  })
})

describe('registerInstrumentations (@opentelemetry/instrumentation)', () => {
  it('sets the providers, enables a disabled instrumentation, and disables it when unregistered', async () => {
    const ownSpans = new InMemorySpanExporter()
    const ownProvider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(ownSpans)],
    })
    const registered = new BearerGuardInstrumentation({ enabled: false })
    expect(registered.getConfig().enabled).toBe(false)
    const unregister = registerInstrumentations({
      instrumentations: [registered],
      tracerProvider: ownProvider,
      meterProvider,
    })
    expect(registered.getConfig().enabled).toBe(true)
    const checked = validator()
    await checked.verify(await token())
    expect(ownSpans.getFinishedSpans().map((span) => span.name)).toEqual([
      KEY_FETCH_SPAN,
      VALIDATION_SPAN,
    ])
    unregister()
    expect(registered.getConfig().enabled).toBe(false)
    await checked.verify(await token({ scp: 'Other' }))
    expect(ownSpans.getFinishedSpans()).toHaveLength(2)
    await ownProvider.shutdown()
  })
})

describe('BearerGuardInstrumentation: metrics and privacy', () => {
  it('counts outcomes, reasons, cache hits and misses, fetch durations and stale keys served', async () => {
    metricExporter.reset()
    const stale = validator({ cooldownDuration: 0 })
    const api = await startApi(stale)
    const valid = await token()
    expect(await call(api, valid)).toBe(200)
    expect(await call(api, valid)).toBe(200)
    expect(await call(api, await token({ aud: 'api://someone-else' }))).toBe(401)
    jwks.setMode('down')
    expect(await call(api, await token({}, otherRsaKey))).toBe(503)
    await reader.forceFlush()
    const exported = metricExporter.getMetrics().at(-1)
    const metrics = new Map(
      exported?.scopeMetrics
        .filter((scope) => scope.scope.name === 'bearer-guard')
        .flatMap((scope) => scope.metrics)
        .map((metric) => [metric.descriptor.name, metric]),
    )
    const points = (name: string) => metrics.get(name)?.dataPoints ?? []
    const sum = (name: string, attributes: Record<string, unknown> = {}) =>
      points(name)
        .filter((point) => Object.entries(attributes).every(([k, v]) => point.attributes[k] === v))
        .reduce((total, point) => total + (point.value as number), 0)
    // Earlier tests counted too (the counters are cumulative): compare what this API added.
    expect(
      sum('bearer_guard.validations', { 'bearer_guard.outcome': 'accepted' }),
    ).toBeGreaterThanOrEqual(2)
    expect(
      sum('bearer_guard.validations', { 'bearer_guard.rejection.reason': 'wrong_audience' }),
    ).toBeGreaterThanOrEqual(1)
    expect(
      sum('bearer_guard.validations', {
        'bearer_guard.rejection.reason': 'keys_unavailable',
        'bearer_guard.status': 503,
      }),
    ).toBeGreaterThanOrEqual(1)
    expect(sum('bearer_guard.token_cache.hits')).toBeGreaterThanOrEqual(1)
    expect(sum('bearer_guard.token_cache.misses')).toBeGreaterThanOrEqual(3)
    expect(sum('bearer_guard.jwks.stale_keys_served', { 'server.address': '127.0.0.1' })).toBe(1)
    const durations = points('bearer_guard.jwks.fetch.duration')
    expect(metrics.get('bearer_guard.jwks.fetch.duration')?.descriptor.unit).toBe('s')
    const failed = durations.find(
      (point) =>
        point.attributes['bearer_guard.jwks.trigger'] === 'unknown_kid' &&
        point.attributes['error.type'] === '500',
    )
    expect((failed?.value as { count: number } | undefined)?.count).toBe(1)
  })

  it('puts no token, personal claim or caller IP in any span or metric', async () => {
    const api = await startApi(validator())
    const tokens = [await token(), await token({ aud: 'api://someone-else' })]
    for (const sent of tokens) await call(api, sent)
    await call(api, tokens[0] as string)
    await reader.forceFlush()
    const exported = JSON.stringify({
      spans: spans.getFinishedSpans().map((span) => ({
        name: span.name,
        attributes: span.attributes,
        status: span.status,
        events: span.events,
        links: span.links,
        resource: span.resource.attributes,
      })),
      metrics: metricExporter.getMetrics(),
    })
    // The check can fail: the exported text does hold what bearer-guard may show.
    expect(exported).toContain('client-abc')
    expect(exported).toContain('bearer_guard.validate')
    const forbidden = [
      ...Object.values(PERSONAL),
      ...tokens.flatMap((sent) => sent.split('.')),
      CALLER_IP,
      FORWARDED_IP,
    ]
    for (const value of forbidden) expect(exported).not.toContain(value)
    expect(exported).not.toContain('PRIVATE')
  })
})
