/**
 * An Express API protected by bearer-guard, traced with OpenTelemetry: a span per validation and
 * per JWKS fetch, and bearer-guard's metrics, printed to the console by the SDK's console
 * exporters (swap in an OTLP exporter for a real backend). Each request gets a SERVER span made
 * active around the app, as @opentelemetry/instrumentation-http would make; the validation span
 * is its child. Point it at your issuer and run it:
 *
 *   ISSUER=https://issuer.example/ AUDIENCE=api://orders \
 *   JWKS_URI=https://issuer.example/.well-known/jwks.json npx tsx examples/opentelemetry.ts
 *   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/me
 *
 * PORT (default 3000) and HOST (default 127.0.0.1) choose where it listens; PORT=0 takes a free
 * port. It prints the URL once it listens, then each span as it ends and the metrics every
 * METRICS_INTERVAL ms (default 10000).
 */
import { createServer } from 'node:http'
import { context, metrics, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import express from 'express'
// In an application: import { authenticate, errorHandler, requireScopes } from 'bearer-guard/express'
import { authenticate, errorHandler, requireScopes } from '../adapters/express.js'
// In an application: import { createValidator } from 'bearer-guard'
import { createValidator } from '../src/index.js'
// In an application: import { BearerGuardInstrumentation } from 'bearer-guard/opentelemetry'
import { BearerGuardInstrumentation } from '../src/opentelemetry.js'

const { ISSUER, AUDIENCE, JWKS_URI, PORT = '3000', HOST = '127.0.0.1' } = process.env
if (!ISSUER || !AUDIENCE || !JWKS_URI) {
  console.error('Set ISSUER, AUDIENCE and JWKS_URI (see the top of examples/opentelemetry.ts).')
  process.exit(1)
}

// The SDK, set up once at startup (with NodeSDK, pass the instrumentation in `instrumentations`).
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] }),
)
metrics.setGlobalMeterProvider(
  new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new ConsoleMetricExporter(),
        exportIntervalMillis: Number(process.env.METRICS_INTERVAL ?? 10_000),
      }),
    ],
  }),
)
// Subscribes to bearer-guard's diagnostics channels; instrumentation.disable() lets go.
new BearerGuardInstrumentation()

const app = express()
app.use(authenticate(createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: JWKS_URI })))
app.get('/me', (req, res) => {
  res.json({ clientId: req.auth?.clientId, appOnly: req.auth?.appOnly })
})
app.get('/files', requireScopes('Files.Read'), (_req, res) => {
  res.json({ files: ['q3-report.xlsx'] })
})
app.use(errorHandler())

const tracer = trace.getTracer('example-http-server')
const server = createServer((req, res) => {
  tracer.startActiveSpan(`${req.method} ${req.url}`, { kind: SpanKind.SERVER }, (span) => {
    res.on('finish', () => {
      span.setAttribute('http.response.status_code', res.statusCode)
      span.end()
    })
    app(req, res)
  })
})
server.listen(Number(PORT), HOST, () => {
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : PORT
  console.log(`listening on http://${HOST}:${port}`)
})
