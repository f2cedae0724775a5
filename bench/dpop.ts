/**
 * DPoP figures (issue #11), ratios measured in one run:
 *
 * - a DPoP request whose token repeats (a hit of the verified-token cache) against the proof's
 *   own `crypto.verify` floor, ES256: the proof is checked in full on every request (parse, jwk
 *   thumbprint, signature, htm, htu, iat, ath, jkt, replay store);
 * - Bearer-only traffic, repeated and distinct ES256 tokens, with this branch's core and with the
 *   core before DPoP (main at ee2fbd6, extracted by `git archive` into bench/.tmp: not under
 *   node_modules, where the same source ran about 15 % slower under tsx on this machine);
 * - memory of the default replay store over 1,000,000 proofs at a steady rate (a simulated
 *   clock: 2,000 proofs per second, the default ttl of 180 s).
 *
 *   npx tsx bench/dpop.ts            (BENCH_QUICK=1 for a short smoke run)
 */
import { execFileSync } from 'node:child_process'
import { createHash, generateKeyPairSync, randomUUID, verify } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createValidator } from '../src/index.js'
import { createMemoryReplayStore } from '../src/replay-store.js'
import { mintProofs, thumbprintOf } from './lib/dpop-proofs.js'
import { createBenchKeys, toJwks } from './lib/keys.js'
import { type BenchCase, decideCase, runCases, sink } from './lib/measure.js'
import { BENCH_DIR, prepareProcess, writeSection } from './lib/results.js'
import { AUDIENCE, entraClaims, ISSUER, mintPool, mintToken } from './lib/tokens.js'

prepareProcess()

const QUICK = process.env.BENCH_QUICK === '1'
const ROUNDS = QUICK ? 2 : 21
const ROUND_MS = QUICK ? 100 : 100
const PROOFS = QUICK ? 15_000 : 90_000
const BASELINE_COMMIT = 'ee2fbd6'
const ORIGIN = 'https://api.example'

/** The core as it was before this issue, for the Bearer comparison. */
async function loadBaseline(): Promise<typeof import('../src/index.js')> {
  const root = join(BENCH_DIR, '..')
  const dir = join(BENCH_DIR, '.tmp', `baseline-${BASELINE_COMMIT}`)
  if (!existsSync(join(dir, 'src', 'index.ts'))) {
    mkdirSync(dir, { recursive: true })
    const archive = execFileSync('git', ['-C', root, 'archive', BASELINE_COMMIT, 'src'])
    execFileSync('tar', ['-x', '-C', dir], { input: archive })
  }
  return import(join(dir, 'src', 'index.ts'))
}

