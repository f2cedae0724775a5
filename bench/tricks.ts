/**
 * Each hot-path trick of src/ on and off, in the same run (STYLE.md, "Hot-path tricks": a trick
 * keeps its place only while it saves ≥ 3 % of the path it sits on).
 *
 * The "off" side is the trick's plain alternative, built in bench/tricks/ over the same internal
 * modules (src/ has no switches): bench/tricks/path.ts rebuilds `validator.decide(request)` from
 * the pipeline's parts, and each pair swaps one part. Two check pairs time that rebuilt path
 * against the product's own `validator.decide`: their "saving" should be about zero, and its size
 * is the resolution of the method.
 *
 * Method, for a shared two-core machine whose load varies: both sides warm up, then run
 * alternately (on, off, off, on, ...) in rounds timed with `performance.now()`, and each side's
 * minimum and median µs per operation are reported. A trick pays when both the minimum and the
 * median show a saving of at least 3 % of the plain path ((off − on) / off).
 * - Cache-hit and rejection paths (`interleaved`): both sides in one process, of its own per
 *   pair, in 80 short rounds of a few ms.
 * - Distinct-token paths (`processes`): these allocate what the garbage collector must then
 *   handle (a young-generation collection every few thousand tokens, which a round of a few ms
 *   mostly misses), and a shared heap would bill one side's garbage to the other. So each side
 *   has a process of its own (three pairs of processes per trick, 40 rounds each: one process
 *   can be a few % faster than the next); the parent alternates short rounds between the two, and each
 *   side's GC pauses per token (collections counted by a PerformanceObserver over the measured
 *   rounds, times their median pause) are added to its round figures. Collections per 10,000 tokens are reported for each side.
 * RS256 (RSA-2048), Entra-sized tokens: the cheapest verification, so the largest share any trick
 * can claim. The DPoP pairs (`dpop`, processes mode) send one bound token, a hit of the
 * bound-token cache, with a new ES256 proof per request: their path is the proof's check. The
 * multi-issuer pairs (`multi-stream`, `multi-hit`) time the product's `createMultiIssuerValidator`
 * against the same from a copy of src/ with the trick's lines replaced (bench/tricks/variant.ts);
 * their check pair replaces nothing.
 *
 *   npm run bench:tricks              (BENCH_QUICK=1 for a short smoke run)
 */
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { constants, PerformanceObserver } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { readAuthInfo } from '../src/caller-rules.js'
import type { Decision } from '../src/decision.js'
import { createMultiIssuerValidator, createValidator } from '../src/index.js'
import type { TokenState } from '../src/pipeline.js'
import type { RequestLike } from '../src/request.js'
import { checkExpiry, parseToken } from '../src/token.js'
import { mintProofs, thumbprintOf } from './lib/dpop-proofs.js'
import { createBenchKeys, loadBenchKeys, saveBenchKeys, toJwks } from './lib/keys.js'
import { ensureTmp, prepareProcess, writeSection } from './lib/results.js'
import { AUDIENCE, entraClaims, flat, ISSUER, mintPool, mintToken } from './lib/tokens.js'
import { writeReport } from './report.js'
import { plainProofStep } from './tricks/dpop.js'
import { readAuthInfoFreshLists } from './tricks/lists.js'
import { createPath, type DecidePath, type PathParts } from './tricks/path.js'
import { acceptedLiteral, authInfoLiteral } from './tricks/records.js'
import { checkSignatureAllocating, parseTokenAllocating } from './tricks/token.js'
import {
  createNoDoorkeeperCache,
  createRenewEveryHitCache,
  createStringKeyCache,
} from './tricks/token-cache.js'
import { importVariant, type Variant, writeVariant } from './tricks/variant.js'

prepareProcess()

const QUICK = process.env.BENCH_QUICK === '1'
/**
 * Distinct tokens. No side goes round the pool: once the doorkeeper has closed a full cache to
 * one-off tokens, the cache keeps the last tokens it took, and they would hit when they came back.
 */
const POOL_SIZE = QUICK ? 6_000 : 32_000
const ROUNDS = QUICK ? 10 : 80
const ROUND_MS = QUICK ? 3 : 6
/** Operations each side runs before timing: fills the cache and lets V8 settle its feedback. */
const WARMUP_MS = QUICK ? 100 : 600
/** A retained stream keeps the cache taking tokens: one hit of a hot token every this many. */
const HIT_EVERY = 64
/** Fresh header strings made per hit-path round (outside the timing). */
const MAX_FRESH = 8_192
/**
 * Processes mode: pairs of processes per trick (one process can run a few % faster than the
 * next, whatever it runs), and rounds per side in each pair.
 */
