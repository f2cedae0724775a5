/**
 * Turns bench/results/results.json into bench/results/results.md (tables, machine, targets met
 * or missed) and bench/results/chart.svg (a hand-written bar chart of the ratios).
 *
 *   npm run bench:report
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CaseResult } from './lib/measure.js'
import { isMain, type Machine, RESULTS_DIR, readResults, type Source } from './lib/results.js'
import { bareOf, isPeer, TARGET_LABELS, TARGETS, type Target } from './lib/targets.js'

interface InProcess {
  startedAt: string
  poolSize: number
  rounds: number
  roundMs: number
  quick: boolean
  algs: Record<string, { tokenLength: number; cases: CaseResult[] }>
}

interface HttpRun {
  target: Target
  mode: 'repeated' | 'distinct'
  requestsPerSec: number
  p99Ms: number
  serverCpuUsPerRequest: number
  serverBusy: number
  non2xx: number
  errors: number
  /** Each pass; `wrapped` (distinct mode): the server went round the pool. */
  passes?: { wrapped?: boolean }[]
}

interface Http {
  startedAt: string
  quick: boolean
  tokenLength: number
  connections: number
  warmupSeconds: number
  durationSeconds: number
  passes?: number
  distinctPool: number
  runs: HttpRun[]
}

interface Jwks {
  startedAt: string
  jwksDelayMs: number
  timeLimitMs: number
  clients: { id: string; label: string }[]
  scenarios: {
    id: string
    label: string
    outcomes: {
      client: string
      fetches: number
      accepted: number
      rejected: number
      pending: number
    }[]
  }[]
}

/** bench/dpop.ts's section (issue #11). */
interface Dpop {
  results: { id: string; cpuUs: number }[]
  ratios: {
    dpopOverFloor: number
    bearerRepeatedAfterOverBefore: number
    bearerDistinctAfterOverBefore: number
  }
  memory: { rate: number; checkpoints: { proofs: number; entries: number; heapMiB: number }[] }
}

interface Memory {
  startedAt: string
  quick: boolean
  chunk: number
  runs: {
    cache: 'on' | 'off'
    tokens: number
    seconds: number
    peakRssMB: number
    peakHeapUsedMB: number
    samples: { tokens: number; heapUsedMB: number; rssMB: number }[]
  }[]
}

interface Tricks {
  startedAt: string
  quick: boolean
  tokenLength: number
  poolSize: number
  rounds: number
  roundMs: number
  processPairs: number
  processRounds: number
  /** Rounds per side in each pair of the DPoP rows (absent before they came). */
  dpopRounds?: number
  paysAt: number
  results: {
    id: string
    trick: string
    file: string
    path: string
    off: string
    check: boolean
    mode: 'interleaved' | 'processes'
    opsPerRound: number
    rounds: number
    onMinUs: number
    onMedianUs: number
    offMinUs: number
    offMedianUs: number
    savingMin: number
    savingMedian: number
    pays: boolean
    gc?: {
      on: { minor: number; major: number; ms: number }
      off: { minor: number; major: number; ms: number }
    }
  }[]
}

const ALGS = ['RS256', 'ES256'] as const
/** The in-process rows, in table order; `string-copy` only serves the fresh-string row. */
const CASE_ORDER = [
  'floor',
  'floor-decode',
  'bg-distinct',
  'bg-nocache',
  'bg-decide-distinct',
  'bg-auth-distinct',
  'fast-jwt',
  'jsonwebtoken',
  'jose',
  'bg-hit',
  'bg-hit-full',
  'bg-auth-hit',
  'bg-hit-fresh',
  'fast-jwt-hit',
  'bg-reject',
  'jose-reject',
  'fast-jwt-reject',
]
const SHORT_LABELS: Record<string, string> = {
  floor: 'floor (crypto.verify)',
  'floor-decode': 'floor + decode',
  'bg-distinct': 'bearer-guard, distinct',
  'bg-nocache': 'bearer-guard, distinct, cache off',
  'bg-decide-distinct': 'bearer-guard decide(request), distinct',
  'bg-auth-distinct': 'bearer-guard authenticate(), distinct',
  'fast-jwt': 'fast-jwt, cache off',
  jsonwebtoken: 'jsonwebtoken',
  jose: 'jose jwtVerify',
  'bg-hit': 'bearer-guard, repeated (hit)',
  'bg-hit-full': 'bearer-guard, repeated, cache full',
  'bg-auth-hit': 'bearer-guard authenticate(), repeated',
  'bg-hit-fresh': 'bearer-guard, repeated, new string',
  'fast-jwt-hit': 'fast-jwt, its cache, repeated',
  'bg-reject': 'bearer-guard, expired token',
  'jose-reject': 'jose, expired token',
  'fast-jwt-reject': 'fast-jwt, expired token',
}

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a')
const fmtInt = (value: number) =>
  Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a'
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a')
const verdict = (met: boolean | undefined) =>
  met === undefined ? 'not measured' : met ? '**met**' : '**missed**'

function caseOf(section: InProcess, alg: string, id: string): CaseResult | undefined {
  return section.algs[alg]?.cases.find((entry) => entry.id === id)
}

/** CPU µs of a case; the fresh-string row has the cost of making the string taken out. */
function cpuOf(section: InProcess, alg: string, id: string): number {
  const found = caseOf(section, alg, id)
  if (found === undefined) return Number.NaN
  if (id !== 'bg-hit-fresh') return found.cpuUs
  return found.cpuUs - (caseOf(section, alg, 'string-copy')?.cpuUs ?? 0)
}