async function cpuFigures() {
  const keys = createBenchKeys()
  const jwks = toJwks(keys.ec)
  const options = { issuer: ISSUER, audience: AUDIENCE, keys: jwks }
  const client = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const now = Math.floor(Date.now() / 1000)
  const boundToken = mintToken(keys.ec, {
    ...entraClaims(now, Buffer.from(randomUUID())),
    cnf: { jkt: thumbprintOf(client) },
  })
  const proofs = mintProofs(client, boundToken, PROOFS, 'GET', `${ORIGIN}/orders`)
  const dpopValidator = createValidator({ ...options, dpop: { publicOrigin: ORIGIN } })
  let next = 0
  const dpopRequest = () => {
    const proof = proofs[next++]
    if (proof === undefined) throw new Error('out of proofs: raise PROOFS')
    return {
      method: 'GET',
      url: '/orders',
      rawHeaders: ['Host', 'api.example', 'Authorization', `DPoP ${boundToken}`, 'DPoP', proof],
    }
  }
  // Warm the cache: the token is verified once, every later request is a hit plus its proof.
  const first = dpopValidator.decide(dpopRequest())
  if ((first instanceof Promise ? await first : first).error !== undefined) {
    throw new Error('the DPoP request was refused')
  }
  // The floor: the proof's own signature check, with its key prepared.
  const floorInputs = proofs.slice(0, 2_000).map((proof) => {
    const end = proof.lastIndexOf('.')
    return {
      data: Buffer.from(proof.slice(0, end)),
      signature: Buffer.from(proof.slice(end + 1), 'base64url'),
    }
  })
  const publicKey = { key: client.publicKey, dsaEncoding: 'ieee-p1363' as const }
  let floorIndex = 0

  const baseline = await loadBaseline()
  const bearerToken = mintToken(keys.ec, entraClaims(now, Buffer.from(randomUUID())))
  const pool = mintPool(keys.ec, QUICK ? 3_000 : 20_000, now)
  const bearerRequest = (token: string) => ({
    method: 'GET',
    url: '/orders',
    rawHeaders: ['Host', 'api.example', 'Authorization', `Bearer ${token}`],
  })
  const repeated = bearerRequest(bearerToken)
  const distinct = pool.map(bearerRequest)
  const before = baseline.createValidator(options)
  const after = createValidator(options)
  let beforeIndex = 0
  let afterIndex = 0
  const cases: BenchCase[] = [
    {
      id: 'floor',
      label: 'ES256 crypto.verify of the proof (floor)',
      batch(n) {
        for (let i = 0; i < n; i++) {
          const input = floorInputs[floorIndex++ % floorInputs.length] as (typeof floorInputs)[0]
          if (!verify('sha256', input.data, publicKey, input.signature)) throw new Error('floor')
          sink.value += 1
        }
      },
    },
    decideCase('dpop-repeated', 'DPoP request, repeated token, fresh proof', () =>
      dpopValidator.decide(dpopRequest()),
    ),
    decideCase('bearer-repeated-before', 'Bearer, repeated token, before', () =>
      before.decide(repeated),
    ),
    decideCase('bearer-repeated-after', 'Bearer, repeated token, after', () =>
      after.decide(repeated),
    ),
    decideCase('bearer-distinct-before', 'Bearer, distinct ES256 tokens, before', () =>
      before.decide(distinct[beforeIndex++ % distinct.length] as (typeof distinct)[0]),
    ),
    decideCase('bearer-distinct-after', 'Bearer, distinct ES256 tokens, after', () =>
      after.decide(distinct[afterIndex++ % distinct.length] as (typeof distinct)[0]),
    ),
  ]
  // Two groups, each interleaved within itself: the DPoP request against its floor first, then
  // the Bearer sides, whose distinct tokens leave garbage that the collector's helper threads
  // (counted by process.cpuUsage) would otherwise bill to whichever case runs next.
  const results = [
    ...(await runCases(cases.slice(0, 2), { rounds: ROUNDS, roundMs: ROUND_MS })),
    ...(await runCases(cases.slice(2), { rounds: ROUNDS, roundMs: ROUND_MS })),
  ]
  const cpu = Object.fromEntries(results.map((r) => [r.id, r.cpuUs]))
  const ratio = (a: string, b: string) => (cpu[a] as number) / (cpu[b] as number)
  for (const r of results) {
    console.log(`${r.label.padEnd(48)} ${r.cpuUs.toFixed(2).padStart(8)} µs CPU/op`)
  }
  const ratios = {
    dpopOverFloor: ratio('dpop-repeated', 'floor'),
    bearerRepeatedAfterOverBefore: ratio('bearer-repeated-after', 'bearer-repeated-before'),
    bearerDistinctAfterOverBefore: ratio('bearer-distinct-after', 'bearer-distinct-before'),
  }
  console.log(ratios)
  return { results, ratios, proofsUsed: next }
}

/** Heap with the default store after every 100,000 proofs, at 2,000 proofs per simulated second. */
function memoryFigures() {
  const store = createMemoryReplayStore()
  const realNow = Date.now
  let clock = realNow()
  const rate = 2_000
  const ttl = 180
  const checkpoints: Array<{ proofs: number; entries: number; heapMiB: number }> = []
  Date.now = () => clock
  try {
    for (let i = 1; i <= 1_000_000; i++) {
      if (!store.add(createHash('sha256').update(String(i)).digest('base64url'), ttl)) {
        throw new Error('a fresh id was refused')
      }
      if (i % (rate / 1000) === 0) clock += 1
      if (i % 100_000 === 0) {
        globalThis.gc?.()
        checkpoints.push({
          proofs: i,
          entries: store.size,
          heapMiB: Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10,
        })
      }
    }
  } finally {
    Date.now = realNow
  }
  console.table(checkpoints)
  return { rate, ttl, checkpoints }
}

const cpu = await cpuFigures()
const memory = memoryFigures()
if (!QUICK) writeSection('dpop', { ...cpu, memory })
