/**
 * The diagnostics_channel tracing channels (issue #14): the events of a validation and of a key
 * fetch, in order, with their messages, subscribed as any tracer would, by name.
 */
import { tracingChannel } from 'node:diagnostics_channel'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  createValidator,
  KEY_FETCH_CHANNEL,
  type KeyFetchMessage,
  VALIDATION_CHANNEL,
} from '../../src/index.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { ecKey, otherRsaKey, rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

type Event = [name: string, snapshot: Record<string, unknown>]

/** The events of a traced call that failed after waiting. */
const FAILED = ['start', 'end', 'error', 'asyncStart', 'asyncEnd']

/** Subscribes to every event of a tracing channel; each event is recorded with a copy of its message. */
function record(name: string): { events: Event[]; stop(): void } {
  const channel = tracingChannel<unknown, object>(name)
  const events: Event[] = []
  const on = (event: string) => (message: object) => {
    events.push([event, { ...message }])
  }
  const handlers = {
    start: on('start'),
    end: on('end'),
    asyncStart: on('asyncStart'),
    asyncEnd: on('asyncEnd'),
    error: on('error'),
  }
  channel.subscribe(handlers)
  return { events, stop: () => channel.unsubscribe(handlers) }
}

const request = (token?: string) => ({
  method: 'GET',
  url: '/orders',
  rawHeaders: token === undefined ? [] : ['Authorization', `Bearer ${token}`],
})

let server: JwksServer
const stops: (() => void)[] = []
beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  server = await startJwksServer({ keys: [rsaKey, ecKey] })
})
afterEach(() => {
  for (const stop of stops.splice(0)) stop()
  server.setMode('ok')
  server.setKeys([rsaKey, ecKey])
})
afterAll(async () => {
  vi.useRealTimers()
  await server.close()
})

/** The message of each decision as made: at `end` when it did not wait, else at `asyncEnd`. */
function finals(events: Event[]): Record<string, unknown>[] {
  return events
    .filter(([name, message]) => name === 'asyncEnd' || (name === 'end' && message.async === false))
    .map(([, message]) => message)
}

const remote = (options: { cooldownDuration?: number } = {}) =>
  createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: server.jwksUri, ...options })
const local = () => createValidator({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })

function subscribe(name: string) {
  const recorder = record(name)
  stops.push(recorder.stop)
  return recorder.events
}