const PROCESS_PAIRS = QUICK ? 1 : 3
/** Processes mode, for a trick against V8's pretenuring: it strikes some processes, not all. */
const PRETENURING_PAIRS = QUICK ? 2 : 8
const PROCESS_ROUNDS = QUICK ? 20 : 40
/** Processes mode: tokens each side verifies before the first round (the cache fills, V8 settles). */
const PROCESS_WARMUP_OPS = QUICK ? 1_500 : 4_000
/** What a trick must save, of its plain path. */
export const PAYS_AT = 0.03

type Scenario =
  | 'stream'
  | 'retained'
  | 'burst'
  | 'hit'
  | 'reject'
  | 'dpop'
  | 'multi-stream'
  | 'multi-hit'
type Mode = 'interleaved' | 'processes'

/** Distinct-token paths allocate what the garbage collector then handles: a process per side. */
const MODE_OF: Record<Scenario, Mode> = {
  stream: 'processes',
  retained: 'processes',
  burst: 'processes',
  hit: 'interleaved',
  reject: 'interleaved',
  dpop: 'processes',
  'multi-stream': 'processes',
  'multi-hit': 'interleaved',
}

/** The workload of each scenario: the multi-issuer ones send what their single-issuer ones do. */
const WORKLOAD_OF: Record<Scenario, Scenario> = {
  stream: 'stream',
  retained: 'retained',
  burst: 'burst',
  hit: 'hit',
  reject: 'reject',
  dpop: 'dpop',
  'multi-stream': 'stream',
  'multi-hit': 'hit',
}

const SCENARIOS: Record<Scenario, string> = {
  stream:
    'one distinct-token `decide()`, a stream of one-off tokens through a full cache (the doorkeeper closes it)',
  retained:
    'one distinct-token `decide()`, full cache that keeps taking tokens (a repeated token hits once every 64 requests)',
  burst:
    'one distinct-token `decide()`, one-off tokens after a burst in which the cache took every token (the warm-up: a repeated token hits once every 64 requests)',
  hit: 'one cache hit through `decide()`, cache full, the header a new string each request as from the HTTP parser',
  reject: 'one rejection (expired token) through `decide()`',
  'multi-stream':
    "one distinct-token `decide()` of a multi-issuer validator (two issuers, the token's second), a stream of one-off tokens",
  'multi-hit':
    'one cache hit through `decide()` of a multi-issuer validator (two issuers), the header a new string each request',
  dpop: 'one DPoP request through `decide()`: its bound token repeats (a hit of the bound-token cache), its ES256 proof is new (checked in full, its `jti` stored)',
}

/**
 * The DPoP path's options (Bearer accepted too; proofs accepted for the longest age allowed, as
 * they are minted before the pair starts) and its one request target.
 */
const DPOP = { publicOrigin: 'https://api.example', maxProofAge: 600 }
const DPOP_PATH = '/orders'
/**
 * Processes mode, DPoP pairs: rounds per side in each pair. A side's young-generation
 * collections come every few thousand requests, a few ms each: 40 rounds of a few ms would see
 * one or two per process, and one more or less would move the figure by 2 %.
 */
const DPOP_ROUNDS = QUICK ? 20 : 160
/**
 * Proofs minted for each DPoP pair, one per request of a side (warm-up, calibration, rounds of
 * 6 ms at down to 30 µs a request); each side process has a replay store of its own.
 */
const DPOP_PROOFS = PROCESS_WARMUP_OPS + 5 * 64 + DPOP_ROUNDS * Math.ceil((ROUND_MS * 1000) / 30)

interface PairSpec {
  id: string
  trick: string
  file: string
  scenario: Scenario
  off: string
  /**
   * The plain alternative's parts; `'product'` for a check pair against `validator.decide`; a
   * variant for a multi-issuer trick: its `on` side is the product's multi-issuer validator, its
   * `off` side the same from a copy of src/ with the trick taken out (bench/tricks/variant.ts).
   */
  parts: PathParts | 'product' | { variant: Variant }
  /**
   * Processes mode: pairs of processes for this trick, when not PROCESS_PAIRS. V8's pretenuring
   * decides per process, and some processes only are hit: it takes more pairs to see it.
   */
  processPairs?: number
  /** Processes mode: rounds per side in each pair, when not PROCESS_ROUNDS. */
  processRounds?: number
}

