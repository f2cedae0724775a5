/**
 * Publishing on `node:diagnostics_channel` tracing channels (issue #14): one for a validation (a
 * decision about a request or a token), one for a key fetch. Tracers (the
 * `bearer-guard/opentelemetry` instrumentation, an APM agent) subscribe by channel name, so the
 * ESM and CommonJS builds publish on the same channels.
 *
 * The channels come from `#channels` (package.json `imports`): `node:diagnostics_channel` on
 * Node.js, Bun and Deno; on the WebCrypto build (workerd, edge-light), the runtime's own module
 * when `process.getBuiltinModule` offers it, else channels nobody can subscribe to, so the
 * functions below answer `false` and only run what they wrap.
 *
 * Nobody subscribed, the cost is one `hasSubscribers` check per decision and per key fetch.
 * Messages never carry the token, its subject or any other personal claim: only what the
 * instrumentation may put on a span (issuer, tenant, client id, key id, app-only flag).
 */
import { tracingChannel } from '#channels'
import type { Decision } from './decision.js'

/** Name of the tracing channel of validations: `tracing:bearer-guard.validation:start` and so on. */
export const VALIDATION_CHANNEL = 'bearer-guard.validation'
/** Name of the tracing channel of key fetches: `tracing:bearer-guard.key-fetch:start` and so on. */
export const KEY_FETCH_CHANNEL = 'bearer-guard.key-fetch'

/**
 * The message of the validation channel: one object per decision, the same at every event. Set
 * at `start`: `operation`, `issuer` (when the validator accepts one issuer), `async: false`.
 * Set before `end` (a synchronous decision) or before `asyncStart` (one that waited): the rest.
 * `async` is true at `end` when the decision waits (for keys, an issuer lookup): `asyncStart` and
 * `asyncEnd` then follow; when false, nothing follows `end`. The token-derived fields are set only
 * for an accepted token, whose signature and claims were verified.
 *
 * @example
 * ```ts
 * import { tracingChannel } from '#channels'
 * tracingChannel<unknown, ValidationMessage>('bearer-guard.validation').subscribe({
 *   start() {}, end(m) { if (!m.async) console.log(m.outcome, m.reason) }, asyncStart() {},
 *   asyncEnd(m) { console.log(m.outcome, m.reason) }, error() {},
 * })
 * ```
 */
export interface ValidationMessage {
  /** What was called: `decide` (every adapter), `authenticate` or `verify`. */
  readonly operation: 'decide' | 'authenticate' | 'verify'
  /** The accepted token's `iss`; before that (and for a rejection), the validator's issuer when it accepts exactly one. */
  issuer: string | undefined
  /** Whether the decision waits: at `end`, true when `asyncStart` and `asyncEnd` follow. */
  async: boolean
  /** `accepted`, `anonymous` (no credentials, and none required) or `rejected`; unset for a thrown error. */
  outcome: 'accepted' | 'anonymous' | 'rejected' | undefined
  /** The rejection's status: 400, 401, 403 or 503. */
  status: number | undefined
  /** The rejection's reason (`expired`, `wrong_audience`, `keys_unavailable`, ...). */
  reason: string | undefined
  /** Whether the verified-token cache answered (`hit`) or the token was verified (`miss`); unset when no token was read. */
  cache: 'hit' | 'miss' | undefined
  /** The accepted token's tenant (`tid`). */
  tenantId: string | undefined
  /** The accepted token's client (`azp`, `appid` or `client_id`). */
  clientId: string | undefined
  /** The `kid` of the key that verified the accepted token. */
  keyId: string | undefined
  /** Whether the accepted token is an app-only (client-credentials) token. */
  appOnly: boolean | undefined
  /** An error that is not a rejection (a throwing issuer predicate), as published on `error`. */
  error?: unknown
}

/**
 * The message of the key-fetch channel, one per fetch (however many requests wait for it). Set
 * at `start`: `url`, `trigger`. Set before `error` / `asyncStart`: the rest. A fetch is always
 * asynchronous: `start`, `end`, then (`error` on failure) `asyncStart`, `asyncEnd`.
 */
export interface KeyFetchMessage {
  /** The JWKS URL; until a discovery document has named it, the discovery document's URL. */
  url: string
  /** Why keys are fetched: `initial`, `unknown_kid`, `background` or `expired`. */
  readonly trigger: 'initial' | 'unknown_kid' | 'background' | 'expired'
  /** `success` when new keys are in use, else `failure`. */
  outcome: 'success' | 'failure' | undefined
  /** The HTTP status of the last response, when one came. */
  status: number | undefined
  /** Milliseconds from `start` to the outcome. */
  duration: number | undefined
  /** Usable keys in the fetched set (on success). */
  keyCount: number | undefined
  /** On failure: whether the last known good keys keep serving (`maxStaleAge`). */
  staleKeysServed: boolean | undefined
  /** On failure, the error: its message says why, without any response body. */
  error?: unknown
}

