/**
 * Issuer faults over real HTTP: an Express app protected by `authenticate()`, a real local JWKS
 * server that can go down, hang, answer garbage or rotate keys, and a fake `Date` (sockets and
 * fetch time-outs keep real timers). Each row of the issue 6 table is one test, with the answer
 * bearer-guard must give:
 *
 * | fault                                          | bearer-guard must                           |
 * | ---------------------------------------------- | ------------------------------------------- |
 * | issuer down, cache past max-age, 10 requests   | 10/10 served                                |
 * | issuer hangs, cold cache                       | 503 + Retry-After within the timeout        |
 * | issuer hangs, stale cache                      | 200 at once, refresh in the background      |
 * | 1,000 unknown kids in 10 s                     | at most 1 fetch, all 401                    |
 * | issuer back after an outage                    | the first request after it returns served   |
 */

import type { IncomingHttpHeaders } from 'node:http'
import { Agent, createServer, get, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { authenticate } from '../../adapters/express.js'
import { type BearerGuardEvent, createValidator, type ValidatorOptions } from '../../src/index.js'
import {
  HUGE_BODY_BYTES,
  type JwksMode,
  type JwksServer,
  REDIRECT_PATH,
  startJwksServer,
} from '../helpers/jwks-server.js'
import { ecKey, otherRsaKey, rsaKey } from '../helpers/keys.js'
import { AUDIENCE, b64url, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

const T0 = NOW * 1000
const UNKNOWN_KEY =
  'Bearer realm="api", error="invalid_token", error_description="no key of the issuer matches the kid and alg of the token"'

interface Answer {
  status: number
  retryAfter: string | null
  challenge: string | null
  subject: string | undefined
  /** Real milliseconds from sending the request to reading the whole answer. */
  elapsed: number
}

interface App {
  get(token: string): Promise<Answer>
  readonly events: BearerGuardEvent[]
  close(): Promise<void>
}

let jwks: JwksServer
const apps: App[] = []
/** Every token sent in the current test: none may show up in an event. */
const sent = new Set<string>()
/** Tokens signed by rsaKey, ecKey and otherRsaKey; each `fresh*()` call gives a new string. */
let serial = 0
const freshRsa = () => mintToken({ claims: { jti: `rsa-${serial++}` } })
const freshEc = () => mintToken({ key: ecKey, claims: { jti: `ec-${serial++}` } })
const freshRsa2 = () => mintToken({ key: otherRsaKey, claims: { jti: `rsa2-${serial++}` } })

/** A token whose header names `kid`; its lookup fails before any signature check. */
function withKid(token: string, kid: string): string {
  const [, payload, signature] = token.split('.')
  return `${b64url(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT' }))}.${payload}.${signature}`
}

// Keep-alive with a few sockets: a burst of 1,000 requests reuses connections.
const agent = new Agent({ keepAlive: true, maxSockets: 16 })

/**
 * An Express 5 app with its default error handler (finalhandler answers from `err.status` and
 * `err.headers`), listening on 127.0.0.1, protected by a validator on the JWKS server. In the
 * `test` env finalhandler writes `err.stack` into the body and logs nothing.
 */
async function startApp(options: Partial<ValidatorOptions> = {}): Promise<App> {
  const events: BearerGuardEvent[] = []
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: jwks.jwksUri,
    onEvent: (event) => events.push(event),
    ...options,
  } as ValidatorOptions)
  const app = express()
  app.set('env', 'test')
  app.get('/orders', authenticate(validator), (req, res) => {
    res.json({ subject: req.auth?.subject })
  })
  const server: Server = createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const handle: App = {
    events,
    async get(token) {
      sent.add(token)
      const started = performance.now()
      const res = await new Promise<{ status: number; headers: IncomingHttpHeaders; text: string }>(
        (resolve, reject) => {
          get(`${origin}/orders`, { agent, headers: { authorization: `Bearer ${token}` } }, (r) => {
            const chunks: Buffer[] = []
            r.on('data', (chunk: Buffer) => chunks.push(chunk))
            r.on('end', () =>
              resolve({
                status: r.statusCode ?? 0,
                headers: r.headers,
                text: Buffer.concat(chunks).toString('utf8'),
              }),
            )
            r.on('error', reject)
          }).on('error', reject)
        },
      )
      const elapsed = performance.now() - started
      let subject: string | undefined
      if (res.status === 200) subject = (JSON.parse(res.text) as { subject?: string }).subject
      // An expected rejection never shows the token or a stack trace, even in a non-production app.
      expect(res.text).not.toContain(token)
      expect(res.text).not.toMatch(/^\s*at .+:\d+:\d+\)?$/m)
      return {
        status: res.status,
        retryAfter: (res.headers['retry-after'] as string | undefined) ?? null,
        challenge: (res.headers['www-authenticate'] as string | undefined) ?? null,
        subject,
        elapsed,
      }
    },
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
  apps.push(handle)
  return handle
}

