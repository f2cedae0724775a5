/**
 * The two `#crypto` backends on this Node.js process (issue #13): the core bundled with
 * src/crypto-node.ts (what Node, Bun and Deno load) and with src/crypto-web.ts (what workerd and
 * edge-light load), each a `validator.verify()` over distinct tokens (tokenCache off: every one
 * parsed and its signature checked) and over one repeated token (a cache hit). RS256 (RSA-2048)
 * and ES256, Entra-sized tokens, static keys. Cases run interleaved in one process
 * (bench/lib/measure.ts, CPU µs per token, median round), so a noisy machine hits all alike.
 *
 * BENCH_BASELINE=<dir> adds a third build from another copy of src/ (say, `git archive` of an
 * older commit), to time a change to the Node.js path against what it replaces.
 *
 *   npm run bench:backends            (BENCH_QUICK=1 for a short smoke run)
 */
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { type BenchKey, createBenchKeys, toJwks } from './lib/keys.js'
import { type BenchCase, runCases } from './lib/measure.js'
import { BENCH_DIR, ensureTmp, prepareProcess } from './lib/results.js'
import { AUDIENCE, entraClaims, ISSUER, mintPool, mintToken } from './lib/tokens.js'

prepareProcess()

const QUICK = process.env.BENCH_QUICK === '1'
const POOL_SIZE = QUICK ? 2_000 : 20_000
const ROUNDS = QUICK ? 3 : 15
const ROUND_MS = QUICK ? 100 : 250
const SRC = join(BENCH_DIR, '..', 'src')

type CreateValidator = typeof import('../src/index.js').createValidator

interface Build {
  readonly name: string
  readonly createValidator: CreateValidator
}

/** Bundles `src/index.ts` of `src` with `#crypto` as `backend`, packages left external. */
async function bundle(name: string, src: string, backend: 'node' | 'web'): Promise<Build> {
  const outfile = join(ensureTmp(), `backends-${name}.mjs`)
  await build({
    entryPoints: [join(src, 'index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    alias: { '#crypto': join(SRC, `crypto-${backend}.ts`) },
    logLevel: 'silent',
  })
  const module = (await import(pathToFileURL(outfile).href)) as { createValidator: CreateValidator }
  return { name, createValidator: module.createValidator }
}

async function casesFor(builds: readonly Build[], key: BenchKey): Promise<BenchCase[]> {
  const pool = mintPool(key, POOL_SIZE)
  const repeated = mintToken(key, entraClaims(Math.floor(Date.now() / 1000), Buffer.alloc(24)))
  const cases: BenchCase[] = []
  for (const { name, createValidator } of builds) {
    const options = { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(key) }
    const distinct = createValidator({ ...options, tokenCache: false })
    const hit = createValidator(options)
    await Promise.all([distinct.warmUp(), hit.warmUp()])
    let index = 0
    cases.push(
      {
        id: `${name}-distinct`,
        label: `${name}: verify(), distinct tokens, cache off`,
        async batch(n) {
          for (let i = 0; i < n; i++) {
            await distinct.verify(pool[index] as string)
            index = index + 1 === pool.length ? 0 : index + 1
          }
        },
      },
      {
        id: `${name}-hit`,
        label: `${name}: verify(), repeated token (cache hit)`,
        async batch(n) {
          for (let i = 0; i < n; i++) await hit.verify(repeated)
        },
      },
    )
  }
  return cases
}

const builds = [await bundle('node', SRC, 'node'), await bundle('web', SRC, 'web')]
const baseline = process.env.BENCH_BASELINE
if (baseline !== undefined && baseline !== '') {
  builds.unshift(await bundle('baseline', resolve(baseline), 'node'))
}
const keys = createBenchKeys()
for (const key of [keys.rsa, keys.ec]) {
  const results = await runCases(await casesFor(builds, key), { rounds: ROUNDS, roundMs: ROUND_MS })
  const us = (id: string) => results.find((result) => result.id === id)?.cpuUs ?? Number.NaN
  console.log(`\n${key.alg}: CPU µs per token (median of ${ROUNDS} interleaved rounds)`)
  for (const result of results) {
    console.log(
      `  ${result.label.padEnd(52)} ${result.cpuUs.toFixed(2).padStart(8)}  (min ${result.cpuUsMin.toFixed(2)}, max ${result.cpuUsMax.toFixed(2)})`,
    )
  }
  for (const path of ['distinct', 'hit']) {
    const ratios = [`web/node ${(us(`web-${path}`) / us(`node-${path}`)).toFixed(2)}×`]
    if (builds[0]?.name === 'baseline') {
      ratios.unshift(`node/baseline ${(us(`node-${path}`) / us(`baseline-${path}`)).toFixed(3)}×`)
    }
    console.log(`  ${path}: ${ratios.join(', ')}`)
  }
}