function captureStackOnExpiry(state: TokenState): void {
  try {
    checkExpiry(state.parsed.claims, state.options, state.now)
  } catch (error) {
    // What BearerGuardError's constructor skips: capturing a stack trace (up to 10 frames).
    Error.captureStackTrace(error as object)
    throw error
  }
}

const PAIRS: PairSpec[] = [
  {
    id: 'check-stream',
    trick: "harness check: bench/tricks/path.ts against the product's `validator.decide`",
    file: 'bench/tricks/path.ts',
    scenario: 'stream',
    off: "the product's validator",
    parts: 'product',
  },
  {
    id: 'check-hit',
    trick: "harness check: bench/tricks/path.ts against the product's `validator.decide`",
    file: 'bench/tricks/path.ts',
    scenario: 'hit',
    off: "the product's validator",
    parts: 'product',
  },
  {
    id: 'check-dpop',
    trick:
      "harness check: bench/tricks/path.ts's DPoP path against the product's `validator.decide`",
    file: 'bench/tricks/path.ts',
    scenario: 'dpop',
    off: "the product's validator",
    parts: 'product',
    processRounds: DPOP_ROUNDS,
  },
  {
    id: 'check-multi',
    trick:
      "harness check: the product's multi-issuer validator against the same from a copy of src/ (bench/tricks/variant.ts), nothing taken out",
    file: 'bench/tricks/variant.ts',
    scenario: 'multi-stream',
    off: 'the copy of src/',
    parts: { variant: { file: 'src/issuers.ts', replace: [] } },
  },
  {
    id: 'scratch-buffer',
    trick: 'shared 16 KB scratch buffer for decoded segments and the signing input',
    file: 'src/token.ts',
    scenario: 'stream',
    off: 'a fresh `Buffer.allocUnsafe` per parse and per signature check',
    parts: {
      parse: parseTokenAllocating,
      steps: {
        signature: (s) => {
          const key = s.key as NonNullable<TokenState['key']>
          if (!checkSignatureAllocating(s.token, s.parsed, key.verifier)) throw new Error('bad')
        },
      },
    },
  },
  {
    id: 'repeated-texts',
    trick:
      'decoded headers and `scp`/`scope`/`aud` lists remembered by their text, frozen and shared (256 texts per table)',
    file: 'src/remembered.ts, src/token.ts, src/caller-rules.ts',
    scenario: 'stream',
    off: "every token's header decoded, parsed and frozen (`parseToken`), its lists split, copied and frozen",
    parts: {
      parse: (token, options) => parseToken(token, options),
      steps: {
        permission_claims: (s) => {
          s.auth = readAuthInfoFreshLists(s.token, s.parsed.header, s.parsed.claims)
        },
      },
    },
  },
  {
    id: 'records',
    trick: 'AuthInfo and accepted decision made by function constructors, not object literals',
    file: 'src/caller-rules.ts, src/decision.ts',
    scenario: 'burst',
    off: 'both made by object literals (V8 may pretenure them once the cache keeps some)',
    parts: {
      accepted: acceptedLiteral,
      steps: {
        permission_claims: (s) => {
          s.auth = authInfoLiteral(readAuthInfo(s.token, s.parsed.header, s.parsed.claims))
        },
      },
    },
    processPairs: PRETENURING_PAIRS,
  },
  {
    id: 'doorkeeper',
    trick: 'doorkeeper: a full cache fed only one-off tokens stores a token on its second sight',
    file: 'src/token-cache.ts',
    scenario: 'stream',
    off: 'every verified token stored, the oldest evicted',
    parts: { cache: createNoDoorkeeperCache },
  },
  {
    id: 'integer-key',
    trick: "integer key hashed from the signature's last 8 characters (`keyOf`)",
    file: 'src/token-cache.ts',
    scenario: 'hit',
    off: 'a Map keyed by the token string',
    parts: { cache: createStringKeyCache },
  },
  {
    id: 'renew-half-aged',
    trick: 'a hit renews its entry only once aged by half the cache',
    file: 'src/token-cache.ts',
    scenario: 'hit',
    off: 'every hit renews (Map delete + set)',
    parts: { cache: createRenewEveryHitCache },
  },
  {
    id: 'peek-bearer',
    trick: '`peekBearerToken`: lenient probe of the header for the cache before strict parsing',
    file: 'src/authorization.ts',
    scenario: 'hit',
    off: '`parseAuthorization` (strict), then the cache',
    parts: { strictProbe: true },
  },
  {
    id: 'proof-header',
    trick:
      "a DPoP proof header text kept with what it gives: the decoded header, the jwk's thumbprint, imported key and verifier (1,024 texts)",
    file: 'src/dpop.ts',
    scenario: 'dpop',
    off: "every proof's header decoded and parsed, its jwk hashed (RFC 7638), imported and given a verifier",
    parts: { dpop: DPOP, steps: { dpop_proof: plainProofStep('header') } },
    processRounds: DPOP_ROUNDS,
  },
  {
    id: 'proof-htu',
    trick:
      "normal forms of recent URIs kept (256 of up to 512 characters), and a proof's `htu` equal to the request's URI taken as is",
    file: 'src/dpop.ts, src/request.ts',
    scenario: 'dpop',
    off: "the request's URI and the proof's `htu` normalised (`normalizeHtu`) for every request",
    parts: { dpop: DPOP, steps: { dpop_proof: plainProofStep('htu') } },
    processRounds: DPOP_ROUNDS,
  },
  {
    id: 'parse-handover',
    trick:
      "a multi-issuer validator hands its parse of the token (read for `iss`) to the issuer's validator, which would parse the token again",
    file: 'src/parsed-handover.ts, src/issuers.ts',
    scenario: 'multi-stream',
    off: "the issuer's validator parses the token again",
    parts: {
      variant: {
        file: 'src/issuers.ts',
        replace: [
          [': handOver(token, parsed, () => run(route.validator))', ': run(route.validator)'],
        ],
      },
    },
  },
  {
    id: 'recall-held-only',
    trick:
      "a multi-issuer validator remembers an acceptance only while its issuer's validator's cache holds the token (not a one-off token its doorkeeper turned away)",
    file: 'src/issuers.ts, src/validator.ts',
    scenario: 'multi-stream',
    off: 'every acceptance remembered, with its AuthInfo (the last 1,000)',
    parts: {
      variant: {
        file: 'src/issuers.ts',
        replace: [['    if (reusable && !route.holds(token)) return\n', '']],
      },
    },
  },
  {
    id: 'recall-route',
    trick:
      "a multi-issuer validator remembers accepted tokens with their issuer's validator: a repeated token is routed by one lookup",
    file: 'src/issuers.ts',
    scenario: 'multi-hit',
    off: "every token's header parsed strictly and the token decoded for its `iss`, then the issuer's validator (whose cache answers)",
    parts: {
      variant: {
        file: 'src/issuers.ts',
        replace: [
          [
            `    const peeked = peekCredentials(authorization, schemes)
    const known = peeked === undefined ? undefined : recall(peeked.token)
    if (known !== undefined) {`,
            `    const known = undefined as Remembered | undefined
    if (known !== undefined) {`,
          ],
        ],
      },
    },
  },
  {
    id: 'no-stack-trace',
    trick: 'no stack trace captured (`Error.stackTraceLimit = 0` around `super`)',
    file: 'src/errors.ts',
    scenario: 'reject',
    off: 'a stack trace captured for the error',
    parts: { steps: { exp: captureStackOnExpiry } },
  },
]

