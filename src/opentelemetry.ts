/**
 * OpenTelemetry instrumentation for bearer-guard (issue #14): subscribes to the validation and
 * key-fetch tracing channels (`bearer-guard.validation`, `bearer-guard.key-fetch`) and turns each
 * event into spans and metrics through `@opentelemetry/api` (an optional peer dependency).
 *
 * Attributes hold no personal data: the issuer, tenant, client id, key id and app-only flag of an
 * accepted token, the outcome and reason of a decision, the JWKS URL. Never the token, `sub`,
 * `oid`, `upn`, a name, an e-mail address or the caller's IP address.
 *
 * @module bearer-guard/opentelemetry
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import {
  type Attributes,
  type Context,
  type Counter,
  context,
  type Histogram,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'
import { type KeyFetchMessage, tracingChannels, type ValidationMessage } from './diagnostics.js'

/** The instrumentation scope name of the tracer and the meter. */
export const INSTRUMENTATION_NAME = 'bearer-guard'
/** The instrumentation scope version: bearer-guard's version. */
export const INSTRUMENTATION_VERSION = '0.1.0'

/** The name of the span of a validation. */
export const VALIDATION_SPAN = 'bearer_guard.validate'
/** The name of the span of a key fetch. */
export const KEY_FETCH_SPAN = 'bearer_guard.jwks.fetch'

/** Options of {@link BearerGuardInstrumentation}. */
export interface BearerGuardInstrumentationConfig {
  /** Subscribe at once. Default true. */
  enabled?: boolean
  /** Where spans go. Default: the global tracer provider. */
  tracerProvider?: TracerProvider
  /** Where metrics go. Default: the global meter provider, read when the instrumentation is enabled. */
  meterProvider?: MeterProvider
}

interface Instruments {
  readonly validations: Counter
  readonly cacheHits: Counter
  readonly cacheMisses: Counter
  readonly fetchDuration: Histogram
  readonly staleKeysServed: Counter
}

/** Seconds: the explicit buckets OpenTelemetry's HTTP semantic conventions advise for durations. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

function createInstruments(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION)
  return {
    validations: meter.createCounter('bearer_guard.validations', {
      description: 'Decisions made, by outcome, rejection reason and status',
      unit: '{validation}',
    }),
    cacheHits: meter.createCounter('bearer_guard.token_cache.hits', {
      description: 'Decisions answered by the verified-token cache',
      unit: '{validation}',
    }),
    cacheMisses: meter.createCounter('bearer_guard.token_cache.misses', {
      description: 'Tokens verified because the verified-token cache did not hold them',
      unit: '{validation}',
    }),
    fetchDuration: meter.createHistogram('bearer_guard.jwks.fetch.duration', {
      description: 'Duration of key fetches (JWKS, with the discovery document when one is read)',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    staleKeysServed: meter.createCounter('bearer_guard.jwks.stale_keys_served', {
      description: 'Failed key fetches after which the last known good keys keep serving',
      unit: '{fetch}',
    }),
  }
}

/**
 * `url.full` without credentials and without the query (OpenTelemetry semantic conventions ask
 * for credentials to be redacted; a JWKS URL's query may hold a key, such as an Azure Functions
 * `code`), with `server.*`.
 */
function urlAttributes(href: string): Attributes {
  try {
    const url = new URL(href)
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
    return {
      'url.full': `${url.origin}${url.pathname}`,
      'server.address': url.hostname,
      'server.port': port,
    }
  } catch {
    return {}
  }
}

/** The attributes of a decision as made; only the accepted token's own fields name the caller. */
function validationAttributes(message: ValidationMessage): Attributes {
  const attributes: Attributes = {
    'bearer_guard.operation': message.operation,
    'bearer_guard.outcome': message.outcome ?? 'error',
  }
  if (message.issuer !== undefined) attributes['bearer_guard.issuer'] = message.issuer
  if (message.cache !== undefined) attributes['bearer_guard.token_cache'] = message.cache
  if (message.outcome === 'rejected') {
    attributes['bearer_guard.rejection.reason'] = message.reason
    // The status the validator answers with; not http.response.status_code, which belongs to
    // the HTTP span of the actual response.
    attributes['bearer_guard.status'] = message.status
    // As for an HTTP server span, a 4xx is the caller's doing: error.type (with an ERROR status)
    // only for a 503.
    if (message.status !== undefined && message.status >= 500)
      attributes['error.type'] = message.reason
  }
  if (message.outcome === 'accepted') {
    if (message.tenantId !== undefined) attributes['bearer_guard.tenant_id'] = message.tenantId
    if (message.clientId !== undefined) attributes['bearer_guard.client_id'] = message.clientId
    if (message.keyId !== undefined) attributes['bearer_guard.key_id'] = message.keyId
    attributes['bearer_guard.app_only'] = message.appOnly
  }
  return attributes
}

