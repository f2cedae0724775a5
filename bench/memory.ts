/**
 * Memory over a stream of 200,000 distinct valid ES256 tokens through `validator.verify`, with
 * the verified-token cache on (default size) and off, each in its own process (so peak RSS is
 * that of one configuration). Tokens are minted in chunks of 10,000 and dropped after use; after
 * each chunk the heap is measured after a full GC.
 *
 *   npm run bench:memory               (needs node --expose-gc, which the script sets)
 */
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createValidator } from '../src/index.js'
import { createBenchKeys, toJwks } from './lib/keys.js'
import { prepareProcess, writeSection } from './lib/results.js'
import { AUDIENCE, entraClaims, ISSUER, mintToken } from './lib/tokens.js'
import { writeReport } from './report.js'

prepareProcess()

const QUICK = process.env.BENCH_QUICK === '1'
const TOTAL = QUICK ? 40_000 : 200_000
const CHUNK = 10_000
const MB = 2 ** 20

export interface MemorySample {
  tokens: number
  heapUsedMB: number
  rssMB: number
  externalMB: number
}

export interface MemoryRun {
  cache: 'on' | 'off'
  tokens: number
  seconds: number
  peakRssMB: number
  peakHeapUsedMB: number
  samples: MemorySample[]
}

async function stream(cache: boolean): Promise<MemoryRun> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  const key = createBenchKeys().ec
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: toJwks(key),
    ...(cache ? {} : { tokenCache: false as const }),
  })
  await validator.warmUp()
  const started = performance.now()
  const samples: MemorySample[] = []
  let peakHeap = 0
  const sample = (tokens: number) => {
    gc()
    const usage = process.memoryUsage()
    samples.push({
      tokens,
      heapUsedMB: usage.heapUsed / MB,
      rssMB: usage.rss / MB,
      externalMB: usage.external / MB,
    })
  }
  sample(0)
  for (let done = 0; done < TOTAL; ) {
    const now = Math.floor(Date.now() / 1000)
    let chunk: string[] | undefined = Array.from({ length: CHUNK }, () =>
      mintToken(key, entraClaims(now, randomBytes(24))),
    )
    for (let i = 0; i < chunk.length; i++) {
      const auth = await validator.verify(chunk[i] as string)
      if (auth.tenantId === undefined) throw new Error('unexpected AuthInfo')
      if (i % 1_000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)
    }
    done += chunk.length
    chunk = undefined
    sample(done)
  }
  return {
    cache: cache ? 'on' : 'off',
    tokens: TOTAL,
    seconds: (performance.now() - started) / 1000,
    peakRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
    peakHeapUsedMB: peakHeap / MB,
    samples,
  }
}

function inChild(cache: 'on' | 'off'): Promise<MemoryRun> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', cache], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000)
    child.once('message', (message) => resolve(message as MemoryRun))
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) reject(new Error(`memory child (${cache}) exited with ${code}`))
    })
  })
}

if (process.argv[2] === '--child') {
  const run = await stream(process.argv[3] === 'on')
  process.send?.(run, () => process.exit(0))
} else {
  const startedAt = new Date().toISOString()
  const runs: MemoryRun[] = []
  for (const cache of ['on', 'off'] as const) {
    const run = await inChild(cache)
    runs.push(run)
    const last = run.samples.at(-1) as MemorySample
    console.error(
      `[memory] cache ${cache}: ${run.tokens} tokens in ${run.seconds.toFixed(1)} s, peak RSS ${run.peakRssMB.toFixed(1)} MB, peak heap ${run.peakHeapUsedMB.toFixed(1)} MB, heap after GC ${run.samples.map((entry) => entry.heapUsedMB.toFixed(1)).join(' ')} (last ${last.heapUsedMB.toFixed(2)})`,
    )
  }
  writeSection('memory', {
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: QUICK,
    alg: 'ES256',
    chunk: CHUNK,
    runs,
  })
  if (process.env.BENCH_SKIP_REPORT !== '1') writeReport()
}
