/**
 * In-process CPU cost per token, RS256 (RSA-2048) and ES256, Entra-sized tokens.
 *
 * Every case verifies the same kind of token with the issuer and audience checked, keys prepared
 * in advance (no network): the signature floor, the floor plus decoding, jose, fast-jwt,
 * jsonwebtoken, and bearer-guard with distinct tokens (cache on and off) and a repeated token.
 *
 *   npm run bench:inprocess            (BENCH_QUICK=1 for a short smoke run)
 *
 * While working on the hot path, BENCH_CASES=floor,fast-jwt,bg-distinct and BENCH_ALGS=RS256 run
 * only those cases and algorithms, and print them without writing results.
 */
import { type KeyObject, randomBytes, verify } from 'node:crypto'
import { createVerifier as createFastJwtVerifier } from 'fast-jwt'
import { importJWK, jwtVerify } from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import { type AuthInfo, createValidator, type Validator } from '../src/index.js'
import { type BenchKey, createBenchKeys, toJwks } from './lib/keys.js'
import { type BenchCase, runCases, sink } from './lib/measure.js'
import { prepareProcess, writeSection } from './lib/results.js'
import { AUDIENCE, entraClaims, flat, ISSUER, mintPool, mintToken } from './lib/tokens.js'
import { writeReport } from './report.js'

prepareProcess()

const QUICK = process.env.BENCH_QUICK === '1'
const POOL_SIZE = QUICK ? 3_000 : 20_000
const ROUNDS = QUICK ? 2 : 7
const ROUND_MS = QUICK ? 100 : 250
const ONLY_CASES = process.env.BENCH_CASES?.split(',')
const ONLY_ALGS = process.env.BENCH_ALGS?.split(',')

/** Cycles through a pool; `next()` is the next element. */
function cycle<T>(items: readonly T[]): () => T {
  let index = 0
  return () => {
    const item = items[index] as T
    index = index + 1 === items.length ? 0 : index + 1
    return item
  }
}

/** A synchronous API; `op` answers 0 when the call did not do what the case expects. */
function syncCase(id: string, label: string, op: () => number): BenchCase {
  return {
    id,
    label,
    batch(n) {
      let acc = 0
      for (let i = 0; i < n; i++) {
        const value = op()
        if (value === 0) throw new Error(`${id}: unexpected result`)
        acc += value
      }
      sink.value += acc
    },
  }
}

/**
 * An asynchronous API, awaited once per call as a caller would: `op` hands back the library's
 * own promise, with no extra async function around it.
 */
function asyncCase(
  id: string,
  label: string,
  op: () => Promise<unknown>,
  check: (result: unknown) => boolean,
): BenchCase {
  return {
    id,
    label,
    async batch(n) {
      let acc = 0
      for (let i = 0; i < n; i++) {
        if (!check(await op())) throw new Error(`${id}: unexpected result`)
        acc++
      }
      sink.value += acc
    },
  }
}

/** What every bearer-guard case checks of its result. */
const isAuth = (result: unknown) => (result as AuthInfo).expiresAt instanceof Date

async function staticValidator(key: BenchKey, cache: boolean): Promise<Validator> {
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: toJwks(key),
    ...(cache ? {} : { tokenCache: false as const }),
  })
  await validator.warmUp()
  return validator
}

/**
 * Prefill tokens per ring validator: with the default 1,000 entries, the cache is full after
 * 1,000 and closed to one-off tokens after 3,000 (2 × 1,000 + 1,000 stored unread, src/token-cache.ts).
 */
const PREFILL = 3_000
/** Validators per distinct-token case with the cache on: more than the times a case goes round the pool. */
const RING = QUICK ? 4 : 8

/**
 * The validators of a distinct-token case with the cache on. Each starts as a busy API's does:
 * its cache full and closed to one-off tokens, from `prefill` (tokens outside the pool, never
 * asked for again). The case moves to the next validator each time it goes round the pool, so
 * no validator sees a pool token twice and every call misses. One validator for the whole run
 * would hold some pool tokens when they came back: about 3 % of its calls were hits (measured
 * with 20,000 tokens and 70,000 calls), which flattered the distinct rows by as much.
 */
async function missRing(key: BenchKey, prefill: readonly string[]): Promise<Validator[]> {
  const ring: Validator[] = []
  for (let i = 0; i < RING; i++) {
    const validator = await staticValidator(key, true)
    for (const token of prefill) await validator.verify(token)
    ring.push(validator)
  }
  return ring
}

/**
 * Cycles through `items` and `ring` together: `next()` is the next item, `current()` the ring's
 * member for it; the ring moves on each time the items start again.
 */