/** Moves the fake clock to `ms` after T0. */
function at(ms: number): void {
  vi.setSystemTime(T0 + ms)
}

/**
 * Polls `check` on real timers until it passes. Not `vi.waitFor`: with fake timers on, that
 * advances the fake clock at every poll, which would move the instants these tests pin down.
 */
async function waitFor(check: () => void, timeout = 3_000): Promise<void> {
  const end = performance.now() + timeout
  for (;;) {
    try {
      check()
      return
    } catch (error) {
      if (performance.now() > end) throw error
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}

/** The 503 an outage gives: Retry-After, no challenge (not the client's fault). */
function expectUnavailable(answer: Answer, retryAfter: string): void {
  expect(answer).toMatchObject({ status: 503, retryAfter, challenge: null })
}

function lastFailure(app: App) {
  return app.events.filter((event) => event.type === 'keys_refresh_failed').at(-1)
}

beforeAll(async () => {
  jwks = await startJwksServer({ keys: [rsaKey, ecKey] })
})
afterAll(async () => {
  agent.destroy()
  await jwks.close()
})
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  at(0)
  jwks.setMode('ok')
  jwks.setDelay(0)
  jwks.setKeys([rsaKey, ecKey])
  jwks.resetHits()
})
afterEach(async () => {
  vi.useRealTimers()
  // Observability (issue 6): events never carry a token or a signature, whatever the fault.
  const text = JSON.stringify(apps.flatMap((app) => app.events))
  const segments = new Set([...sent].flatMap((token) => token.split('.')))
  for (const segment of segments) {
    if (segment.length >= 16) expect(text).not.toContain(segment)
  }
  sent.clear()
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

describe('issuer faults over HTTP (issue 6 table)', () => {
  it('issuer down, cache past max-age: serves 10 of 10 valid requests, with one refresh attempt', async () => {
    const app = await startApp({ cacheMaxAge: 60_000, tokenCache: false })
    expect((await app.get(await freshRsa())).status).toBe(200)
    jwks.setMode('down')
    at(61_000)
    const tokens = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? freshRsa() : freshEc())),
    )
    const answers = []
    for (const token of tokens) answers.push(await app.get(token))
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200))
    expect(answers.map((answer) => answer.subject)).toEqual(Array(10).fill('user-123'))
    await waitFor(() =>
      expect(lastFailure(app)).toEqual({
        type: 'keys_refresh_failed',
        message: `${jwks.jwksUri} answered HTTP 500`,
        servingStaleKeys: true,
        trigger: 'background',
      }),
    )
    // The clock stood still: a failed background refresh is retried after a pause, not per request.
    expect(jwks.hits).toBe(2)
  })

  it('issuer hangs, cold cache: answers 503 with Retry-After within about timeoutDuration', async () => {
    jwks.setMode('hang')
    const app = await startApp({ timeoutDuration: 300 })
    const answers = await Promise.all([app.get(await freshRsa()), app.get(await freshEc())])
    for (const answer of answers) {
      expectUnavailable(answer, '1')
      expect(answer.elapsed).toBeGreaterThanOrEqual(250)
      expect(answer.elapsed).toBeLessThan(2_000)
    }
    // Both requests waited on the one fetch.
    expect(jwks.hits).toBe(1)
    expect(lastFailure(app)).toEqual({
      type: 'keys_refresh_failed',
      message: `${jwks.jwksUri} did not answer within 300 ms`,
      servingStaleKeys: false,
      trigger: 'initial',
    })
  })

  it('issuer hangs, stale cache: answers 200 at once and refreshes in the background', async () => {
    const app = await startApp({ cacheMaxAge: 60_000, timeoutDuration: 300, tokenCache: false })
    expect((await app.get(await freshRsa())).status).toBe(200)
    jwks.setMode('hang')
    at(61_000)
    const tokens = [await freshRsa(), await freshEc(), await freshRsa()]
    for (const token of tokens) {
      const answer = await app.get(token)
      expect(answer.status).toBe(200)
      // Well under the 300 ms the hanging refresh takes to fail.
      expect(answer.elapsed).toBeLessThan(150)
    }
    await waitFor(() =>
      expect(lastFailure(app)).toMatchObject({
        servingStaleKeys: true,
        trigger: 'background',
        message: `${jwks.jwksUri} did not answer within 300 ms`,
      }),
    )
    expect(jwks.hits).toBe(2)
    expect((await app.get(await freshEc())).status).toBe(200)
  })

  it('1,000 unknown kids within 10 s: at most one fetch, every one a 401 invalid_token', async () => {
    const app = await startApp()
    expect((await app.get(await freshRsa())).status).toBe(200)
    // Past the cooldown: an unknown kid may now cause one refresh, and only one.
    at(31_000)
    const base = await freshRsa()
    const answers: Answer[] = []
    for (let wave = 0; wave < 10; wave++) {
      at(31_000 + wave * 1_000)
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, (_, i) => app.get(withKid(base, `rotated-${wave}-${i}`))),
        )),
      )
    }
    expect(answers).toHaveLength(1_000)
    expect(new Set(answers.map((answer) => answer.status))).toEqual(new Set([401]))
    expect(new Set(answers.map((answer) => answer.challenge))).toEqual(new Set([UNKNOWN_KEY]))
    expect(jwks.hits).toBe(2)
    // Good tokens are still served.
    expect((await app.get(await freshEc())).status).toBe(200)
    expect(jwks.hits).toBe(2)
  })

  it('200 unknown kids at once at a cold start: one fetch, every one a 401 invalid_token', async () => {
    const app = await startApp()
    const base = await freshRsa()
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => app.get(withKid(base, `cold-${i}`))),
    )
    expect(new Set(answers.map((answer) => answer.challenge))).toEqual(new Set([UNKNOWN_KEY]))
    expect(new Set(answers.map((answer) => answer.status))).toEqual(new Set([401]))
    expect(jwks.hits).toBe(1)
  })

  it('issuer back after an outage at start-up: the first request after it returns is served', async () => {
    jwks.setMode('down')
    const app = await startApp()
    const token = await freshRsa()
    expectUnavailable(await app.get(token), '5')
    expectUnavailable(await app.get(token), '5')
    jwks.setMode('ok')
    // Same instant: no back-off delays the recovery.
    expect(await app.get(token)).toMatchObject({ status: 200, subject: 'user-123' })
  })

  it('issuer back after an outage past maxStaleAge: the first request after it returns is served', async () => {
    const app = await startApp({ cacheMaxAge: 10_000, maxStaleAge: 20_000 })
    const token = await freshRsa()
    expect((await app.get(token)).status).toBe(200)
    jwks.setMode('down')
    at(25_000)
    expectUnavailable(await app.get(token), '5')
    jwks.setMode('ok')
    expect((await app.get(token)).status).toBe(200)
    expect((await app.get(await freshEc())).status).toBe(200)
  })
})