/** The class of a thrown error, never its message (a predicate's message might name the caller). */
function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error
}

type Handlers<M> = {
  start(message: M): void
  end(message: M): void
  asyncStart(message: M): void
  asyncEnd(message: M): void
  error(message: M): void
}

/**
 * Spans and metrics for every validation and key fetch of every bearer-guard validator in the
 * process (ESM and CommonJS builds alike): a `bearer_guard.validate` span (INTERNAL) per decision,
 * the child of the span active when the request was decided (the HTTP server span); a
 * `bearer_guard.jwks.fetch` span (INTERNAL) per key fetch, the child of the validation that
 * started it; the counters `bearer_guard.validations`, `bearer_guard.token_cache.hits`,
 * `bearer_guard.token_cache.misses`, `bearer_guard.jwks.stale_keys_served` and the histogram
 * `bearer_guard.jwks.fetch.duration` (s). Its shape is OpenTelemetry's `Instrumentation`, so
 * `registerInstrumentations` can set its providers.
 *
 * @example
 * ```ts
 * import { BearerGuardInstrumentation } from 'bearer-guard/opentelemetry'
 * const instrumentation = new BearerGuardInstrumentation() // global providers, enabled
 * // ... later: instrumentation.disable()
 * ```
 */
export class BearerGuardInstrumentation {
  readonly instrumentationName = INSTRUMENTATION_NAME
  readonly instrumentationVersion = INSTRUMENTATION_VERSION
  #config: BearerGuardInstrumentationConfig
  #tracer: Tracer
  #instruments: Instruments | undefined
  #enabled = false
  readonly #validations = new WeakMap<object, Span>()
  readonly #fetches = new WeakMap<object, Span>()
  /**
   * The validation span, bound to the validation channel's `start` (`bindStore`): a key fetch
   * started while a decision runs, at once or after an await, finds its parent here.
   */
  readonly #validationStore = new AsyncLocalStorage<Span>()
  readonly #startValidationSpan = (message: ValidationMessage) => this.#startValidation(message)
  readonly #validationHandlers: Handlers<ValidationMessage>
  readonly #keyFetchHandlers: Handlers<KeyFetchMessage>