export interface TrickResult {
  id: string
  trick: string
  file: string
  scenario: Scenario
  path: string
  off: string
  check: boolean
  /** `interleaved`: both sides in one process, short rounds; `processes`: a process per side, long rounds. */
  mode: Mode
  opsPerRound: number
  rounds: number
  /** µs per operation, per round, in round order (without GC pauses in processes mode). */
  onUs: number[]
  offUs: number[]
  /** Fastest and median round, plus the side's GC pauses per operation in processes mode. */
  onMinUs: number
  onMedianUs: number
  offMinUs: number
  offMedianUs: number
  /** (off − on) / off, from the minimum and from the median. */
  savingMin: number
  savingMedian: number
  pays: boolean
  /** Garbage collections per 10,000 operations during the measured rounds (processes mode). */
  gc?: { on: GcCount; off: GcCount }
}

interface GcCount {
  minor: number
  major: number
  /** Milliseconds of GC pauses per 10,000 operations: collections × their median pause. */
  ms: number
}

interface Side {
  /** Readies `n` operations, outside the timing. */
  prepare(n: number): void
  run(n: number): void
}

interface Shared {
  keysPath: string
  /** DPoP proofs of the current pair, all for `Tokens.bound`. */
  proofsPath: string
  tokensPath: string
}

interface Tokens {
  pool: string[]
  hot: string
  expired: string
  /** Bound to the ES256 bench key (`cnf.jkt`), which signs the DPoP proofs. */
  bound: string
}

const requestOf = (header: string): RequestLike => ({
  rawHeaders: ['Host', 'api.example', 'Authorization', header],
})

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