describe('issuer faults over HTTP: start-up, outage window, bad answers', () => {
  it('down at start-up: 503 with Retry-After and no challenge, then recovers by itself', async () => {
    jwks.setMode('down')
    const app = await startApp({ timeoutDuration: 2_000 })
    const answer = await app.get(await freshRsa())
    expectUnavailable(answer, '2')
    expect(lastFailure(app)).toMatchObject({ trigger: 'initial', servingStaleKeys: false })
    at(5_000)
    expectUnavailable(await app.get(await freshEc()), '2')
    jwks.setMode('ok')
    at(6_000)
    expect((await app.get(await freshRsa())).status).toBe(200)
    expect((await app.get(await freshEc())).status).toBe(200)
    expect(jwks.hits).toBe(3)
  })

  it('down after warm-up: serves on the last good keys through maxStaleAge, then 503', async () => {
    const app = await startApp({ cacheMaxAge: 10_000, maxStaleAge: 60_000, tokenCache: false })
    const failures = () => app.events.filter((event) => event.type === 'keys_refresh_failed')
    expect((await app.get(await freshRsa())).status).toBe(200)
    jwks.setMode('down')
    // Each request is served at once; after a failed background refresh the next one waits for
    // cooldownDuration (30 s by default).
    for (const [ms, failed] of [
      [10_001, 1],
      [40_000, 1],
      [40_001, 2],
      [60_000, 2],
    ] as const) {
      at(ms)
      expect((await app.get(await freshEc())).status).toBe(200)
      await waitFor(() => expect(failures()).toHaveLength(failed))
    }
    expect(
      failures().every((event) => event.servingStaleKeys && event.trigger === 'background'),
    ).toBe(true)
    expect(jwks.hits).toBe(3)
    at(60_001)
    expectUnavailable(await app.get(await freshRsa()), '5')
    expect(lastFailure(app)).toMatchObject({ servingStaleKeys: false, trigger: 'expired' })
    at(90_000)
    expectUnavailable(await app.get(await freshEc()), '5')
    jwks.setMode('ok')
    expect((await app.get(await freshEc())).status).toBe(200)
  })

  it('down after warm-up: a token answered before is refused too once maxStaleAge has passed', async () => {
    const app = await startApp({ cacheMaxAge: 10_000, maxStaleAge: 60_000 })
    const token = await freshRsa()
    expect((await app.get(token)).status).toBe(200)
    jwks.setMode('down')
    at(59_000)
    expect((await app.get(token)).status).toBe(200)
    at(61_000)
    expectUnavailable(await app.get(token), '5')
  })

  it.each([
    ['500s', 'down', 'answered HTTP 500'],
    ['invalid JSON', 'garbage', 'did not answer with JSON'],
    ['a huge body', 'huge', 'the response is larger than 524288 bytes'],
    ['a redirect', 'redirect', 'answered with a redirect (HTTP 302), which is refused'],
    ['a 404', 'not-found', 'answered HTTP 404'],
    ['an empty key set', 'empty', 'the JSON Web Key Set holds no usable public signing key'],
    // The reason from fetch's cause, not fetch's bare "fetch failed" (issue #13).
    ['a dropped connection', 'refuse', 'could not be fetched: UND_ERR_SOCKET (other side closed)'],
  ] as [string, JwksMode, string][])(
    '%s at a cold start: 503 with Retry-After, then served once the issuer is well',
    async (_, mode, message) => {
      jwks.setMode(mode)
      const app = await startApp()
      const answer = await app.get(await freshRsa())
      expectUnavailable(answer, '5')
      expect(answer.elapsed).toBeLessThan(3_000)
      expect(lastFailure(app)).toMatchObject({ trigger: 'initial', servingStaleKeys: false })
      expect((lastFailure(app) as { message: string }).message).toContain(message)
      // Redirects are refused: the redirect target, which would serve keys, is never asked.
      expect(jwks.requests.map((request) => request.path)).not.toContain(REDIRECT_PATH)
      jwks.setMode('ok')
      expect((await app.get(await freshRsa())).status).toBe(200)
    },
  )

  it.each([
    ['500s', 'down'],
    ['invalid JSON', 'garbage'],
    ['a huge body', 'huge'],
    ['a redirect', 'redirect'],
    ['an empty key set', 'empty'],
    ['a key set of the wrong shape', 'wrong-shape'],
  ] as [string, JwksMode][])(
    '%s on a refresh: keeps serving the last good keys',
    async (_, mode) => {
      const app = await startApp({ cacheMaxAge: 10_000, tokenCache: false })
      expect((await app.get(await freshRsa())).status).toBe(200)
      jwks.setMode(mode)
      at(10_000)
      expect((await app.get(await freshRsa())).status).toBe(200)
      await waitFor(() => expect(lastFailure(app)).toMatchObject({ servingStaleKeys: true }), 5_000)
      at(20_000)
      expect((await app.get(await freshEc())).status).toBe(200)
      expect((await app.get(await freshRsa())).status).toBe(200)
    },
  )

  it('reads no more than maxResponseSize of a huge body', async () => {
    jwks.setMode('huge')
    const app = await startApp({ maxResponseSize: 4_096 })
    const answer = await app.get(await freshRsa())
    expectUnavailable(answer, '5')
    expect(HUGE_BODY_BYTES).toBeGreaterThan(1_000_000)
    expect((lastFailure(app) as { message: string }).message).toBe(
      'the response is larger than 4096 bytes',
    )
  })
})