const validation = tracingChannel<unknown, ValidationMessage>(VALIDATION_CHANNEL)
const keyFetch = tracingChannel<unknown, KeyFetchMessage>(KEY_FETCH_CHANNEL)

/** Whether anyone subscribes to the validation channel; check before {@link traceValidation}. */
export function hasValidationSubscribers(): boolean {
  return validation.hasSubscribers
}

/** Whether anyone subscribes to the key-fetch channel; check before {@link traceKeyFetch}. */
export function hasKeyFetchSubscribers(): boolean {
  return keyFetch.hasSubscribers
}

/** Fills the outcome fields from a decision: the AuthInfo itself never reaches the message. */
function describe(message: ValidationMessage, decision: Decision): Decision {
  if (decision.error !== undefined) {
    message.outcome = 'rejected'
    message.status = decision.error.status
    message.reason = decision.error.reason
  } else if (decision.auth === undefined) {
    message.outcome = 'anonymous'
  } else {
    const { auth } = decision
    message.outcome = 'accepted'
    message.issuer = auth.issuer
    message.tenantId = auth.tenantId
    message.clientId = auth.clientId
    message.keyId = auth.header.kid
    message.appOnly = auth.appOnly
  }
  return decision
}

/**
 * Runs a decision inside the validation channel's events, keeping it synchronous when it is:
 * `start`, `end`, and only when `run` hands back a promise, `asyncStart`/`asyncEnd` (or `error`,
 * `asyncStart`, `asyncEnd`) when it settles. `run` gets the message to mark cache hits in.
 *
 * @example
 * ```ts
 * return hasValidationSubscribers() ? traceValidation('decide', issuer, run) : run(undefined)
 * ```
 */
export function traceValidation(
  operation: ValidationMessage['operation'],
  issuer: string | undefined,
  run: (message: ValidationMessage) => Decision | Promise<Decision>,
): Decision | Promise<Decision> {
  const message: ValidationMessage = {
    operation,
    issuer,
    async: false,
    outcome: undefined,
    status: undefined,
    reason: undefined,
    cache: undefined,
    tenantId: undefined,
    clientId: undefined,
    keyId: undefined,
    appOnly: undefined,
  }
  return validation.start.runStores(message, () => {
    let result: Decision | Promise<Decision>
    try {
      result = run(message)
    } catch (error) {
      message.error = error
      validation.error.publish(message)
      validation.end.publish(message)
      throw error
    }
    if (!(result instanceof Promise)) {
      describe(message, result)
      validation.end.publish(message)
      return result
    }
    message.async = true
    validation.end.publish(message)
    return result.then(
      (decision) => settled(validation, message, describe(message, decision)),
      (error) => failed(validation, message, error),
    )
  })
}

/**
 * Runs a key fetch inside the key-fetch channel's events. `run` fills `status`, `keyCount` and
 * `staleKeysServed` in the message; this adds `outcome` and `duration`.
 *
 * @example
 * ```ts
 * const keys = hasKeyFetchSubscribers() ? traceKeyFetch(url, trigger, load) : load(undefined)
 * ```
 */
export function traceKeyFetch<T>(
  url: string,
  trigger: KeyFetchMessage['trigger'],
  run: (message: KeyFetchMessage) => Promise<T>,
): Promise<T> {
  const message: KeyFetchMessage = {
    url,
    trigger,
    outcome: undefined,
    status: undefined,
    duration: undefined,
    keyCount: undefined,
    staleKeysServed: undefined,
  }
  const started = performance.now()
  return keyFetch.start.runStores(message, () => {
    let pending: Promise<T>
    try {
      pending = run(message)
    } finally {
      keyFetch.end.publish(message)
    }
    return pending.then(
      (value) => {
        message.outcome = 'success'
        message.duration = performance.now() - started
        return settled(keyFetch, message, value)
      },
      (error) => {
        message.outcome = 'failure'
        message.duration = performance.now() - started
        return failed(keyFetch, message, error)
      },
    )
  })
}

type Channels<M extends object> = ReturnType<typeof tracingChannel<unknown, M>>

function settled<M extends object, T>(channels: Channels<M>, message: M, value: T): T {
  channels.asyncStart.publish(message)
  channels.asyncEnd.publish(message)
  return value
}

function failed<M extends { error?: unknown }>(
  channels: Channels<M>,
  message: M,
  error: unknown,
): never {
  message.error = error
  channels.error.publish(message)
  channels.asyncStart.publish(message)
  channels.asyncEnd.publish(message)
  throw error
}

/**
 * The two tracing channels, for a subscriber within this package (`bearer-guard/opentelemetry`);
 * anyone else subscribes by name.
 */
export const tracingChannels = Object.freeze({ validation, keyFetch })