function cycleRing<T, R>(items: readonly T[], ring: readonly R[]) {
  let index = 0
  let turn = 0
  let member = ring[0] as R
  return {
    next(): T {
      const item = items[index] as T
      index++
      if (index === items.length) {
        index = 0
        turn = turn + 1 === ring.length ? 0 : turn + 1
        member = ring[turn] as R
      }
      return item
    },
    current(): R {
      return member
    },
  }
}

async function casesFor(
  key: BenchKey,
  pool: readonly string[],
  repeated: string,
  prefill: readonly string[],
) {
  const alg = key.alg
  const hash = 'sha256'
  const verifyKey: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' } =
    alg === 'ES256' ? { key: key.publicKey, dsaEncoding: 'ieee-p1363' } : key.publicKey
  const headers = pool.map((token) => flat(`Bearer ${token}`))
  const repeatedHeader = flat(`Bearer ${repeated}`)
  const repeatedBytes = Buffer.from(repeated, 'latin1')

  const joseKey = await importJWK(key.publicJwk as Parameters<typeof importJWK>[0], alg)
  const fastJwt = createFastJwtVerifier({
    key: key.publicPem,
    algorithms: [alg],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    cache: false,
  })
  const fastJwtCached = createFastJwtVerifier({
    key: key.publicPem,
    algorithms: [alg],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    cache: true,
  })
  const jwtOptions = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE } as const
  const bgDistinct = await missRing(key, prefill)
  const bgNoCache = await staticValidator(key, false)
  const bgDecideDistinct = await missRing(key, prefill)
  const bgRepeated = await staticValidator(key, true)
  const bgAuthDistinct = await missRing(key, prefill)
  const bgAuthRepeated = await staticValidator(key, true)
  const bgFreshString = await staticValidator(key, true)
  // A busy API's cache is full: 999 other tokens besides the repeated one (default size 1,000).
  const bgFull = await staticValidator(key, true)
  for (const token of pool.slice(0, 999)) await bgFull.verify(token)
  // Rejections are never cached: what a flood of expired (or otherwise bad) tokens costs.
  const bgReject = await staticValidator(key, true)
  const expired = mintToken(
    key,
    entraClaims(Math.floor(Date.now() / 1000) - 6 * 3600, randomBytes(24)),
  )
  const rejected = (promise: Promise<unknown>) =>
    promise.then(
      () => false,
      () => true,
    )

  const floor = (token: string): boolean => {
    const end = token.lastIndexOf('.')
    return verify(
      hash,
      Buffer.from(token.slice(0, end), 'latin1'),
      verifyKey,
      Buffer.from(token.slice(end + 1), 'base64url'),
    )
  }
  const decode = (segment: string): Record<string, unknown> =>
    JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))

  const next = () => cycle(pool)
  const cases: BenchCase[] = [
    (() => {
      const token = next()
      return syncCase(
        'floor',
        'floor: `crypto.verify` on the signing input, prepared KeyObject',
        () => (floor(token()) ? 1 : 0),
      )
    })(),
    (() => {
      const token = next()
      return syncCase(
        'floor-decode',
        'floor + base64url decode + JSON.parse of header and payload',
        () => {
          const t = token()
          const first = t.indexOf('.')
          const second = t.indexOf('.', first + 1)
          const header = decode(t.slice(0, first))
          const claims = decode(t.slice(first + 1, second))
          return floor(t) && header.alg === alg ? (claims.exp as number) : 0
        },
      )
    })(),
    (() => {
      const token = next()
      return asyncCase(
        'jose',
        'jose `jwtVerify`, prepared key',
        () => jwtVerify(token(), joseKey, jwtOptions as never),
        (result) => typeof (result as { payload: { exp?: number } }).payload.exp === 'number',
      )
    })(),
    (() => {
      const token = next()
      return syncCase(
        'fast-jwt',
        'fast-jwt verifier, prepared key, cache off',
        () => fastJwt(token()).exp,
      )
    })(),
    syncCase(
      'fast-jwt-hit',
      'fast-jwt verifier with its cache, repeated token',
      () => fastJwtCached(repeated).exp,
    ),
    (() => {
      const token = next()
      return syncCase('jsonwebtoken', 'jsonwebtoken.verify with a KeyObject', () => {
        const payload = jsonwebtoken.verify(token(), key.publicKey, jwtOptions as never)
        return (payload as unknown as { exp: number }).exp
      })
    })(),
    (() => {
      const tokens = cycleRing(pool, bgDistinct)
      return asyncCase(
        'bg-distinct',
        'bearer-guard `verify()`, distinct tokens (cache on, all miss)',
        () => {
          const token = tokens.next()
          return tokens.current().verify(token)
        },
        isAuth,
      )
    })(),
    (() => {
      const token = next()
      return asyncCase(
        'bg-nocache',
        'bearer-guard `verify()`, distinct tokens, cache off',
        () => bgNoCache.verify(token()),
        isAuth,
      )
    })(),
    (() => {
      // What every adapter calls for each request: the core's synchronous path, no promise.
      const requests = cycleRing(headers, bgDecideDistinct)
      return syncCase(
        'bg-decide-distinct',
        'bearer-guard `decide(request)` as the adapters call it, distinct tokens (cache on, all miss)',
        () => {
          const header = requests.next()
          const decision = requests.current().decide({
            method: 'GET',
            url: '/',
            rawHeaders: ['Authorization', header],
          })
          if (decision instanceof Promise || decision.auth === undefined) {
            throw new Error('bg-decide-distinct: the request was not accepted synchronously')
          }
          return decision.auth.expiresAt.getTime()
        },
      )
    })(),
    asyncCase(
      'bg-hit',
      'bearer-guard `verify()`, repeated token (cache hit)',
      () => bgRepeated.verify(repeated),
      isAuth,
    ),
    asyncCase(
      'bg-hit-full',
      'bearer-guard `verify()`, repeated token (cache hit), cache full with 1,000 tokens',
      () => bgFull.verify(repeated),
      isAuth,
    ),
    (() => {
      const headerRing = cycleRing(headers, bgAuthDistinct)
      return asyncCase(
        'bg-auth-distinct',
        "bearer-guard `authenticate('Bearer ' + token)`, distinct tokens",
        () => {
          const header = headerRing.next()
          return headerRing.current().authenticate(header)
        },
        isAuth,
      )
    })(),
    asyncCase(
      'bg-auth-hit',
      "bearer-guard `authenticate('Bearer ' + token)`, repeated token (cache hit)",
      () => bgAuthRepeated.authenticate(repeatedHeader),
      isAuth,
    ),
    // A token from the network is a new string each time, with no hash computed yet.
    syncCase(
      'string-copy',
      'a new 1.5 KB string per call (copy alone, subtracted below)',
      () => repeatedBytes.toString('latin1').length,
    ),
    asyncCase(
      'bg-hit-fresh',
      'bearer-guard `verify()`, repeated token arriving as a new string each call',
      () => bgFreshString.verify(repeatedBytes.toString('latin1')),
      isAuth,
    ),
    asyncCase(
      'bg-reject',
      'bearer-guard `verify()`, expired token (rejected with a 401 error)',
      () => rejected(bgReject.verify(expired)),
      (result) => result === true,
    ),
    asyncCase(
      'jose-reject',
      'jose `jwtVerify`, expired token (rejected)',
      () => rejected(jwtVerify(expired, joseKey, jwtOptions as never)),
      (result) => result === true,
    ),
    syncCase('fast-jwt-reject', 'fast-jwt, expired token (rejected)', () => {
      try {
        fastJwt(expired)
        return 0
      } catch {
        return 1
      }
    }),
  ]
  // Every case must succeed (and every rejection case reject) before it is timed.
  const chosen = cases.filter(
    (benchCase) => ONLY_CASES === undefined || ONLY_CASES.includes(benchCase.id),
  )
  for (const benchCase of chosen) await benchCase.batch(3)
  return chosen
}

