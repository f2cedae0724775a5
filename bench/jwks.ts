/**
 * JWKS fetches under pressure, counted at the benchmarks' own JWKS endpoint (which answers after
 * 50 ms, so that concurrent requests really overlap a fetch):
 * - cold start: 500 concurrent verifications of distinct valid tokens by a client with no keys;
 * - 1,000 tokens with unknown `kid`s in one burst, right after the keys were loaded, and again
 *   once the refetch cooldown (set to 1 s where a client has one) has passed.
 *
 *   npm run bench:jwks
 */
import { randomBytes } from 'node:crypto'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import jwksRsa from 'jwks-rsa'
import { createValidator } from '../src/index.js'
import { startJwksServer } from './lib/jwks-server.js'
import { createBenchKeys, toJwks } from './lib/keys.js'
import { prepareProcess, writeSection } from './lib/results.js'
import { AUDIENCE, entraClaims, ISSUER, mintPool, mintToken } from './lib/tokens.js'
import { writeReport } from './report.js'

prepareProcess()

const CONCURRENT = 500
const UNKNOWN_KIDS = 1_000
const DELAY_MS = 50
const COOLDOWN_MS = 1_000
/** A burst is cut off after this long; what is still pending is reported as pending. */
const TIME_LIMIT_MS = 10_000

type Verify = (token: string) => Promise<unknown>

interface Client {
  readonly id: string
  readonly label: string
  /** A fresh client (no keys yet); `cooldown` in ms where the client has that setting. */
  create(jwksUri: string, cooldown?: number): Verify
}

function jwksRsaVerify(client: jwksRsa.JwksClient): Verify {
  return async (token) => {
    const decoded = jsonwebtoken.decode(token, { complete: true })
    const key = await client.getSigningKey(decoded?.header.kid)
    return jsonwebtoken.verify(token, key.getPublicKey(), {
      algorithms: ['RS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
    })
  }
}

const CLIENTS: readonly Client[] = [
  {
    id: 'bearer-guard',
    label: 'bearer-guard (`jwksUri`)',
    create(jwksUri, cooldown) {
      const validator = createValidator({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri,
        ...(cooldown === undefined ? {} : { cooldownDuration: cooldown }),
      })
      return (token) => validator.verify(token)
    },
  },
  {
    id: 'jose',
    label: 'jose `createRemoteJWKSet` (also inside express-oauth2-jwt-bearer)',
    create(jwksUri, cooldown) {
      const keys = createRemoteJWKSet(
        new URL(jwksUri),
        cooldown === undefined ? {} : { cooldownDuration: cooldown },
      )
      return (token) => jwtVerify(token, keys, { issuer: ISSUER, audience: AUDIENCE })
    },
  },
  {
    id: 'jwks-rsa',
    label: 'jwks-rsa, defaults (`cache: true`)',
    create(jwksUri) {
      return jwksRsaVerify(jwksRsa({ jwksUri }))
    },
  },
  {
    id: 'jwks-rsa-rate-limited',
    label: 'jwks-rsa, `rateLimit: true` (10 per minute), as express-jwt and koa-jwt show it',
    create(jwksUri) {
      return jwksRsaVerify(
        jwksRsa({ jwksUri, cache: true, rateLimit: true, jwksRequestsPerMinute: 10 }),
      )
    },
  },
]

interface Outcome {
  client: string
  fetches: number
  accepted: number
  rejected: number
  pending: number
  ms: number
}

/**
 * Starts every verification at once and counts outcomes when all settled, or at the time limit:
 * a client that queues requests (jwks-rsa's rate limiter waits for the next minute) leaves some
 * pending, and those are reported as such.
 */
async function burst(verify: Verify, tokens: readonly string[], fetches: () => number) {
  const started = performance.now()
  let accepted = 0
  let rejected = 0
  const all = Promise.all(
    tokens.map((token) =>
      verify(token).then(
        () => {
          accepted++
        },
        () => {
          rejected++
        },
      ),
    ),
  )
  let timer: NodeJS.Timeout | undefined
  await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, TIME_LIMIT_MS)))])
  clearTimeout(timer)
  return {
    fetches: fetches(),
    accepted,
    rejected,
    pending: tokens.length - accepted - rejected,
    ms: performance.now() - started,
  }
}