function expectAuth(decision: Decision): void {
  if (decision.auth === undefined) throw new Error(`unexpected decision: ${decision.error?.reason}`)
}

/** One side of a pair over its scenario. */
function sideOf(decide: DecidePath, scenario: Scenario, tokens: Tokens, proofsPath: string): Side {
  if (scenario === 'dpop') {
    const authorization = flat(`DPoP ${tokens.bound}`)
    const proofs = JSON.parse(readFileSync(proofsPath, 'utf8')) as string[]
    const requests = proofs.map(
      (proof): RequestLike => ({
        method: 'GET',
        url: DPOP_PATH,
        rawHeaders: ['Host', 'api.example', 'Authorization', authorization, 'DPoP', flat(proof)],
      }),
    )
    let next = 0
    return {
      prepare() {},
      run(n) {
        if (next + n > requests.length)
          throw new Error('the DPoP proofs ran out: raise DPOP_PROOFS')
        for (let i = 0; i < n; i++) expectAuth(decide(requests[next++] as RequestLike))
      },
    }
  }
  const hot = requestOf(flat(`Bearer ${tokens.hot}`))
  if (scenario === 'stream' || scenario === 'retained' || scenario === 'burst') {
    const requests = tokens.pool.map((token) => requestOf(flat(`Bearer ${token}`)))
    // A burst: the hot token's hits keep the cache taking every token, for the warm-up only.
    const hitsUntil = scenario === 'retained' ? Number.POSITIVE_INFINITY : PROCESS_WARMUP_OPS
    let next = 0
    return {
      prepare() {},
      run(n) {
        if (next + n > requests.length) throw new Error('the pool of distinct tokens ran out')
        for (let i = 0; i < n; i++) {
          expectAuth(decide(requests[next++] as RequestLike))
          if (scenario !== 'stream' && next <= hitsUntil && next % HIT_EVERY === 0) {
            expectAuth(decide(hot))
          }
        }
      },
    }
  }
  if (scenario === 'hit') {
    // A full cache: 999 other tokens, then the repeated one.
    for (const token of tokens.pool.slice(0, 999)) expectAuth(decide(requestOf(`Bearer ${token}`)))
    expectAuth(decide(hot))
    const bytes = Buffer.from(`Bearer ${tokens.hot}`, 'latin1')
    let fresh: RequestLike[] = []
    return {
      prepare(n) {
        fresh = []
        for (let i = 0; i < n; i++) fresh.push(requestOf(bytes.toString('latin1')))
      },
      run(n) {
        for (let i = 0; i < n; i++) expectAuth(decide(fresh[i] as RequestLike))
      },
    }
  }
  const expired = requestOf(flat(`Bearer ${tokens.expired}`))
  return {
    prepare() {},
    run(n) {
      for (let i = 0; i < n; i++) {
        if (decide(expired).error?.reason !== 'expired') throw new Error('not rejected as expired')
      }
    },
  }
}

/** Where the parent writes a variant pair's copy of src/, for both sides' processes. */
const variantDir = (id: string) => join(ensureTmp(), 'tricks-variants', id)

/** `validator.decide`, which must answer at once (keys are loaded beforehand). */
function decideAtOnce(validator: { decide(request: RequestLike): Decision | Promise<Decision> }) {
  const decide: DecidePath = (request) => {
    const decision = validator.decide(request)
    if (decision instanceof Promise) throw new Error('the validator had to wait')
    return decision
  }
  return decide
}

/** The `decide` of one side: the rebuilt path with the product's parts, or the trick's plain one. */
async function decideOf(spec: PairSpec, side: 'on' | 'off', shared: Shared) {
  const keys = loadBenchKeys(shared.keysPath)
  const key = keys.rsa
  const tokens = JSON.parse(readFileSync(shared.tokensPath, 'utf8')) as Tokens
  if (typeof spec.parts === 'object' && 'variant' in spec.parts) {
    // Two issuers, the token's second: the product's, or the copy without the trick.
    const create =
      side === 'on'
        ? createMultiIssuerValidator
        : (await importVariant(variantDir(spec.id))).createMultiIssuerValidator
    const validator = create({
      issuers: {
        other: { issuer: 'https://other.example/', audience: AUDIENCE, keys: toJwks(keys.ec) },
        entra: { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(key) },
      },
    })
    await validator.warmUp()
    return { decide: decideAtOnce(validator), tokens }
  }
  const dpop = spec.scenario === 'dpop' ? { dpop: DPOP } : {}
  if (side === 'on') return { decide: await createPath(key, dpop), tokens }
  if (spec.parts !== 'product') return { decide: await createPath(key, spec.parts), tokens }
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: toJwks(key),
    ...dpop,
  })
  await validator.warmUp()
  return { decide: decideAtOnce(validator), tokens }
}

