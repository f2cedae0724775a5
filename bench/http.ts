/**
 * Over HTTP: autocannon in this process, each server under test in a child process (its own
 * core of the two), the JWKS endpoint here too. Every target runs in two modes: one repeated
 * token, and a pool of distinct tokens rotated by `setupRequest`; each mode in passes, each pass
 * with fresh, warmed-up servers measured one after the other. Server CPU per request comes from the child's
 * process.cpuUsage over IPC.
 *
 *   npm run bench:http                 (BENCH_QUICK=1 for a short smoke run)
 */
import { type ChildProcess, fork } from 'node:child_process'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { startJwksServer } from './lib/jwks-server.js'
import { createBenchKeys, toJwks } from './lib/keys.js'
import { prepareProcess, writeSection } from './lib/results.js'
import { isPeer, TARGETS, type Target } from './lib/targets.js'
import { mintPool } from './lib/tokens.js'
import { writeReport } from './report.js'

prepareProcess()

const QUICK = process.env.BENCH_QUICK === '1'
const WARMUP_S = QUICK ? 1 : 1.5
const DURATION_S = QUICK ? 1 : 2.5
const PASSES = Number(process.env.BENCH_HTTP_PASSES ?? (QUICK ? 2 : 3))
const CONNECTIONS = 32
/**
 * Distinct mode: more tokens than a server that verifies them answers in a warm-up and a window
 * (up to about 11,000 requests per second here, 4 s), so that no server sees a token twice.
 */
const DISTINCT_POOL = QUICK ? 10_000 : 64_000
/** BENCH_HTTP_TARGETS=koa-bare,koa-bearer-guard runs only those (a partial section). */
const SELECTED = TARGETS.filter(
  (target) =>
    process.env.BENCH_HTTP_TARGETS === undefined ||
    process.env.BENCH_HTTP_TARGETS.split(',').includes(target),
)
const MODES = (['repeated', 'distinct'] as const).filter(
  (mode) =>
    process.env.BENCH_HTTP_MODES === undefined ||
    process.env.BENCH_HTTP_MODES.split(',').includes(mode),
)
const SERVER_SCRIPT = fileURLToPath(new URL('./http-server.ts', import.meta.url))

type Mode = 'repeated' | 'distinct'

interface Running {
  child: ChildProcess
  port: number
  cpu(): Promise<{ user: number; system: number }>
  stop(): Promise<void>
}