describe(VALIDATION_CHANNEL, () => {
  it('publishes a decision that waits for keys as start, end (async), asyncStart, asyncEnd', async () => {
    const events = subscribe(VALIDATION_CHANNEL)
    const validator = remote()
    const token = await mintToken({ claims: { tid: 'tenant-1' } })
    const pending = validator.decide(request(token))
    expect(pending).toBeInstanceOf(Promise)
    expect(events.map(([name]) => name)).toEqual(['start', 'end'])
    expect(events[1]?.[1]).toMatchObject({ async: true, outcome: undefined, cache: 'miss' })
    const decision = await pending
    expect(decision.auth?.subject).toBe('user-123')
    expect(events.map(([name]) => name)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    expect(events[3]?.[1]).toEqual({
      operation: 'decide',
      issuer: ISSUER,
      async: true,
      outcome: 'accepted',
      status: undefined,
      reason: undefined,
      cache: 'miss',
      tenantId: 'tenant-1',
      clientId: 'client-abc',
      keyId: 'rsa-1',
      appOnly: false,
    })
  })

  it('keeps a cache hit synchronous: start and end only, cache "hit"', async () => {
    const validator = local()
    await validator.warmUp()
    const token = await mintToken()
    const events = subscribe(VALIDATION_CHANNEL)
    const first = validator.decide(request(token))
    const second = validator.decide(request(token))
    expect(first).not.toBeInstanceOf(Promise)
    expect(second).not.toBeInstanceOf(Promise)
    expect(events.map(([name, message]) => [name, message.cache, message.async])).toEqual([
      ['start', undefined, false],
      ['end', 'miss', false],
      ['start', undefined, false],
      ['end', 'hit', false],
    ])
    expect(events[3]?.[1]).toMatchObject({ outcome: 'accepted', keyId: 'rsa-1' })
  })

  it('carries a rejection as its status and reason, with no token-derived field', async () => {
    const validator = local()
    await validator.warmUp()
    const events = subscribe(VALIDATION_CHANNEL)
    const expired = await mintToken({
      claims: { exp: NOW - 3600, iat: NOW - 7200, nbf: NOW - 7200 },
    })
    const wrongAudience = await mintToken({ claims: { aud: 'api://other' } })
    for (const token of [expired, wrongAudience]) {
      const decision = validator.decide(request(token))
      expect(decision instanceof Promise ? await decision : decision).toMatchObject({
        error: { status: 401 },
      })
    }
    validator.decide(request())
    const ends = finals(events)
    expect(ends.map((message) => [message.outcome, message.status, message.reason])).toEqual([
      ['rejected', 401, 'expired'],
      ['rejected', 401, 'wrong_audience'],
      ['rejected', 401, 'missing_token'],
    ])
    for (const message of ends) {
      expect(message).toMatchObject({ clientId: undefined, keyId: undefined, tenantId: undefined })
    }
    // No credentials: no token was read, so no cache lookup either.
    expect(ends[2]?.cache).toBeUndefined()
  })

  it('records no cache lookup for a header whose token has characters outside b64token (400)', () => {
    const validator = local()
    const events = subscribe(VALIDATION_CHANNEL)
    for (const value of ['Bearer abc$def', 'Bearer a.b.c"', 'Bearer ab,cd']) {
      const decision = validator.decide({
        method: 'GET',
        url: '/',
        rawHeaders: ['Authorization', value],
      })
      expect(decision).toMatchObject({ error: { status: 400 } })
    }
    const ends = finals(events)
    expect(ends.map((message) => [message.outcome, message.status, message.cache])).toEqual([
      ['rejected', 400, undefined],
      ['rejected', 400, undefined],
      ['rejected', 400, undefined],
    ])
  })

  it('says "anonymous" for a request without credentials when none are required', () => {
    const validator = local()
    const events = subscribe(VALIDATION_CHANNEL)
    expect(validator.decide(request(), { credentialsRequired: false })).toMatchObject({
      auth: undefined,
      error: undefined,
    })
    expect(events.at(-1)?.[1]).toMatchObject({ outcome: 'anonymous', async: false })
  })

  it('traces verify and authenticate as well, naming the operation', async () => {
    const validator = local()
    const token = await mintToken()
    const events = subscribe(VALIDATION_CHANNEL)
    await validator.verify(token)
    await validator.authenticate(`Bearer ${token}`)
    await expect(validator.authenticate('Basic abc')).rejects.toMatchObject({ status: 401 })
    const ends = finals(events)
    expect(ends.map((message) => [message.operation, message.outcome, message.cache])).toEqual([
      ['verify', 'accepted', 'miss'],
      ['authenticate', 'accepted', 'hit'],
      ['authenticate', 'rejected', undefined],
    ])
  })

  it('publishes a thrown error (an issuer predicate that throws) on error, then asyncStart and asyncEnd', async () => {
    const validator = createValidator({
      issuer: () => Promise.reject(new TypeError('predicate failed')),
      audience: AUDIENCE,
      keys: toJwks(rsaKey),
    })
    const events = subscribe(VALIDATION_CHANNEL)
    const decision = validator.decide(request(await mintToken()))
    await expect(decision).rejects.toThrow('predicate failed')
    expect(events.map(([name]) => name)).toEqual(FAILED)
    expect(events[2]?.[1].error).toBeInstanceOf(TypeError)
    expect(events[2]?.[1].outcome).toBeUndefined()
  })

  it('publishes nothing once unsubscribed, and decides the same', async () => {
    const validator = local()
    const token = await mintToken()
    const recorder = record(VALIDATION_CHANNEL)
    await validator.verify(token)
    const seen = recorder.events.length
    expect(seen).toBeGreaterThan(0)
    recorder.stop()
    expect(tracingChannel(VALIDATION_CHANNEL).hasSubscribers).toBe(false)
    expect(validator.decide(request(token))).toMatchObject({ auth: { subject: 'user-123' } })
    expect(recorder.events).toHaveLength(seen)
  })

  it('never puts the token or a personal claim in a message', async () => {
    const token = await mintToken({
      claims: {
        sub: 'sub-SECRET-7f3a',
        oid: 'oid-SECRET-1c9e',
        upn: 'upn-SECRET@contoso.example',
        name: 'Name SECRET Person',
        preferred_username: 'pref-SECRET@contoso.example',
        email: 'mail-SECRET@contoso.example',
      },
    })
    const validator = remote()
    const events = subscribe(VALIDATION_CHANNEL)
    const decision = await validator.decide(request(token))
    expect(decision.auth?.claims.oid).toBe('oid-SECRET-1c9e')
    validator.decide(request(token))
    expect(events.length).toBe(6)
    for (const [, message] of events) {
      const text = JSON.stringify(message)
      expect(text).not.toContain('SECRET')
      expect(text).not.toContain(token.split('.')[1])
    }
  })
})

describe(KEY_FETCH_CHANNEL, () => {
  it('publishes a fetch with its URL, trigger, status, key count and duration', async () => {
    const events = subscribe(KEY_FETCH_CHANNEL)
    const validator = remote()
    await validator.warmUp()
    expect(events.map(([name]) => name)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    expect(events[0]?.[1]).toMatchObject({ url: server.jwksUri, trigger: 'initial' })
    const message = events[3]?.[1] as unknown as KeyFetchMessage
    expect(message).toMatchObject({
      url: server.jwksUri,
      trigger: 'initial',
      outcome: 'success',
      status: 200,
      keyCount: 2,
      staleKeysServed: undefined,
    })
    expect(message.duration).toBeGreaterThanOrEqual(0)
  })

  it('publishes an outage on error: status, failure, whether stale keys keep serving', async () => {
    const validator = remote({ cooldownDuration: 0 })
    const events = subscribe(KEY_FETCH_CHANNEL)
    server.setMode('down')
    await expect(validator.warmUp()).rejects.toMatchObject({ status: 503 })
    expect(events.map(([name]) => name)).toEqual(FAILED)
    expect(events[2]?.[1]).toMatchObject({
      outcome: 'failure',
      status: 500,
      staleKeysServed: false,
      trigger: 'initial',
    })
    expect(String(events[2]?.[1].error)).toContain('answered HTTP 500')
    // Keys loaded, then the issuer fails again on a refetch for an unknown kid: stale keys serve.
    server.setMode('ok')
    await validator.warmUp()
    server.setMode('down')
    const rotated = await mintToken({ key: otherRsaKey })
    expect(await validator.decide(request(rotated))).toMatchObject({ error: { status: 503 } })
    expect(events.at(-1)?.[1]).toMatchObject({
      outcome: 'failure',
      trigger: 'unknown_kid',
      staleKeysServed: true,
    })
  })

  it('names the JWKS URL a discovery document gave', async () => {
    const events = subscribe(KEY_FETCH_CHANNEL)
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      discoveryUrl: server.discoveryUrl,
    })
    await validator.warmUp()
    expect(events[0]?.[1].url).toBe(server.discoveryUrl)
    expect(events.at(-1)?.[1]).toMatchObject({ url: server.jwksUri, outcome: 'success' })
  })
})