function runOf(section: Http, mode: string, target: Target): HttpRun | undefined {
  return section.runs.find((entry) => entry.mode === mode && entry.target === target)
}

interface Target5 {
  what: string
  goal: string
  measured: string
  met: boolean | undefined
}

function targets(results: {
  inprocess?: InProcess
  http?: Http
  jwks?: Jwks
  memory?: Memory
  dpop?: Dpop
}): Target5[] {
  const rows: Target5[] = []
  const { inprocess, http, jwks, memory, dpop } = results
  if (inprocess !== undefined) {
    for (const alg of ALGS) {
      const floor = cpuOf(inprocess, alg, 'floor')
      const distinct = cpuOf(inprocess, alg, 'bg-distinct')
      const fast = cpuOf(inprocess, alg, 'fast-jwt')
      rows.push({
        what: `in-process, distinct tokens, ${alg}`,
        goal: '≤ 1.40× floor, ahead of fast-jwt',
        measured: `${ratio(distinct / floor)} floor (${fmt(distinct)} µs vs ${fmt(floor)} µs); fast-jwt ${ratio(fast / floor)} (${fmt(fast)} µs)`,
        met: distinct / floor <= 1.4 && distinct < fast,
      })
    }
    for (const alg of ALGS) {
      const decode = cpuOf(inprocess, alg, 'floor-decode')
      const decide = cpuOf(inprocess, alg, 'bg-decide-distinct')
      const distinct = cpuOf(inprocess, alg, 'bg-distinct')
      const fast = cpuOf(inprocess, alg, 'fast-jwt')
      if (Number.isNaN(decide)) continue
      rows.push({
        what: `in-process, distinct tokens, ${alg}, against floor + decode (#10)`,
        goal: '≤ 1.10× floor + decode, ahead of fast-jwt (decide(), the path of every request)',
        measured: `decide() ${ratio(decide / decode)} (${fmt(decide)} µs vs ${fmt(decode)} µs); verify(), awaited, ${ratio(distinct / decode)}; fast-jwt ${ratio(fast / decode)}`,
        met: decide / decode <= 1.1 && decide < fast,
      })
    }
    for (const alg of ALGS) {
      const floor = cpuOf(inprocess, alg, 'floor')
      const hit = cpuOf(inprocess, alg, 'bg-hit')
      const fresh = cpuOf(inprocess, alg, 'bg-hit-fresh')
      const fastHit = cpuOf(inprocess, alg, 'fast-jwt-hit')
      const full = cpuOf(inprocess, alg, 'bg-hit-full')
      rows.push({
        what: `in-process, repeated token, ${alg}`,
        goal: '≥ 20× cheaper than the floor',
        measured: `${fmt(floor / hit, 0)}× cheaper (${fmt(hit, 2)} µs); as a new string each call ${fmt(floor / fresh, 0)}×; fast-jwt's cache ${fmt(floor / fastHit, 0)}×`,
        met: floor / hit >= 20,
      })
      rows.push({
        what: `in-process, repeated token, ${alg}, cache full (1,000 tokens)`,
        goal: '≥ 20× cheaper than the floor',
        measured: `${fmt(floor / full, 0)}× cheaper (${fmt(full, 2)} µs)`,
        met: floor / full >= 20,
      })
    }
  }
  if (http !== undefined) {
    for (const [target, goal] of [
      ['express-bearer-guard', 0.95],
      ['koa-bearer-guard', 0.9],
    ] as const) {
      const run = runOf(http, 'repeated', target)
      const bare = runOf(http, 'repeated', bareOf(target))
      if (run === undefined || bare === undefined) continue
      const rps = run.requestsPerSec / bare.requestsPerSec
      const cpu = bare.serverCpuUsPerRequest / run.serverCpuUsPerRequest
      const noop = runOf(http, 'repeated', target.replace('bearer-guard', 'noop') as Target)
      const syncNoop = runOf(
        http,
        'repeated',
        target.replace('bearer-guard', 'sync-noop') as Target,
      )
      const reference = [
        noop === undefined
          ? ''
          : `; an empty async middleware: ${ratio(noop.requestsPerSec / bare.requestsPerSec)} req/s, ${fmt(noop.serverCpuUsPerRequest)} µs`,
        syncNoop === undefined
          ? ''
          : `; an empty sync middleware: ${ratio(syncNoop.requestsPerSec / bare.requestsPerSec)} req/s, ${fmt(syncNoop.serverCpuUsPerRequest)} µs`,
      ].join('')
      rows.push({
        what: `HTTP, repeated token, ${TARGET_LABELS[target]}`,
        goal: `≥ ${goal.toFixed(2)}× ${TARGET_LABELS[bareOf(target)]}`,
        measured: `${ratio(rps)} req/s (${fmtInt(run.requestsPerSec)} vs ${fmtInt(bare.requestsPerSec)}); server CPU per request ${ratio(cpu)} of bare's capacity (${fmt(run.serverCpuUsPerRequest)} vs ${fmt(bare.serverCpuUsPerRequest)} µs)${reference}`,
        met: rps >= goal,
      })
    }
    for (const framework of ['express', 'koa'] as const) {
      const ours = runOf(http, 'distinct', `${framework}-bearer-guard`)
      const peers = TARGETS.filter((target) => target.startsWith(framework) && isPeer(target))
        .map((target) => runOf(http, 'distinct', target))
        .filter((run): run is HttpRun => run !== undefined)
      if (ours === undefined || peers.length === 0) continue
      const best = peers.reduce((a, b) => (a.requestsPerSec >= b.requestsPerSec ? a : b))
      const leastCpu = peers.reduce((a, b) =>
        a.serverCpuUsPerRequest <= b.serverCpuUsPerRequest ? a : b,
      )
      const floor = runOf(http, 'distinct', `${framework}-floor` as Target)
      const reference =
        floor === undefined
          ? ''
          : `; a hand-written floor middleware: ${fmtInt(floor.requestsPerSec)} req/s, ${fmt(floor.serverCpuUsPerRequest)} µs/req (bearer-guard ${ratio(ours.requestsPerSec / floor.requestsPerSec)} its req/s)`
      rows.push({
        what: `HTTP, distinct tokens, ${framework === 'express' ? 'Express' : 'Koa'}`,
        goal: 'ahead of every peer',
        measured: `${fmtInt(ours.requestsPerSec)} req/s vs best peer ${fmtInt(best.requestsPerSec)} (${best.target}), ${ratio(ours.requestsPerSec / best.requestsPerSec)}; server CPU ${fmt(ours.serverCpuUsPerRequest)} µs/req vs ${fmt(leastCpu.serverCpuUsPerRequest)} (${leastCpu.target})${reference}`,
        met: ours.requestsPerSec > best.requestsPerSec,
      })
    }
  }
  if (jwks !== undefined) {
    const cold = jwks.scenarios
      .find((scenario) => scenario.id === 'cold-start')
      ?.outcomes.find((outcome) => outcome.client === 'bearer-guard')
    if (cold !== undefined) {
      rows.push({
        what: 'JWKS, cold start under 500 concurrent requests',
        goal: 'one fetch',
        measured: `${cold.fetches} fetch${cold.fetches === 1 ? '' : 'es'}, ${cold.accepted} of 500 accepted`,
        met: cold.fetches === 1 && cold.accepted === 500,
      })
    }
  }
  if (memory !== undefined) {
    for (const run of memory.runs) {
      const flat = flatness(run.samples)
      rows.push({
        what: `memory, ${fmtInt(run.tokens)} distinct tokens, cache ${run.cache}`,
        goal: 'flat once the cache is full',
        measured: `heap after GC ${fmt(flat.first, 2)} MB at ${fmtInt(flat.firstTokens)} tokens, ${fmt(flat.last, 2)} MB at ${fmtInt(flat.lastTokens)} (max ${fmt(flat.max, 2)}); peak RSS ${fmt(run.peakRssMB)} MB`,
        met: flat.max - flat.first < 1,
      })
    }
  }
  if (dpop !== undefined) rows.push(...dpopTargets(dpop))
  return rows
}