async function startServer(target: Target, jwksUri: string): Promise<Running> {
  const child = fork(SERVER_SCRIPT, [target], {
    // BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=bench/.tmp/profiles' profiles the servers.
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ],
    env: { ...process.env, BENCH_JWKS_URI: jwksUri, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${target} did not start in 20 s`)), 20_000)
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`${target} exited with ${code}`)))
    child.on('message', function ready(message: { ready?: number }) {
      if (typeof message?.ready !== 'number') return
      clearTimeout(timer)
      child.off('message', ready)
      resolve(message.ready)
    })
  })
  child.removeAllListeners('exit')
  return {
    child,
    port,
    cpu() {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no cpu answer in 5 s')), 5_000)
        child.on('message', function answer(message: { cpu?: { user: number; system: number } }) {
          if (message?.cpu === undefined) return
          clearTimeout(timer)
          child.off('message', answer)
          resolve(message.cpu)
        })
        child.send('cpu')
      })
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        child.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
        // The child exits on disconnect, normally, so that --cpu-prof can write its profile.
        child.disconnect()
      })
    },
  }
}

/**
 * Where a server is in the distinct pool: its warm-up and its measured window go on from one to
 * the other, so that the window sends tokens the server has not seen (starting the pool again
 * for the window sent the warm-up's tokens a second time, and a cache that kept some hit).
 */
interface Cursor {
  index: number
  /** Whether the server went round the pool: some of its tokens came twice. */
  wrapped: boolean
}

function load(port: number, seconds: number, mode: Mode, pool: readonly string[], cursor: Cursor) {
  const options: autocannon.Options = {
    url: `http://127.0.0.1:${port}/`,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
  }
  if (mode === 'repeated') {
    options.headers = { authorization: `Bearer ${pool[0]}` }
  } else {
    // One cursor for all connections of a server: each request a token it has not seen.
    options.requests = [
      {
        setupRequest(request) {
          const token = pool[cursor.index] as string
          cursor.index++
          if (cursor.index === pool.length) {
            cursor.index = 0
            cursor.wrapped = true
          }
          request.headers = { ...request.headers, authorization: `Bearer ${token}` }
          return request
        },
      },
    ]
  }
  return autocannon(options)
}

/** Whether a target verifies tokens (its distinct figures need every token new). */
const isPeerOrOurs = (target: Target) =>
  isPeer(target) || target.endsWith('-bearer-guard') || target.endsWith('-floor')

/** One measured window of one target. */
interface Pass {
  requestsPerSec: number
  requests: number
  p99Ms: number
  serverCpuUsPerRequest: number
  serverBusy: number
  /** Distinct mode: the server went round the pool, so some tokens came twice. */
  wrapped: boolean
}

export interface HttpRun {
  target: Target
  mode: Mode
  /** Medians over the passes. */
  requestsPerSec: number
  p50Ms: number
  p99Ms: number
  serverCpuUsPerRequest: number
  serverBusy: number
  requests: number
  non2xx: number
  errors: number
  timeouts: number
  passes: Pass[]
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

async function window(server: Running, mode: Mode, pool: readonly string[], cursor: Cursor) {
  const before = await server.cpu()
  const started = performance.now()
  const result = await load(server.port, DURATION_S, mode, pool, cursor)
  const wallUs = (performance.now() - started) * 1000
  const after = await server.cpu()
  const cpuUs = after.user - before.user + (after.system - before.system)
  const requests = result.requests.total
  return {
    result,
    pass: {
      requestsPerSec: requests / DURATION_S,
      requests,
      p99Ms: result.latency.p99,
      serverCpuUsPerRequest: cpuUs / requests,
      serverBusy: cpuUs / wallUs,
      wrapped: cursor.wrapped,
    },
  }
}

/**
 * One mode, in PASSES passes. Each pass starts a fresh server process for every target (one
 * process can be consistently faster or slower than the next, by JIT luck), warms each up, then
 * gives every target one measured window, in an order that rotates from pass to pass, so that
 * other work on a shared machine falls on every target alike. Medians over the passes.
 */
async function runMode(mode: Mode, jwksUri: string, pool: readonly string[]): Promise<HttpRun[]> {
  const runs = new Map<Target, HttpRun>()
  for (const target of SELECTED) {
    runs.set(target, {
      target,
      mode,
      requestsPerSec: 0,
      p50Ms: 0,
      p99Ms: 0,
      serverCpuUsPerRequest: 0,
      serverBusy: 0,
      requests: 0,
      non2xx: 0,
      errors: 0,
      timeouts: 0,
      passes: [],
    })
  }
  for (let pass = 0; pass < PASSES; pass++) {
    const order = SELECTED.map(
      (_, index) => SELECTED[(index + pass * 3) % SELECTED.length] as Target,
    )
    const servers = new Map<Target, Running>()
    try {
      // Started together (an idle server costs nothing), then warmed up one by one.
      const started = await Promise.all(order.map((target) => startServer(target, jwksUri)))
      for (const [index, target] of order.entries()) {
        servers.set(target, started[index] as Running)
      }
      const cursors = new Map<Target, Cursor>()
      for (const target of order) {
        const cursor: Cursor = { index: 0, wrapped: false }
        cursors.set(target, cursor)
        const warm = await load((servers.get(target) as Running).port, WARMUP_S, mode, pool, cursor)
        if (warm.non2xx > 0 || warm.errors > 0) {
          throw new Error(
            `${target} (${mode}): ${warm.non2xx} non-2xx and ${warm.errors} errors in warm-up`,
          )
        }
      }
      for (const target of order) {
        const cursor = cursors.get(target) as Cursor
        const server = servers.get(target) as Running
        const { result, pass: measured } = await window(server, mode, pool, cursor)
        if (mode === 'distinct' && measured.wrapped && isPeerOrOurs(target)) {
          console.error(
            `[http] ${target} went round the ${pool.length}-token pool: tokens repeated`,
          )
        }
        const run = runs.get(target) as HttpRun
        run.passes.push(measured)
        run.requests += measured.requests
        run.non2xx += result.non2xx
        run.errors += result.errors
        run.timeouts += result.timeouts
        run.p50Ms = Math.max(run.p50Ms, result.latency.p50)
      }
    } finally {
      await Promise.all([...servers.values()].map((server) => server.stop()))
    }
    console.error(`[http] ${mode}: pass ${pass + 1}/${PASSES} (load ${loadavg()[0]?.toFixed(1)})`)
  }
  return SELECTED.map((target) => {
    const run = runs.get(target) as HttpRun
    run.requestsPerSec = median(run.passes.map((pass) => pass.requestsPerSec))
    run.p99Ms = median(run.passes.map((pass) => pass.p99Ms))
    run.serverCpuUsPerRequest = median(run.passes.map((pass) => pass.serverCpuUsPerRequest))
    run.serverBusy = median(run.passes.map((pass) => pass.serverBusy))
    console.error(
      `[http] ${mode.padEnd(8)} ${target.padEnd(26)} ${Math.round(run.requestsPerSec).toString().padStart(6)} req/s  p99 ${run.p99Ms} ms  ${run.serverCpuUsPerRequest.toFixed(1)} µs/req  busy ${(run.serverBusy * 100).toFixed(0)} %  non2xx ${run.non2xx}`,
    )
    return run
  })
}

export async function runHttp(): Promise<Record<string, unknown>> {
  const startedAt = new Date().toISOString()
  const keys = createBenchKeys()
  const jwks = await startJwksServer(toJwks(keys.rsa, keys.ec))
  const distinct = mintPool(keys.rsa, DISTINCT_POOL)
  const repeated = mintPool(keys.rsa, 1)
  const runs: HttpRun[] = []
  try {
    for (const mode of MODES) {
      runs.push(...(await runMode(mode, jwks.jwksUri, mode === 'repeated' ? repeated : distinct)))
    }
  } finally {
    await jwks.close()
  }
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: QUICK,
    alg: 'RS256',
    tokenLength: (repeated[0] as string).length,
    connections: CONNECTIONS,
    warmupSeconds: WARMUP_S,
    durationSeconds: DURATION_S,
    passes: PASSES,
    distinctPool: DISTINCT_POOL,
    jwksFetches: jwks.hits,
    runs,
  }
}

const section = await runHttp()
// A run limited by BENCH_HTTP_TARGETS or BENCH_HTTP_MODES is kept apart from the full table.
const partial = SELECTED.length < TARGETS.length || MODES.length < 2
writeSection(partial ? 'httpPartial' : 'http', section)
if (process.env.BENCH_SKIP_REPORT !== '1') writeReport()
