/**
 * The cost of the diagnostics_channel publishing (issue #14) when nobody subscribes: Bearer
 * requests through `validator.decide`, a repeated token (a verified-token cache hit) and distinct
 * ES256 tokens, with the core before the publishing (main at 4f31e85) and after it (HEAD, or
 * BENCH_AFTER=<ref>), each extracted by `git archive` into node_modules/.cache and loaded the same
 * way, in one process, the cases interleaved round by round. A second copy of the core before
 * (control), loaded first, takes the first-loaded copy's advantage (see below) and shows how far
 * identical code differs. Prints the ratios to "before" of the median and of the fastest round;
 * the figures go in the commit message and README.
 *
 *   npx tsx bench/diagnostics.ts            (BENCH_QUICK=1 for a short smoke run)
 *
 * BENCH_SUBSCRIBED=1 measures the cost with bearer-guard/opentelemetry enabled instead.
 */
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { tracingChannel } from 'node:diagnostics_channel'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base'
import { VALIDATION_CHANNEL, type Validator } from '../src/index.js'
import { BearerGuardInstrumentation } from '../src/opentelemetry.js'
import { createBenchKeys, toJwks } from './lib/keys.js'
import { type BenchCase, decideCase, runCases } from './lib/measure.js'
import { BENCH_DIR, prepareProcess } from './lib/results.js'
import { AUDIENCE, entraClaims, ISSUER, mintPool, mintToken } from './lib/tokens.js'

prepareProcess()

const QUICK = process.env.BENCH_QUICK === '1'
const ROUNDS = QUICK ? 3 : 15
const ROUND_MS = QUICK ? 100 : 250
const BASELINE_COMMIT = '4f31e85'
/** BENCH_SUBSCRIBED=1: with bearer-guard/opentelemetry enabled (the "after" copy publishes, "before" cannot). */
const SUBSCRIBED = process.env.BENCH_SUBSCRIBED === '1'
const ROOT = join(BENCH_DIR, '..')
const AFTER = execFileSync('git', [
  '-C',
  ROOT,
  'rev-parse',
  '--short',
  process.env.BENCH_AFTER ?? 'HEAD',
])
  .toString()
  .trim()

/** The core at `commit`, in its own copy (`copy` tells two copies of one commit apart). */
async function loadCore(commit: string, copy = ''): Promise<typeof import('../src/index.js')> {
  const dir = join(ROOT, 'node_modules', '.cache', `bg-diagnostics-${commit}${copy}`)
  if (!existsSync(join(dir, 'src', 'index.ts'))) {
    mkdirSync(dir, { recursive: true })
    const archive = execFileSync('git', ['-C', ROOT, 'archive', commit, 'src'])
    execFileSync('tar', ['-x', '-C', dir], { input: archive })
  }
  return import(join(dir, 'src', 'index.ts'))
}

async function main() {
  if (tracingChannel(VALIDATION_CHANNEL).hasSubscribers) throw new Error('a subscriber is present')
  if (SUBSCRIBED) {
    // Spans made and dropped (a provider without processors), metrics recorded (no reader).
    new BearerGuardInstrumentation({
      tracerProvider: new BasicTracerProvider(),
      meterProvider: new MeterProvider(),
    })
  }
  const keys = createBenchKeys()
  const options = { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(keys.ec) }
  const now = Math.floor(Date.now() / 1000)
  const request = (token: string) => ({
    method: 'GET',
    url: '/orders',
    rawHeaders: ['Host', 'api.example', 'Authorization', `Bearer ${token}`],
  })
  const repeated = request(mintToken(keys.ec, entraClaims(now, Buffer.from(randomUUID()))))
  const distinct = mintPool(keys.ec, QUICK ? 3_000 : 20_000, now).map(request)
  // The copy loaded first ran 20-25 % faster on the repeated path in trial runs, whichever it
  // was: a second copy of the core before (control) is loaded first, and only the two loaded
  // after it are compared. BENCH_ORDER=control,after,before changes the order.
  const versions = (process.env.BENCH_ORDER?.split(',') ?? ['control', 'before', 'after']) as (
    | 'before'
    | 'after'
    | 'control'
  )[]
  const commits = { before: BASELINE_COMMIT, after: AFTER, control: BASELINE_COMMIT }
  const validators = {} as Record<(typeof versions)[number], Validator>
  for (const version of versions) {
    const core = await loadCore(commits[version], version === 'control' ? '-copy' : '')
    validators[version] = core.createValidator(options)
  }
  await Promise.all(versions.map((version) => validators[version].warmUp()))
  const indexes = { before: 0, after: 0, control: 0 }
  const next = (version: keyof typeof indexes) =>
    distinct[indexes[version]++ % distinct.length] as (typeof distinct)[0]
  const cases: BenchCase[] = versions.flatMap((version) => [
    decideCase(`repeated-${version}`, `Bearer, repeated token, ${version}`, () =>
      validators[version].decide(repeated),
    ),
    decideCase(`distinct-${version}`, `Bearer, distinct ES256 tokens, ${version}`, () =>
      validators[version].decide(next(version)),
    ),
  ])
  const results = await runCases(cases, { rounds: ROUNDS, roundMs: ROUND_MS })
  const byId = Object.fromEntries(results.map((result) => [result.id, result]))
  const ratio = (path: string, version: string, field: 'cpuUs' | 'cpuUsMin') =>
    (byId[`${path}-${version}`]?.[field] as number) / (byId[`${path}-before`]?.[field] as number)
  for (const r of results) {
    console.log(
      `${r.label.padEnd(40)} median ${r.cpuUs.toFixed(3).padStart(8)} µs  min ${r.cpuUsMin.toFixed(3).padStart(8)} µs CPU/op`,
    )
  }
  const ratios = Object.fromEntries(
    ['after', 'control'].flatMap((version) =>
      ['repeated', 'distinct'].flatMap((path) => [
        [`${path} ${version}/before, median`, ratio(path, version, 'cpuUs').toFixed(3)],
        [`${path} ${version}/before, min`, ratio(path, version, 'cpuUsMin').toFixed(3)],
      ]),
    ),
  )
  console.log(
    `${SUBSCRIBED ? 'OpenTelemetry instrumentation on' : 'no subscriber'}; before ${BASELINE_COMMIT}, after ${AFTER}:`,
    ratios,
  )
}

await main()