function timed(side: Side, n: number): number {
  side.prepare(n)
  const start = performance.now()
  side.run(n)
  return ((performance.now() - start) * 1000) / n
}

function summarise(
  spec: PairSpec,
  mode: Mode,
  opsPerRound: number,
  onUs: number[],
  offUs: number[],
  gc?: [GcCount, GcCount],
): TrickResult {
  // A round of a few ms rarely holds a collection: each side's GC pauses per operation are added.
  const onGcUs = gc === undefined ? 0 : gc[0].ms / 10
  const offGcUs = gc === undefined ? 0 : gc[1].ms / 10
  const onMinUs = Math.min(...onUs) + onGcUs
  const offMinUs = Math.min(...offUs) + offGcUs
  const onMedianUs = median(onUs) + onGcUs
  const offMedianUs = median(offUs) + offGcUs
  const savingMin = (offMinUs - onMinUs) / offMinUs
  const savingMedian = (offMedianUs - onMedianUs) / offMedianUs
  const check =
    spec.parts === 'product' ||
    (typeof spec.parts === 'object' &&
      'variant' in spec.parts &&
      spec.parts.variant.replace.length === 0)
  return {
    id: spec.id,
    trick: spec.trick,
    file: spec.file,
    scenario: spec.scenario,
    path: SCENARIOS[spec.scenario],
    off: spec.off,
    check,
    mode,
    opsPerRound,
    rounds: onUs.length,
    onUs: onUs.map((value) => Number(value.toFixed(4))),
    offUs: offUs.map((value) => Number(value.toFixed(4))),
    onMinUs,
    onMedianUs,
    offMinUs,
    offMedianUs,
    savingMin,
    savingMedian,
    pays: !check && Math.min(savingMin, savingMedian) >= PAYS_AT,
    ...(gc === undefined ? {} : { gc: { on: gc[0], off: gc[1] } }),
  }
}

/** Both sides in this process, alternating short rounds timed by wall clock. */
async function interleaved(spec: PairSpec, shared: Shared): Promise<TrickResult> {
  const onPath = await decideOf(spec, 'on', shared)
  const offPath = await decideOf(spec, 'off', shared)
  const workload = WORKLOAD_OF[spec.scenario]
  const on = sideOf(onPath.decide, workload, onPath.tokens, shared.proofsPath)
  const off = sideOf(offPath.decide, workload, offPath.tokens, shared.proofsPath)
  // Batch size: about ROUND_MS of the faster side (a hit-path batch is capped by MAX_FRESH).
  let perOp = Number.POSITIVE_INFINITY
  for (let i = 0; i < 5; i++) perOp = Math.min(perOp, timed(on, 64), timed(off, 64))
  const n = Math.max(1, Math.min(MAX_FRESH, Math.ceil((ROUND_MS * 1000) / perOp)))
  for (const started = performance.now(); performance.now() - started < WARMUP_MS; ) {
    timed(on, n)
    timed(off, n)
  }
  const onUs: number[] = []
  const offUs: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      onUs.push(timed(on, n))
      offUs.push(timed(off, n))
    } else {
      offUs.push(timed(off, n))
      onUs.push(timed(on, n))
    }
  }
  return summarise(spec, 'interleaved', n, onUs, offUs)
}

type ToSide = { ops: number } | { done: true }
type FromSide = { perOpUs: number } | { us: number } | { gc: GcCount }

