/**
 * Several issuers and discovery against one issuer, A/B in one process: `validator.decide(req)`
 * for a repeated token (a cache hit) and for distinct tokens (RS256, Entra-sized), with
 * - `single`: one `createValidator` of this tree;
 * - `multi`: `createMultiIssuerValidator` over two configurations, the token's issuer second;
 * - `base` (when BENCH_BASE_SRC names the `src/` of another commit, say the one before this
 *   work, extracted with `git archive <commit> src | tar -x -C <dir>`): the same single
 *   validator built from that source, so the single-issuer path is compared before and after.
 *   Put it outside node_modules (bench/.tmp will do; its `#crypto` and `#channels` imports
 *   rewritten to `./crypto-node.js` and `./channels-node.js`): under node_modules the same
 *   source ran about 15 % slower under tsx here, which biases the comparison.
 *
 * Every side warms up, then the sides run alternately in many short rounds timed with
 * `performance.now()`; each side reports its median and minimum µs per decision, and the ratios
 * to `single` are of medians. Distinct tokens allocate, and the sides share one heap: their
 * ratios carry some garbage-collection noise (bench/tricks.ts runs such paths per process).
 *
 *   npx tsx bench/issuers.ts            (BENCH_QUICK=1 for a short smoke run)
 */
import { pathToFileURL } from 'node:url'
import type { Decision } from '../src/decision.js'
import { createMultiIssuerValidator, createValidator, type Validator } from '../src/index.js'
import { createBenchKeys, toJwks } from './lib/keys.js'
import { AUDIENCE, flat, ISSUER, mintPool } from './lib/tokens.js'

const QUICK = process.env.BENCH_QUICK === '1'
const ROUNDS = QUICK ? 10 : 60
const ROUND_MS = QUICK ? 5 : 20
const WARMUP_MS = QUICK ? 200 : 1_500
const POOL_SIZE = QUICK ? 2_000 : 20_000

type Decide = (request: object) => Decision | Promise<Decision>

const keys = createBenchKeys()
const now = Math.floor(Date.now() / 1000)
const pool = mintPool(keys.rsa, POOL_SIZE, now).map((token) => ({
  rawHeaders: ['Host', 'api.example', 'Authorization', flat(`Bearer ${token}`)],
}))
const repeated = pool[0] as object
const options = { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(keys.rsa) }

async function sides(): Promise<Record<string, Validator>> {
  const found: Record<string, Validator> = {
    single: createValidator(options),
    multi: createMultiIssuerValidator({
      issuers: {
        other: { issuer: 'https://other.example/', audience: AUDIENCE, keys: toJwks(keys.ec) },
        entra: options,
      },
    }),
  }
  const base = process.env.BENCH_BASE_SRC
  if (base !== undefined) {
    const module = (await import(pathToFileURL(`${base}/index.ts`).href)) as {
      createValidator: typeof createValidator
    }
    found.base = module.createValidator(options)
  }
  for (const validator of Object.values(found)) await validator.warmUp()
  return found
}

/** One round of `decide` on `next()` requests for `ms`; µs per decision. */
async function round(decide: Decide, next: () => object, ms: number): Promise<number> {
  let n = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < ms) {
    for (let i = 0; i < 64; i++) {
      const decision = decide(next())
      const settled = decision instanceof Promise ? await decision : decision
      if (settled.auth === undefined) throw new Error('a decision was not an acceptance')
    }
    n += 64
    elapsed = performance.now() - start
  }
  return (elapsed * 1000) / n
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

async function measure(name: string, validators: Record<string, Validator>, distinct: boolean) {
  const names = Object.keys(validators)
  const cursors = Object.fromEntries(names.map((side) => [side, 0]))
  const nextFor = (side: string) => () => {
    if (!distinct) return repeated
    // Each side walks the pool on its own: every token is new to it (a cache miss).
    const index = (cursors[side] as number) % pool.length
    cursors[side] = index + 1
    return pool[index] as object
  }
  const decides = Object.fromEntries(
    names.map((side) => {
      const validator = validators[side] as Validator
      return [side, (request: object) => validator.decide(request as never)]
    }),
  )
  for (const side of names) await round(decides[side] as Decide, nextFor(side), WARMUP_MS)
  const samples: Record<string, number[]> = Object.fromEntries(names.map((side) => [side, []]))
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse()
    for (const side of order) {
      samples[side]?.push(await round(decides[side] as Decide, nextFor(side), ROUND_MS))
    }
  }
  const reference = median(samples.single as number[])
  for (const side of names) {
    const values = samples[side] as number[]
    const mid = median(values)
    console.log(
      `${name.padEnd(9)} ${side.padEnd(7)} median ${mid.toFixed(3)} µs  min ${Math.min(...values).toFixed(3)} µs  ratio to single ${(mid / reference).toFixed(3)}`,
    )
  }
}

// A distinct token must be new to every side: a pool large enough for the whole run, or a
// fresh validator per measurement (the token cache holds 1,000 entries; the pool is larger).
await measure('repeated', await sides(), false)
await measure('distinct', await sides(), true)