describe('issuer faults over HTTP: rotation', () => {
  it('a key removed: its tokens are rejected after the next refresh, not before', async () => {
    const app = await startApp({ cacheMaxAge: 60_000 })
    const token = await freshRsa()
    expect((await app.get(token)).status).toBe(200)
    jwks.setKeys([ecKey])
    at(30_000)
    // Before the refresh, the key is still trusted.
    expect((await app.get(token)).status).toBe(200)
    expect((await app.get(await freshRsa())).status).toBe(200)
    at(61_000)
    // This request starts the background refresh and is answered from the keys in hand.
    expect((await app.get(await freshEc())).status).toBe(200)
    await waitFor(() =>
      expect(app.events.at(-1)).toEqual({
        type: 'keys_rotated',
        added: [],
        removed: ['rsa-1'],
      }),
    )
    const again = await app.get(token)
    expect(again).toMatchObject({ status: 401, challenge: UNKNOWN_KEY })
    expect(await app.get(await freshRsa())).toMatchObject({ status: 401, challenge: UNKNOWN_KEY })
    expect((await app.get(await freshEc())).status).toBe(200)
    expect(jwks.hits).toBe(2)
  })

  it('a key rotated in: its first token after the cooldown is accepted with exactly one refresh', async () => {
    const app = await startApp()
    expect((await app.get(await freshRsa())).status).toBe(200)
    jwks.setKeys([rsaKey, ecKey, otherRsaKey])
    at(30_001)
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => app.get(await freshRsa2())),
    )
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200))
    expect(jwks.hits).toBe(2)
    expect(app.events.filter((event) => event.type === 'keys_rotated')).toEqual([
      { type: 'keys_rotated', added: ['rsa-2'], removed: [] },
    ])
  })

  it('a key rotated in within the cooldown: refused until the cooldown ends, then one refresh', async () => {
    const app = await startApp({ cooldownDuration: 10_000 })
    expect((await app.get(await freshRsa())).status).toBe(200)
    jwks.setKeys([rsaKey, ecKey, otherRsaKey])
    at(5_000)
    const early = await freshRsa2()
    expect(await app.get(early)).toMatchObject({ status: 401, challenge: UNKNOWN_KEY })
    expect(jwks.hits).toBe(1)
    at(10_001)
    expect((await app.get(early)).status).toBe(200)
    expect(jwks.hits).toBe(2)
  })

  it('a key rotated in is picked up by the background refresh, before any of its tokens', async () => {
    const app = await startApp({ cacheMaxAge: 60_000 })
    expect((await app.get(await freshRsa())).status).toBe(200)
    jwks.setKeys([rsaKey, ecKey, otherRsaKey])
    at(55_000)
    expect((await app.get(await freshEc())).status).toBe(200)
    await waitFor(() => expect(jwks.hits).toBe(2))
    await waitFor(() => expect(app.events.at(-1)).toMatchObject({ type: 'keys_rotated' }))
    expect((await app.get(await freshRsa2())).status).toBe(200)
    expect(jwks.hits).toBe(2)
  })

  it('an unknown kid while the issuer hangs: answered within the timeout; known kids at once', async () => {
    const app = await startApp({ timeoutDuration: 300 })
    expect((await app.get(await freshRsa())).status).toBe(200)
    jwks.setMode('hang')
    at(31_000)
    const [unknown, known] = await Promise.all([
      app.get(withKid(await freshRsa(), 'brand-new')),
      (async () => {
        // Sent while the refresh for the unknown kid hangs.
        await new Promise((resolve) => setTimeout(resolve, 50))
        return app.get(await freshEc())
      })(),
    ])
    expect(unknown.elapsed).toBeLessThan(2_000)
    expect([401, 503]).toContain(unknown.status)
    expect(known.status).toBe(200)
    expect(known.elapsed).toBeLessThan(150)
  })
})