/** Issue #11's figures, from bench/dpop.ts. */
function dpopTargets(dpop: Dpop): Target5[] {
  const cpu = (id: string) => dpop.results.find((entry) => entry.id === id)?.cpuUs ?? Number.NaN
  const { dpopOverFloor, bearerRepeatedAfterOverBefore, bearerDistinctAfterOverBefore } =
    dpop.ratios
  const heap = dpop.memory.checkpoints.map((checkpoint) => checkpoint.heapMiB)
  // The store fills for its ttl (180 s at the rate: 360,000 proofs), its Map grows once more
  // with the deletions, then holds: flat over the last 40 % of the run.
  const total = dpop.memory.checkpoints.at(-1)?.proofs ?? 0
  const steady = dpop.memory.checkpoints.filter((checkpoint) => checkpoint.proofs >= total * 0.6)
  const steadyHeap = steady.map((checkpoint) => checkpoint.heapMiB)
  const spread = Math.max(...steadyHeap) - Math.min(...steadyHeap)
  return [
    {
      what: 'DPoP request, repeated ES256 token, fresh proof (#11)',
      goal: "≤ 1.15× the proof's own `crypto.verify` (ES256)",
      measured: `${ratio(dpopOverFloor)} (${fmt(cpu('dpop-repeated'))} µs vs ${fmt(cpu('floor'))} µs)`,
      met: dpopOverFloor <= 1.15,
    },
    {
      what: 'Bearer-only traffic against the core before DPoP (#11)',
      goal: 'not slower (≤ 1.05×: within this machine’s noise)',
      measured: `repeated token ${ratio(bearerRepeatedAfterOverBefore)}, distinct ES256 tokens ${ratio(bearerDistinctAfterOverBefore)}`,
      met: bearerRepeatedAfterOverBefore <= 1.05 && bearerDistinctAfterOverBefore <= 1.05,
    },
    {
      what: `DPoP replay store, ${fmtInt(dpop.memory.checkpoints.at(-1)?.proofs ?? 0)} proofs at ${fmtInt(dpop.memory.rate)} per second (#11)`,
      goal: 'flat over the last 40 % of the proofs (within 5 %)',
      measured: `heap after GC ${fmt(Math.min(...heap))}–${fmt(Math.max(...heap))} MiB; from ${fmtInt(steady[0]?.proofs ?? 0)} proofs on within ${fmt(spread)} MiB`,
      met: steady.length > 1 && spread <= 0.05 * Math.max(...steadyHeap),
    },
  ]
}