export async function runJwks(): Promise<Record<string, unknown>> {
  const startedAt = new Date().toISOString()
  const keys = createBenchKeys()
  const server = await startJwksServer(toJwks(keys.rsa), { delayMs: DELAY_MS })
  const valid = mintPool(keys.rsa, CONCURRENT)
  const now = Math.floor(Date.now() / 1000)
  const unknown = Array.from({ length: UNKNOWN_KIDS }, () =>
    mintToken(keys.rsa, entraClaims(now, randomBytes(24)), randomBytes(20).toString('base64url')),
  )
  const scenarios: { id: string; label: string; outcomes: Outcome[] }[] = [
    { id: 'cold-start', label: `cold start, ${CONCURRENT} concurrent valid tokens`, outcomes: [] },
    {
      id: 'unknown-kids',
      label: `${UNKNOWN_KIDS} unknown kids in one burst, right after the keys were loaded`,
      outcomes: [],
    },
    {
      id: 'unknown-kids-after-cooldown',
      label: `${UNKNOWN_KIDS} unknown kids in one burst, after a ${COOLDOWN_MS} ms cooldown passed`,
      outcomes: [],
    },
  ]
  const [cold, unknownNow, unknownLater] = scenarios as [
    (typeof scenarios)[0],
    (typeof scenarios)[0],
    (typeof scenarios)[0],
  ]
  // Each client instance reads the keys from its own URL (`?client=N`), so fetches that a queued
  // client makes later are never counted against another one.
  let instances = 0
  const fresh = (client: Client, cooldown?: number) => {
    const query = `?client=${++instances}`
    return {
      verify: client.create(`${server.jwksUri}${query}`, cooldown),
      fetches: () => server.hitsOf(query),
    }
  }
  try {
    for (const client of CLIENTS) {
      const coldClient = fresh(client)
      cold.outcomes.push({
        client: client.id,
        ...(await burst(coldClient.verify, valid, coldClient.fetches)),
      })

      const warm = fresh(client)
      await warm.verify(valid[0] as string)
      const warmFetches = warm.fetches()
      unknownNow.outcomes.push({
        client: client.id,
        ...(await burst(warm.verify, unknown, () => warm.fetches() - warmFetches)),
      })

      const cooled = fresh(client, COOLDOWN_MS)
      await cooled.verify(valid[0] as string)
      await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 200))
      const cooledFetches = cooled.fetches()
      unknownLater.outcomes.push({
        client: client.id,
        ...(await burst(cooled.verify, unknown, () => cooled.fetches() - cooledFetches)),
      })
      for (const scenario of scenarios) {
        const outcome = scenario.outcomes.at(-1) as Outcome
        console.error(
          `[jwks] ${scenario.id.padEnd(28)} ${client.id.padEnd(22)} fetches ${outcome.fetches}  accepted ${outcome.accepted}  rejected ${outcome.rejected}  pending ${outcome.pending}  ${outcome.ms.toFixed(0)} ms`,
        )
      }
    }
  } finally {
    await server.close()
  }
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    jwksDelayMs: DELAY_MS,
    timeLimitMs: TIME_LIMIT_MS,
    clients: CLIENTS.map(({ id, label }) => ({ id, label })),
    scenarios,
  }
}

const section = await runJwks()
writeSection('jwks', section)
if (process.env.BENCH_SKIP_REPORT !== '1') writeReport()
// jwks-rsa's rate limiter keeps queued requests (and their timers) alive for minutes.
process.exit(0)