  constructor(config: BearerGuardInstrumentationConfig = {}) {
    this.#config = { ...config }
    this.#tracer = this.#tracerOf(config.tracerProvider)
    this.#validationHandlers = {
      start: () => {},
      end: (message) => {
        if (!message.async) this.#endValidation(message)
      },
      asyncStart: () => {},
      asyncEnd: (message) => this.#endValidation(message),
      error: (message) => {
        const span = this.#validations.get(message)
        span?.setAttribute('error.type', errorType(message.error))
        span?.setStatus({ code: SpanStatusCode.ERROR })
      },
    }
    this.#keyFetchHandlers = {
      start: (message) => this.#startKeyFetch(message),
      end: () => {},
      asyncStart: () => {},
      asyncEnd: (message) => this.#endKeyFetch(message),
      error: () => {},
    }
    if (config.enabled !== false) this.enable()
  }

  /** Subscribes to the channels (again); does nothing when enabled. */
  enable(): void {
    if (this.#enabled) return
    this.#enabled = true
    this.#instruments ??= createInstruments(
      this.#config.meterProvider ?? metrics.getMeterProvider(),
    )
    tracingChannels.validation.start.bindStore(this.#validationStore, this.#startValidationSpan)
    tracingChannels.validation.subscribe(this.#validationHandlers)
    tracingChannels.keyFetch.subscribe(this.#keyFetchHandlers)
  }

  /** Unsubscribes: no span or metric from now on (a decision in flight is not recorded). */
  disable(): void {
    if (!this.#enabled) return
    this.#enabled = false
    tracingChannels.validation.start.unbindStore(this.#validationStore)
    tracingChannels.validation.unsubscribe(this.#validationHandlers)
    tracingChannels.keyFetch.unsubscribe(this.#keyFetchHandlers)
  }

  /** Sends spans to `provider` from the next validation on (`registerInstrumentations` calls it). */
  setTracerProvider(provider: TracerProvider): void {
    this.#config.tracerProvider = provider
    this.#tracer = this.#tracerOf(provider)
  }

  /** Records metrics with `provider` from now on (`registerInstrumentations` calls it). */
  setMeterProvider(provider: MeterProvider): void {
    this.#config.meterProvider = provider
    this.#instruments = createInstruments(provider)
  }

  /** A copy of the configuration; `enabled` says whether it is subscribed now. */
  getConfig(): BearerGuardInstrumentationConfig {
    return { ...this.#config, enabled: this.#enabled }
  }

  /** Merges `config` into the configuration, taking up any provider it names. */
  setConfig(config: BearerGuardInstrumentationConfig): void {
    if (config.tracerProvider !== undefined) this.setTracerProvider(config.tracerProvider)
    if (config.meterProvider !== undefined) this.setMeterProvider(config.meterProvider)
    this.#config = { ...this.#config, ...config }
  }

  #tracerOf(provider: TracerProvider | undefined): Tracer {
    return (provider ?? trace.getTracerProvider()).getTracer(
      INSTRUMENTATION_NAME,
      INSTRUMENTATION_VERSION,
    )
  }

  #startValidation(message: ValidationMessage): Span {
    const attributes: Attributes = { 'bearer_guard.operation': message.operation }
    if (message.issuer !== undefined) attributes['bearer_guard.issuer'] = message.issuer
    const span = this.#tracer.startSpan(
      VALIDATION_SPAN,
      { kind: SpanKind.INTERNAL, attributes },
      context.active(),
    )
    this.#validations.set(message, span)
    return span
  }

  #endValidation(message: ValidationMessage): void {
    const span = this.#validations.get(message)
    if (span === undefined) return
    this.#validations.delete(message)
    const attributes = validationAttributes(message)
    span.setAttributes(attributes)
    // As for an HTTP server span: a 4xx is the caller's doing, not a failure of the validation.
    if (message.status !== undefined && message.status >= 500) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: message.reason })
    }
    span.end()
    const instruments = this.#instruments
    if (instruments === undefined) return
    const counted: Attributes = { 'bearer_guard.outcome': attributes['bearer_guard.outcome'] }
    if (message.outcome === 'rejected') {
      counted['bearer_guard.rejection.reason'] = message.reason
      counted['bearer_guard.status'] = message.status
    }
    instruments.validations.add(1, counted)
    if (message.cache === 'hit') instruments.cacheHits.add(1)
    else if (message.cache === 'miss') instruments.cacheMisses.add(1)
  }

  #startKeyFetch(message: KeyFetchMessage): void {
    const validation = this.#validationStore.getStore()
    const parent: Context =
      validation === undefined ? context.active() : trace.setSpan(context.active(), validation)
    const span = this.#tracer.startSpan(
      KEY_FETCH_SPAN,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          ...urlAttributes(message.url),
          'http.request.method': 'GET',
          'bearer_guard.jwks.trigger': message.trigger,
        },
      },
      parent,
    )
    this.#fetches.set(message, span)
  }

  #endKeyFetch(message: KeyFetchMessage): void {
    const span = this.#fetches.get(message)
    if (span === undefined) return
    this.#fetches.delete(message)
    const server = urlAttributes(message.url)
    const attributes: Attributes = {
      ...server,
      'bearer_guard.jwks.outcome': message.outcome,
    }
    if (message.status !== undefined) attributes['http.response.status_code'] = message.status
    if (message.keyCount !== undefined) attributes['bearer_guard.jwks.key_count'] = message.keyCount
    if (message.outcome === 'failure') {
      attributes['error.type'] =
        message.status !== undefined && message.status !== 200 ? String(message.status) : '_OTHER'
      attributes['bearer_guard.jwks.stale_keys_served'] = message.staleKeysServed === true
      // The message says why (status, timeout, refused redirect, bad JSON), never a response body.
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: message.error instanceof Error ? message.error.message : undefined,
      })
    }
    span.setAttributes(attributes)
    span.end()
    const instruments = this.#instruments
    if (instruments === undefined) return
    const measured: Attributes = {
      'server.address': server['server.address'],
      'server.port': server['server.port'],
      'bearer_guard.jwks.outcome': message.outcome,
      'bearer_guard.jwks.trigger': message.trigger,
    }
    if (attributes['error.type'] !== undefined) measured['error.type'] = attributes['error.type']
    instruments.fetchDuration.record((message.duration ?? 0) / 1000, measured)
    if (message.staleKeysServed === true) {
      instruments.staleKeysServed.add(1, { 'server.address': server['server.address'] })
    }
  }
}