/** Heap after GC from the second sample on (the cache fills within the first 10,000 tokens). */
function flatness(samples: { tokens: number; heapUsedMB: number }[]) {
  const steady = samples.filter((entry) => entry.tokens > 0)
  const first = steady[0] ?? { tokens: 0, heapUsedMB: Number.NaN }
  const last = steady.at(-1) ?? first
  return {
    first: first.heapUsedMB,
    firstTokens: first.tokens,
    last: last.heapUsedMB,
    lastTokens: last.tokens,
    max: Math.max(...steady.map((entry) => entry.heapUsedMB)),
  }
}

function sourceLine(results: Record<string, unknown>): string[] {
  const sources = ['inprocess', 'http', 'jwks', 'memory', 'tricks', 'dpop']
    .map((name) => (results[name] as { source?: Source } | undefined)?.source)
    .filter((source): source is Source => source !== undefined)
  const commits = [...new Set(sources.map((source) => source.commit))]
  const changed = [...new Set(sources.flatMap((source) => source.uncommitted))]
  if (commits.length === 0) return []
  return [
    `- bearer-guard at commit ${commits.join(', ')}${changed.length === 0 ? '' : ` with uncommitted changes to ${changed.join(', ')}`}`,
  ]
}

interface Conditions {
  loadAverage?: { start: number[]; end: number[] }
  priority?: number
}

/** Load average and nice value of each section: the machine may be shared with other work. */
function conditionLines(results: Record<string, unknown>, machine: Machine | undefined): string[] {
  const names: Record<string, string> = {
    inprocess: 'in-process',
    http: 'HTTP',
    jwks: 'JWKS',
    memory: 'memory',
    tricks: 'tricks',
  }
  const parts: string[] = []
  let highest = 0
  for (const [key, name] of Object.entries(names)) {
    const section = results[key] as Conditions | undefined
    if (section?.loadAverage === undefined) continue
    const start = section.loadAverage.start[0] ?? 0
    const end = section.loadAverage.end[0] ?? 0
    // The HTTP part keeps both cores busy itself (client, server, their GC threads), and the
    // 1-minute average carries that into the next part: only the single-threaded in-process
    // part, and the start of the HTTP part, tell of other work on the machine.
    if (key === 'inprocess') highest = Math.max(highest, start, end)
    if (key === 'http') highest = Math.max(highest, start)
    parts.push(
      `${name} ${start.toFixed(1)} → ${end.toFixed(1)}${section.priority ? ` (nice ${section.priority})` : ''}`,
    )
  }
  if (parts.length === 0) return []
  const lines = [`- 1-minute load average at the start and end of each part: ${parts.join('; ')}`]
  if (machine !== undefined && highest > machine.nproc / 2 + 0.5) {
    lines.push(
      `- **The machine was shared with other work during this run** (load above ${machine.nproc / 2 + 0.5} while only the single-threaded part ran): in-process CPU times and HTTP server CPU per request hold up best; HTTP req/s and latency suffer most.`,
    )
  }
  return lines
}

function machineLines(machine: Machine | undefined): string[] {
  if (machine === undefined) return []
  return [
    `- CPU: ${machine.cpuModel}, \`nproc\` = ${machine.nproc}, ${machine.memoryGiB} GiB RAM, ${machine.platform}`,
    `- Node ${machine.node} (V8 ${machine.v8}, OpenSSL ${machine.openssl})`,
  ]
}

function inProcessSection(section: InProcess): string[] {
  const lines = [
    '## In-process: CPU per token',
    '',
    `${section.quick ? '**Quick run (smoke test), not representative.** ' : ''}One core, one token at a time, keys prepared in advance (static keys or an imported key: no network). Each row checks signature, issuer and audience. CPU time is \`process.cpuUsage()\` (user + system, all threads, GC included) over ${section.rounds} interleaved rounds of ${section.roundMs} ms per case; the median round is shown. Distinct rows cycle through ${fmtInt(section.poolSize)} pre-minted tokens; with the cache on, each validator starts with its 1,000-entry cache full and closed to one-off tokens (3,000 other tokens verified first), and the case moves to a fresh one each time it goes round the pool, so every call misses (one validator for the whole run hit on about 3 % of its calls). Run ${section.startedAt}.`,
    '',
  ]
  const header = ['what', ...ALGS.flatMap((alg) => [`${alg} µs`, `${alg} × floor`])]
  lines.push(
    `| ${header.join(' | ')} |`,
    `| --- | ${header
      .slice(1)
      .map(() => '---:')
      .join(' | ')} |`,
  )
  const labelOf = (id: string) =>
    ALGS.map((alg) => caseOf(section, alg, id)?.label).find((label) => label !== undefined) ?? id
  for (const id of CASE_ORDER) {
    const cells = ALGS.flatMap((alg) => {
      const cpu = cpuOf(section, alg, id)
      const floor = cpuOf(section, alg, 'floor')
      return [fmt(cpu, cpu < 10 ? 2 : 1), ratio(cpu / floor)]
    })
    const label = id === 'bg-hit-fresh' ? `${labelOf(id)} (minus the copy)` : labelOf(id)
    lines.push(`| ${label} | ${cells.join(' | ')} |`)
  }
  const lengths = ALGS.map((alg) => `${alg} ${section.algs[alg]?.tokenLength ?? '?'} characters`)
  lines.push(
    '',
    `Token size: ${lengths.join(', ')} (Entra ID v1.0 delegated claim set). Rounds' spread (min–max µs) is in results.json.`,
    '',
  )
  return lines
}