/** A child process holding one side of a pair: runs rounds when told, answers their cost. */
async function serveSide(spec: PairSpec, which: 'on' | 'off', shared: Shared): Promise<void> {
  const { decide, tokens } = await decideOf(spec, which, shared)
  const side = sideOf(decide, WORKLOAD_OF[spec.scenario], tokens, shared.proofsPath)
  side.run(PROCESS_WARMUP_OPS)
  let measuring = false
  let measuredOps = 0
  const minor: number[] = []
  const major: number[] = []
  new PerformanceObserver((list) => {
    if (!measuring) return
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major.push(entry.duration)
      else minor.push(entry.duration)
    }
  }).observe({ entryTypes: ['gc'] })
  const send = (message: FromSide, then?: () => void) =>
    then === undefined ? process.send?.(message) : process.send?.(message, then)
  process.on('message', (message: ToSide) => {
    if ('done' in message) {
      // GC entries arrive asynchronously: let the last ones in.
      setTimeout(() => {
        const per = 10_000 / Math.max(1, measuredOps)
        // Pause time as count × median pause: one pause stretched by other work on the machine
        // would otherwise weigh on one side alone.
        const typical = (pauses: number[]) => (pauses.length === 0 ? 0 : median(pauses))
        const ms = minor.length * typical(minor) + major.length * typical(major)
        send({ gc: { minor: minor.length * per, major: major.length * per, ms: ms * per } }, () =>
          process.exit(0),
        )
      }, 50)
      return
    }
    measuring = true
    const start = performance.now()
    side.run(message.ops)
    const us = ((performance.now() - start) * 1000) / message.ops
    measuredOps += message.ops
    send({ us })
  })
  let perOpUs = Number.POSITIVE_INFINITY
  for (let i = 0; i < 5; i++) perOpUs = Math.min(perOpUs, timed(side, 64))
  send({ perOpUs })
}

/**
 * One process per side, so that each has a heap of its own (what the garbage collector does
 * with one side's objects must not be billed to the other): the parent alternates many short
 * rounds between the two, each timed by wall clock in its child, and each child adds up its GC
 * pauses (PerformanceObserver), which a round of a few ms rarely holds.
 */
async function inProcesses(spec: PairSpec, shared: Shared): Promise<TrickResult> {
  const start = (which: 'on' | 'off') => {
    const child = fork(fileURLToPath(import.meta.url), ['--side', spec.id, which], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_TRICKS_SHARED: JSON.stringify(shared) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) console.error(`[tricks] ${spec.id} ${which} exited with ${code}`)
    })
    let answer: ((message: FromSide) => void) | undefined
    let fail: ((error: Error) => void) | undefined
    child.on('message', (message) => answer?.(message as FromSide))
    child.once('exit', () => fail?.(new Error(`${spec.id} ${which} exited`)))
    const ask = (message: ToSide | undefined) =>
      new Promise<FromSide>((resolve, reject) => {
        answer = resolve
        fail = reject
        if (message !== undefined) child.send(message)
      })
    return { ready: ask(undefined), ask }
  }
  const onUs: number[] = []
  const offUs: number[] = []
  const gcOn: GcCount[] = []
  const gcOff: GcCount[] = []
  let n = 0
  const pairs = spec.processPairs ?? PROCESS_PAIRS
  for (let pair = 0; pair < pairs; pair++) {
    // Started in turn first, so that neither side always has the same place.
    const on = pair % 2 === 0 ? start('on') : undefined
    const off = start('off')
    const onSide = on ?? start('on')
    const ready = (await Promise.all([onSide.ready, off.ready])) as { perOpUs: number }[]
    // Rounds of about ROUND_MS, from the faster calibration (a stalled one would make them tiny).
    const perOpUs = Math.min(...ready.map((answer) => answer.perOpUs))
    if (n === 0) n = Math.max(1, Math.ceil((ROUND_MS * 1000) / perOpUs))
    const round = async (side: typeof off) => ((await side.ask({ ops: n })) as { us: number }).us
    for (let r = 0; r < (spec.processRounds ?? PROCESS_ROUNDS); r++) {
      if (r % 2 === pair % 2) {
        onUs.push(await round(onSide))
        offUs.push(await round(off))
      } else {
        offUs.push(await round(off))
        onUs.push(await round(onSide))
      }
    }
    const [a, b] = (await Promise.all([onSide.ask({ done: true }), off.ask({ done: true })])) as {
      gc: GcCount
    }[]
    gcOn.push((a as { gc: GcCount }).gc)
    gcOff.push((b as { gc: GcCount }).gc)
  }
  const mean = (counts: GcCount[]): GcCount => ({
    minor: counts.reduce((sum, count) => sum + count.minor, 0) / counts.length,
    major: counts.reduce((sum, count) => sum + count.major, 0) / counts.length,
    ms: counts.reduce((sum, count) => sum + count.ms, 0) / counts.length,
  })
  return summarise(spec, 'processes', n, onUs, offUs, [mean(gcOn), mean(gcOff)])
}

/** Runs one pair in a process of its own. */
function inChild(id: string, shared: Shared): Promise<TrickResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--pair', id], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_TRICKS_SHARED: JSON.stringify(shared) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.once('message', (message) => resolve(message as TrickResult))
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) reject(new Error(`tricks child (${id}) exited with ${code}`))
    })
  })
}