export async function runInProcess(): Promise<Record<string, unknown>> {
  const startedAt = new Date().toISOString()
  const keys = createBenchKeys()
  const algs: Record<string, unknown> = {}
  for (const key of [keys.rsa, keys.ec]) {
    if (ONLY_ALGS !== undefined && !ONLY_ALGS.includes(key.alg)) continue
    const started = performance.now()
    const pool = mintPool(key, POOL_SIZE)
    const repeated = mintPool(key, 1)[0] as string
    const prefill = mintPool(key, PREFILL)
    console.error(
      `[inprocess] ${key.alg}: ${POOL_SIZE} + ${PREFILL} tokens of ${repeated.length} chars minted in ${Math.round(performance.now() - started)} ms`,
    )
    const cases = await casesFor(key, pool, repeated, prefill)
    const results = await runCases(cases, {
      rounds: ROUNDS,
      roundMs: ROUND_MS,
      onRound: (r) => console.error(`[inprocess] ${key.alg}: round ${r}/${ROUNDS}`),
    })
    const floor = results.find((result) => result.id === 'floor')?.cpuUs ?? Number.NaN
    for (const result of results) {
      console.error(
        `  ${result.id.padEnd(18)} ${result.cpuUs.toFixed(2).padStart(8)} µs  ${(result.cpuUs / floor).toFixed(3)}× floor`,
      )
    }
    algs[key.alg] = { tokenLength: repeated.length, cases: results }
  }
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    poolSize: POOL_SIZE,
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    quick: QUICK,
    algs,
  }
}

const section = await runInProcess()
if (ONLY_CASES === undefined && ONLY_ALGS === undefined) {
  writeSection('inprocess', section)
  if (process.env.BENCH_SKIP_REPORT !== '1') writeReport()
}
