/**
 * `npm run bench:profile`: CPU profiles (node --cpu-prof, 100 µs sampling) of bearer-guard's hot
 * paths, RS256, Entra-sized tokens, static keys, one loop per process for 5 s:
 * - `distinct`: `verify()` with distinct tokens (cache on, every call a miss);
 * - `hit`: `verify()` with one repeated token (the same string object: its hash is cached);
 * - `hit-fresh`: `verify()` with the repeated token as a new string each call, as from a socket;
 * - `auth-hit`: `authenticate('Bearer ' + token)` with the repeated token.
 * Tokens are minted here, before profiling, so the profiles hold only the loops. Prints the
 * heaviest functions; the .cpuprofile files stay in bench/.tmp/profiles/ (Chrome DevTools or
 * speedscope open them). BENCH_PROFILE_MODES=distinct,hit runs only those.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createValidator } from '../src/index.js'
import { createBenchKeys, loadBenchKeys, saveBenchKeys, toJwks } from './lib/keys.js'
import { ensureTmp } from './lib/results.js'
import { AUDIENCE, flat, ISSUER, mintPool } from './lib/tokens.js'
import { summarise } from './profile-summary.js'

const MODES = ['distinct', 'hit', 'hit-fresh', 'auth-hit'] as const
type Mode = (typeof MODES)[number]
const SECONDS = 5
const TMP = ensureTmp()
const KEYS = join(TMP, 'profile-keys.json')
const POOL = join(TMP, 'profile-pool.json')

async function loop(mode: Mode): Promise<void> {
  const key = loadBenchKeys(KEYS).rsa
  const pool = (JSON.parse(readFileSync(POOL, 'utf8')) as string[]).map(flat)
  const validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(key) })
  await validator.warmUp()
  const repeated = pool[0] as string
  const header = flat(`Bearer ${repeated}`)
  const bytes = Buffer.from(repeated, 'latin1')
  const end = performance.now() + SECONDS * 1000
  const cpu = process.cpuUsage()
  let count = 0
  let index = 0
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) {
      if (mode === 'distinct') {
        await validator.verify(pool[index] as string)
        index = index + 1 === pool.length ? 0 : index + 1
      } else if (mode === 'hit') await validator.verify(repeated)
      else if (mode === 'hit-fresh') await validator.verify(bytes.toString('latin1'))
      else await validator.authenticate(header)
      count++
    }
  }
  const used = process.cpuUsage(cpu)
  console.error(
    `[profile] ${mode}: ${count} calls, ${((used.user + used.system) / count).toFixed(2)} CPU µs per call (profiler on)`,
  )
}

function report(mode: Mode, dir: string): void {
  // tsx's loader thread writes a profile too: take the one that ran the loop.
  const found = readdirSync(dir)
    .map((name) => join(dir, name))
    .map((file) => ({ file, ...summarise(file) }))
    .find((entry) => entry.rows.some((row) => row.name.startsWith('loop ')))
  if (found === undefined) return
  const { file, rows } = found
  const loopMs = rows.find((row) => row.name.startsWith('loop '))?.totalMs ?? 1
  const pct = (ms: number) => `${((ms / loopMs) * 100).toFixed(1).padStart(5)} %`
  console.log(
    `\n== ${mode}: ${file}\n   shares are of the loop's ${loopMs.toFixed(0)} ms\n-- self time`,
  )
  for (const row of [...rows].sort((a, b) => b.selfMs - a.selfMs).slice(0, 18)) {
    console.log(`${pct(row.selfMs)}  ${row.name}`)
  }
  console.log('-- inclusive time, bearer-guard frames')
  for (const row of [...rows]
    .filter(
      (entry) => /\bsrc\/|adapters\/|\.ts:/.test(entry.name) && !entry.name.startsWith('loop '),
    )
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, 18)) {
    console.log(`${pct(row.totalMs)}  ${row.name}`)
  }
}

if (process.argv[2] === '--child') {
  await loop(process.argv[3] as Mode)
} else {
  const keys = createBenchKeys()
  saveBenchKeys(keys, KEYS)
  writeFileSync(POOL, JSON.stringify(mintPool(keys.rsa, 10_000)))
  const only = process.env.BENCH_PROFILE_MODES?.split(',')
  for (const mode of MODES) {
    if (only !== undefined && !only.includes(mode)) continue
    const dir = join(TMP, 'profiles', mode)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    spawnSync(
      process.execPath,
      [
        '--cpu-prof',
        '--cpu-prof-interval=100',
        `--cpu-prof-dir=${dir}`,
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--child',
        mode,
      ],
      { stdio: 'inherit', timeout: 120_000 },
    )
    report(mode, dir)
  }
}