function httpSection(section: Http): string[] {
  const lines = [
    '## Over HTTP',
    '',
    `${section.quick ? '**Quick run (smoke test), not representative.** ' : ''}autocannon (${section.connections} connections, no pipelining) runs in the parent process, each server in its own child process (the machine has two cores: one each), the JWKS endpoint in the parent. Each mode runs in ${section.passes ?? 1} passes; each pass starts a fresh server process per target (one process can be consistently faster or slower than the next), warms each up for ${section.warmupSeconds} s, then measures every target for ${section.durationSeconds} s in an order that rotates from pass to pass, so that other work on the machine falls on all targets alike; the tables show medians over the passes (every pass is in results.json). RS256, ${section.tokenLength}-character tokens. _Repeated_: one token in every request. _Distinct_: ${fmtInt(section.distinctPool)} tokens rotated across all connections by \`setupRequest\`, each server's measured window going on through the pool where its warm-up stopped, so no server that verifies tokens sees one twice (every cache misses; a row marked _went round the pool_ saw some twice). Server CPU is the child's \`process.cpuUsage()\` over the measured window, read over IPC. _busy_ is server CPU time / wall time: below ~95 % the client, not the server, limited the rate, and the CPU column is the fairer comparison. Run ${section.startedAt}.`,
    '',
  ]
  for (const mode of ['repeated', 'distinct'] as const) {
    lines.push(
      `### ${mode === 'repeated' ? 'One repeated token' : 'Distinct tokens'}`,
      '',
      '| server | req/s | × bare req/s | p99 ms | server CPU µs/req | above bare µs/req | × bare CPU capacity | busy |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    )
    for (const target of TARGETS) {
      const run = runOf(section, mode, target)
      const bare = runOf(section, mode, bareOf(target))
      if (run === undefined) continue
      const isBare = target === bareOf(target)
      const wrapped =
        mode === 'distinct' &&
        (isPeer(target) || target.endsWith('-bearer-guard')) &&
        run.passes?.some((pass) => pass.wrapped === true)
      lines.push(
        `| ${TARGET_LABELS[target]}${wrapped ? ' (_went round the pool_)' : ''} | ${fmtInt(run.requestsPerSec)} | ${bare === undefined ? 'n/a' : ratio(run.requestsPerSec / bare.requestsPerSec)} | ${run.p99Ms} | ${fmt(run.serverCpuUsPerRequest)} | ${isBare || bare === undefined ? '' : fmt(run.serverCpuUsPerRequest - bare.serverCpuUsPerRequest)} | ${bare === undefined ? 'n/a' : ratio(bare.serverCpuUsPerRequest / run.serverCpuUsPerRequest)} | ${fmt(run.serverBusy * 100, 0)} % |`,
      )
      if (run.non2xx > 0 || run.errors > 0) {
        lines.push(`| ↳ ${run.non2xx} non-2xx, ${run.errors} errors |  |  |  |  |  |  |  |`)
      }
    }
    lines.push('')
  }
  lines.push(
    "_× bare CPU capacity_ = bare server CPU per request ÷ this server's: the throughput ratio one would see with the server saturated.",
    '',
  )
  return lines
}

function jwksSection(section: Jwks): string[] {
  const lines = [
    '## JWKS fetches',
    '',
    `Counted at the local JWKS endpoint, which answers after ${section.jwksDelayMs} ms so that concurrent requests overlap a fetch. Unknown \`kid\`s: tokens signed by the real key under random \`kid\`s (an attacker needs no key to send these). A burst is cut off after ${section.timeLimitMs / 1000} s; what is left is _pending_ (requests still waiting). Run ${section.startedAt}.`,
    '',
    `| client | ${section.scenarios.map((scenario) => scenario.label).join(' | ')} |`,
    `| --- | ${section.scenarios.map(() => '---:').join(' | ')} |`,
  ]
  for (const client of section.clients) {
    const cells = section.scenarios.map((scenario) => {
      const outcome = scenario.outcomes.find((entry) => entry.client === client.id)
      if (outcome === undefined) return 'n/a'
      const parts = [`${outcome.accepted} ok`, `${outcome.rejected} rejected`]
      if (outcome.pending > 0) parts.push(`${outcome.pending} pending`)
      return `**${outcome.fetches}** fetch${outcome.fetches === 1 ? '' : 'es'} (${parts.join(', ')})`
    })
    lines.push(`| ${client.label} | ${cells.join(' | ')} |`)
  }
  lines.push('')
  return lines
}

function memorySection(section: Memory): string[] {
  const lines = [
    '## Memory',
    '',
    `${section.quick ? '**Quick run (smoke test), not representative.** ' : ''}A stream of distinct valid ES256 tokens through \`validator.verify\` (static keys), minted in chunks of ${fmtInt(section.chunk)} and dropped after use, each configuration in its own process (\`node --expose-gc\`). Heap is \`heapUsed\` after a full GC after each chunk; peak heap is the highest \`heapUsed\` seen without forcing GC; peak RSS is \`maxRSS\` (it includes the chunk of minted tokens). Run ${section.startedAt}.`,
    '',
  ]
  const run0 = section.runs[0]
  if (run0 === undefined) return lines
  const marks = run0.samples.filter(
    (entry, index) => index === 0 || entry.tokens === section.chunk || entry.tokens % 50_000 === 0,
  )
  lines.push(
    `| cache | tokens | seconds | peak RSS MB | peak heap MB | ${marks.map((entry) => `heap after GC at ${fmtInt(entry.tokens)}`).join(' | ')} |`,
    `| --- | ---: | ---: | ---: | ---: | ${marks.map(() => '---:').join(' | ')} |`,
  )
  for (const run of section.runs) {
    const cells = marks.map((mark) => {
      const found = run.samples.find((entry) => entry.tokens === mark.tokens)
      return found === undefined ? 'n/a' : fmt(found.heapUsedMB, 2)
    })
    lines.push(
      `| ${run.cache} | ${fmtInt(run.tokens)} | ${fmt(run.seconds)} | ${fmt(run.peakRssMB)} | ${fmt(run.peakHeapUsedMB)} | ${cells.join(' | ')} |`,
    )
  }
  lines.push(
    '',
    'Every sample (every 10,000 tokens) is in results.json and drawn in the chart.',
    '',
  )
  return lines
}

function tricksSection(section: Tricks): string[] {
  const pct = (value: number) => `${(value * 100).toFixed(1)} %`
  const us = (value: number) => fmt(value, value < 10 ? 3 : 1)
  const lines = [
    '## Hot-path tricks: on and off',
    '',
    `${section.quick ? '**Quick run (smoke test), not representative.** ' : ''}STYLE.md keeps a trick that makes code less plain only while it saves ≥ ${(section.paysAt * 100).toFixed(0)} % of the path it sits on. _Off_ is the trick's plain alternative, built in bench/tricks/ over the same internal modules; _on_ is the same rebuilt path (bench/tricks/path.ts) with the product's own parts. RS256, ${section.tokenLength}-character tokens, default options (1,000-entry cache). Both sides warm up, then run alternately (on, off, off, on, ...) and are timed by wall clock (\`performance.now()\`); the table shows each side's fastest and median round. Cache-hit and rejection paths run both sides in one process, ${section.rounds} rounds of about ${section.roundMs} ms. Distinct-token paths allocate garbage whose collection a round of a few ms mostly misses, and a shared heap would bill one side's garbage to the other: there each side has a process of its own (${section.processPairs} pairs of processes per trick, as one process can run a few % faster than the next), the sides alternate ${section.processRounds} rounds of about ${section.roundMs} ms in each pair (a pool of ${fmtInt(section.poolSize)} tokens, so every token misses), and each side's GC pauses per token (collections seen by a PerformanceObserver over the measured rounds × their median pause) are added to its round figures; _GCs_ are young-generation + full collections per 10,000 tokens, and the GC pauses per token. The DPoP rows run the same way on a validator with DPoP on: the bound RS256 token repeats (a hit of the bound-token cache) and each request brings a new ES256 proof, checked in full and its \`jti\` stored${section.dpopRounds === undefined ? '' : `; their sides alternate ${section.dpopRounds} rounds in each pair, as their young-generation collections come only every few thousand requests`}. The multi-issuer rows time the product's \`createMultiIssuerValidator\` (two issuers, the token's second) against the same built from a copy of src/ whose trick lines are replaced (bench/tricks/variant.ts; a replacement that no longer matches stops the run). Saving = (off − on) / off; a trick pays when both the fastest and the median rounds show ≥ ${(section.paysAt * 100).toFixed(0)} %. The _check_ rows time the rebuilt path against the product's \`validator.decide\`, or the multi-issuer validator against its unchanged copy: their saving should be about zero, and shows the resolution of the method. Run ${section.startedAt}.`,
    '',
    '| trick | file | path | off (plain alternative) | on µs, min / median | off µs, min / median | saving, min / median | GCs per 10k, on / off | verdict |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |',
  ]
  for (const row of section.results) {
    const gc =
      row.gc === undefined
        ? ''
        : `${fmt(row.gc.on.minor)}+${fmt(row.gc.on.major)} (${fmt(row.gc.on.ms / 10, 2)} µs) / ${fmt(row.gc.off.minor)}+${fmt(row.gc.off.major)} (${fmt(row.gc.off.ms / 10, 2)} µs)`
    const verdictText = row.check
      ? 'check (≈ 0 expected)'
      : row.pays
        ? `**pays** (≥ ${(section.paysAt * 100).toFixed(0)} %)`
        : '**does not pay**'
    lines.push(
      `| $row.trick| $row.file| $row.path| $row.off| $us(row.onMinUs)/ ${us(row.onMedianUs)} | ${us(row.offMinUs)} / $us(row.offMedianUs)| $pct(row.savingMin)/ ${pct(row.savingMedian)} | ${gc} | ${verdictText} |`,
    )
  }
  lines.push(
    '',
    "The check rows' savings are the method's noise on their path: a saving on the same path no larger than theirs is not resolved by the run. Every round of every side is in results.json.",
    '',
  )
  return lines
}

// ---------------------------------------------------------------------------------------------
// The chart: three panels of horizontal bars, all ratios from the same run.

interface Bar {
  label: string
  value: number
  text: string
  color: string
}

const COLORS = { ours: '#1f6feb', peer: '#8b949e', floor: '#2da44e', alt: '#bf8700' }

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function panel(
  title: string,
  bars: Bar[],
  y: number,
  options: { max: number; marks: { at: number; label: string }[] },
): { svg: string; height: number } {
  const left = 300
  const width = 440
  const rowHeight = 20
  const parts = [`<text x="10" y="${y + 16}" class="title">${escapeXml(title)}</text>`]
  const top = y + 28
  const scale = (value: number) => (Math.min(value, options.max) / options.max) * width
  bars.forEach((bar, index) => {
    const rowY = top + index * rowHeight
    const barWidth = Math.max(1, scale(bar.value))
    parts.push(
      `<text x="${left - 8}" y="${rowY + 13}" class="label">${escapeXml(bar.label)}</text>`,
      `<rect x="${left}" y="${rowY + 3}" width="${barWidth.toFixed(1)}" height="${rowHeight - 6}" fill="${bar.color}"/>`,
      `<text x="${(left + barWidth + 4).toFixed(1)}" y="${rowY + 13}" class="value">${escapeXml(bar.text)}</text>`,
    )
  })
  const bottom = top + bars.length * rowHeight
  for (const mark of options.marks) {
    const x = left + scale(mark.at)
    parts.push(
      `<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${bottom}" class="mark"/>`,
      `<text x="${x.toFixed(1)}" y="${bottom + 12}" class="marktext">${escapeXml(mark.label)}</text>`,
    )
  }
  return { svg: parts.join('\n'), height: bottom + 24 - y }
}

/** Heap after GC against tokens verified, one line per cache setting. */
function memoryPanel(memory: Memory, y: number): { svg: string; height: number } {
  const left = 300
  const width = 440
  const plotHeight = 110
  const top = y + 28
  const maxTokens = Math.max(...memory.runs.map((run) => run.tokens))
  const maxHeap = Math.max(
    ...memory.runs.flatMap((run) => run.samples.map((entry) => entry.heapUsedMB)),
  )
  const ceiling = Math.ceil((maxHeap * 1.2) / 5) * 5
  const px = (tokens: number) => left + (tokens / maxTokens) * width
  const py = (mb: number) => top + plotHeight - (mb / ceiling) * plotHeight
  const parts = [
    `<text x="10" y="${y + 16}" class="title">Memory: heap after GC (MB) while ${fmtInt(maxTokens)} distinct ES256 tokens stream through verify()</text>`,
    `<line x1="${left}" y1="${top + plotHeight}" x2="${left + width}" y2="${top + plotHeight}" stroke="#57606a"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}" stroke="#57606a"/>`,
    `<text x="${left - 6}" y="${top + 4}" class="label">${ceiling} MB</text>`,
    `<text x="${left - 6}" y="${top + plotHeight}" class="label">0</text>`,
    `<text x="${left + width}" y="${top + plotHeight + 14}" class="marktext" style="fill:#57606a">${fmtInt(maxTokens)} tokens</text>`,
  ]
  memory.runs.forEach((run, index) => {
    const color = run.cache === 'on' ? COLORS.ours : COLORS.alt
    const points = run.samples
      .map((entry) => `${px(entry.tokens).toFixed(1)},${py(entry.heapUsedMB).toFixed(1)}`)
      .join(' ')
    const last = run.samples.at(-1)
    parts.push(
      `<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"/>`,
      `<text x="10" y="${top + 40 + index * 18}" class="value" style="fill:${color}">cache ${run.cache}: ${fmt(last?.heapUsedMB ?? Number.NaN, 1)} MB at the end, peak RSS ${fmt(run.peakRssMB, 0)} MB</text>`,
    )
  })
  return { svg: parts.join('\n'), height: plotHeight + 50 }
}

function chart(
  inprocess: InProcess | undefined,
  http: Http | undefined,
  memory: Memory | undefined,
  machine: Machine | undefined,
): string {
  const panels: string[] = []
  let y = 40
  if (inprocess !== undefined) {
    const ids = [
      'floor-decode',
      'bg-distinct',
      'bg-nocache',
      'fast-jwt',
      'jsonwebtoken',
      'jose',
      'bg-hit',
      'bg-hit-full',
      'fast-jwt-hit',
    ]
    for (const alg of ALGS) {
      const floor = cpuOf(inprocess, alg, 'floor')
      const bars = ids
        .filter((id) => caseOf(inprocess, alg, id) !== undefined)
        .map((id) => {
          const value = cpuOf(inprocess, alg, id) / floor
          return {
            label: SHORT_LABELS[id] ?? id,
            value,
            text: `${value < 0.1 ? value.toFixed(3) : value.toFixed(2)}× (${fmt(cpuOf(inprocess, alg, id), value < 0.1 ? 2 : 1)} µs)`,
            color: id.startsWith('bg-')
              ? COLORS.ours
              : id.startsWith('floor')
                ? COLORS.floor
                : COLORS.peer,
          }
        })
      const max = Math.max(2, ...bars.map((bar) => bar.value))
      const made = panel(
        `In-process CPU per token, ${alg}, × floor (crypto.verify = 1; floor ${fmt(floor)} µs)`,
        bars,
        y,
        {
          max: Math.ceil(max),
          marks: [
            { at: 1, label: 'floor' },
            { at: 1.4, label: '1.4' },
          ],
        },
      )
      panels.push(made.svg)
      y += made.height + 16
    }
  }
  if (http !== undefined) {
    for (const mode of ['repeated', 'distinct'] as const) {
      const bars = TARGETS.filter((target) => target !== bareOf(target))
        .map((target) => ({
          target,
          run: runOf(http, mode, target),
          bare: runOf(http, mode, bareOf(target)),
        }))
        .filter((entry) => entry.run !== undefined && entry.bare !== undefined)
        .map(({ target, run, bare }) => {
          const value = (run as HttpRun).requestsPerSec / (bare as HttpRun).requestsPerSec
          return {
            label: TARGET_LABELS[target]
              .replace(' (prepared verifier per key, its cache on)', '')
              .replace(
                ' an async middleware that only reads the header (reference)',
                ' empty async middleware',
              )
              .replace(
                ' a synchronous middleware that only reads the header (reference)',
                ' empty sync middleware',
              )
              .replace(/ a hand-written floor middleware .*$/, ' hand-written floor'),
            value,
            text: `${value.toFixed(2)}× (${fmtInt((run as HttpRun).requestsPerSec)} req/s)`,
            color: target.endsWith('bearer-guard')
              ? COLORS.ours
              : target.endsWith('-noop') || target.endsWith('-floor')
                ? COLORS.floor
                : COLORS.peer,
          }
        })
      const made = panel(
        `HTTP req/s, ${mode === 'repeated' ? 'one repeated token' : 'distinct tokens'}, × bare framework (Express 5 / Koa 3)`,
        bars,
        y,
        {
          max: 1.2,
          marks: [
            { at: 0.9, label: '0.90' },
            { at: 0.95, label: '0.95' },
            { at: 1, label: 'bare' },
          ],
        },
      )
      panels.push(made.svg)
      y += made.height + 16
    }
  }
  if (memory !== undefined && memory.runs.length > 0) {
    const made = memoryPanel(memory, y)
    panels.push(made.svg)
    y += made.height + 16
  }
  const caption =
    machine === undefined ? '' : `${machine.cpuModel}, ${machine.nproc} cores, Node ${machine.node}`
  const height = y + 10
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="${height}" viewBox="0 0 900 ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">`,
    '<title>bearer-guard benchmark ratios: in-process CPU per token, HTTP throughput, memory</title>',
    '<style>.title{font-size:14px;font-weight:600;fill:#24292f}.label{font-size:12px;fill:#24292f;text-anchor:end}.value{font-size:11px;fill:#57606a}.mark{stroke:#cf222e;stroke-dasharray:3 3}.marktext{font-size:10px;fill:#cf222e;text-anchor:middle}.caption{font-size:11px;fill:#57606a}</style>',
    '<rect width="100%" height="100%" fill="#ffffff"/>',
    `<text x="10" y="20" class="title">bearer-guard benchmarks (npm run bench): ratios from one run</text>`,
    `<text x="10" y="34" class="caption">${escapeXml(caption)}; blue: bearer-guard, green: floor, grey: peers; lower is better in-process, higher is better over HTTP</text>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n')
}

/** Pads every markdown table so its columns line up (as Biome formats markdown). */
function alignTables(markdown: string): string {
  const lines = markdown.split('\n')
  const out: string[] = []
  for (let i = 0; i < lines.length; ) {
    if (!lines[i]?.startsWith('|')) {
      out.push(lines[i] as string)
      i++
      continue
    }
    const block: string[][] = []
    while (lines[i]?.startsWith('|')) {
      block.push(
        (lines[i] as string)
          .slice(1, -1)
          .split('|')
          .map((cell) => cell.trim()),
      )
      i++
    }
    const right = (block[1] ?? []).map((cell) => cell.endsWith(':'))
    const width = (cell: string) => [...cell].length
    const widths = (block[0] ?? []).map((_, column) =>
      Math.max(3, ...block.filter((_, row) => row !== 1).map((row) => width(row[column] ?? ''))),
    )
    block.forEach((row, index) => {
      const cells = widths.map((size, column) => {
        if (index === 1) return right[column] ? `${'-'.repeat(size - 1)}:` : '-'.repeat(size)
        const cell = row[column] ?? ''
        const pad = ' '.repeat(size - width(cell))
        return right[column] ? pad + cell : cell + pad
      })
      out.push(`| ${cells.join(' | ')} |`)
    })
  }
  return out.join('\n')
}

export function writeReport(): void {
  const results = readResults() as {
    machine?: Machine
    inprocess?: InProcess
    http?: Http
    jwks?: Jwks
    memory?: Memory
    tricks?: Tricks
    dpop?: Dpop
  }
  const lines = [
    '# bearer-guard benchmarks',
    '',
    'Generated by `npm run bench` (bench/run.ts); the raw numbers are in results.json next to this file.',
    'The machine is shared and absolute figures move by ±20–30 % between runs: compare ratios within',
    'one run, which is what every table does.',
    '',
    ...machineLines(results.machine),
    ...sourceLine(results),
    ...conditionLines(results, results.machine),
    `- Written ${new Date().toISOString()}`,
    '',
    '## Targets (issues 5, 10 and 11)',
    '',
    '| target | goal | measured | verdict |',
    '| --- | --- | --- | --- |',
    ...targets(results).map(
      (row) => `| ${row.what} | ${row.goal} | ${row.measured} | ${verdict(row.met)} |`,
    ),
    '',
    '![ratios](chart.svg)',
    '',
    ...(results.inprocess === undefined ? [] : inProcessSection(results.inprocess)),
    ...(results.http === undefined ? [] : httpSection(results.http)),
    ...(results.jwks === undefined ? [] : jwksSection(results.jwks)),
    ...(results.memory === undefined ? [] : memorySection(results.memory)),
    ...(results.tricks === undefined ? [] : tricksSection(results.tricks)),
  ]
  writeFileSync(join(RESULTS_DIR, 'results.md'), `${alignTables(lines.join('\n').trimEnd())}\n`)
  writeFileSync(
    join(RESULTS_DIR, 'chart.svg'),
    chart(results.inprocess, results.http, results.memory, results.machine),
  )
}

if (isMain(import.meta.url)) writeReport()