const pct = (value: number) => `${(value * 100).toFixed(1)} %`
const specOf = (id: string | undefined) => {
  const spec = PAIRS.find((pair) => pair.id === id)
  if (spec === undefined) throw new Error(`no trick ${id}`)
  return spec
}
const sharedOf = () => JSON.parse(process.env.BENCH_TRICKS_SHARED as string) as Shared

if (process.argv[2] === '--pair') {
  const result = await interleaved(specOf(process.argv[3]), sharedOf())
  process.send?.(result, () => process.exit(0))
} else if (process.argv[2] === '--side') {
  await serveSide(specOf(process.argv[3]), process.argv[4] === 'off' ? 'off' : 'on', sharedOf())
} else {
  const startedAt = new Date().toISOString()
  const tmp = ensureTmp()
  const shared: Shared = {
    keysPath: join(tmp, 'tricks-keys.json'),
    proofsPath: join(tmp, 'tricks-proofs.json'),
    tokensPath: join(tmp, 'tricks-tokens.json'),
  }
  const keys = createBenchKeys()
  saveBenchKeys(keys, shared.keysPath)
  const minted = performance.now()
  const now = Math.floor(Date.now() / 1000)
  const tokens: Tokens = {
    pool: mintPool(keys.rsa, POOL_SIZE, now),
    hot: mintPool(keys.rsa, 1, now)[0] as string,
    expired: mintToken(keys.rsa, entraClaims(now - 6 * 3600, randomBytes(24))),
    bound: mintToken(keys.rsa, {
      ...entraClaims(now, randomBytes(24)),
      cnf: { jkt: thumbprintOf(keys.ec) },
    }),
  }
  writeFileSync(shared.tokensPath, JSON.stringify(tokens))
  console.error(
    `[tricks] ${POOL_SIZE} RS256 tokens of ${tokens.hot.length} chars minted in ${Math.round(performance.now() - minted)} ms`,
  )
  const only = process.env.BENCH_TRICKS?.split(',')
  const results: TrickResult[] = []
  for (const spec of PAIRS) {
    if (only !== undefined && !only.includes(spec.id)) continue
    if (typeof spec.parts === 'object' && 'variant' in spec.parts) {
      writeVariant(variantDir(spec.id), spec.parts.variant)
    }
    if (spec.scenario === 'dpop') {
      // Fresh proofs for each pair: a proof is accepted for up to 600 s after it was made.
      const htu = `${DPOP.publicOrigin}${DPOP_PATH}`
      const proofs = mintProofs(keys.ec, tokens.bound, DPOP_PROOFS, 'GET', htu)
      writeFileSync(shared.proofsPath, JSON.stringify(proofs))
    }
    const result =
      MODE_OF[spec.scenario] === 'processes'
        ? await inProcesses(spec, shared)
        : await inChild(spec.id, shared)
    results.push(result)
    const gc =
      result.gc === undefined
        ? ''
        : `; GC per 10k ops on ${result.gc.on.minor.toFixed(1)}+${result.gc.on.major.toFixed(1)} (${result.gc.on.ms.toFixed(0)} ms), off ${result.gc.off.minor.toFixed(1)}+${result.gc.off.major.toFixed(1)} (${result.gc.off.ms.toFixed(0)} ms)`
    console.error(
      `[tricks] ${spec.id.padEnd(20)} on ${result.onMinUs.toFixed(3)} / ${result.onMedianUs.toFixed(3)} µs, off ${result.offMinUs.toFixed(3)} / ${result.offMedianUs.toFixed(3)} µs (min / median, ${result.opsPerRound} ops × ${result.rounds} rounds): saving ${pct(result.savingMin)} / ${pct(result.savingMedian)}${result.check ? ' (check)' : result.pays ? ' pays' : ' does not pay'}${gc}`,
    )
  }
  if (only === undefined) {
    writeSection('tricks', {
      startedAt,
      finishedAt: new Date().toISOString(),
      quick: QUICK,
      alg: 'RS256',
      tokenLength: tokens.hot.length,
      poolSize: POOL_SIZE,
      rounds: ROUNDS,
      roundMs: ROUND_MS,
      warmupMs: WARMUP_MS,
      processPairs: PROCESS_PAIRS,
      processRounds: PROCESS_ROUNDS,
      dpopRounds: DPOP_ROUNDS,
      processWarmupOps: PROCESS_WARMUP_OPS,
      paysAt: PAYS_AT,
      results,
    })
    if (process.env.BENCH_SKIP_REPORT !== '1') writeReport()
  }
}
