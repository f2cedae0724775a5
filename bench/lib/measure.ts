/**
 * CPU time per operation, measured with process.cpuUsage (user + system, every thread of the
 * process, so garbage collection on helper threads counts too). Cases run round-robin, so a
 * noisy neighbour on a shared machine hits every case alike; each case reports its median round.
 */

import type { Decision } from '../../src/decision.js'

export interface BenchCase {
  readonly id: string
  readonly label: string
  /** Runs `n` operations. */
  batch(n: number): void | Promise<void>
}

export interface CaseResult {
  readonly id: string
  readonly label: string
  /** Median over rounds of CPU µs per operation. */
  readonly cpuUs: number
  readonly cpuUsMin: number
  readonly cpuUsMax: number
  /** Operations per second of wall time, median round. */
  readonly opsPerSec: number
  readonly ops: number
}

/** Keeps results alive so that no call can be optimised away. */
export const sink = { value: 0 }

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

async function round(
  benchCase: BenchCase,
  batchSize: number,
  ms: number,
): Promise<{ cpuUs: number; wallUs: number; ops: number }> {
  let ops = 0
  const cpu = process.cpuUsage()
  const start = performance.now()
  let elapsed = 0
  do {
    await benchCase.batch(batchSize)
    ops += batchSize
    elapsed = performance.now() - start
  } while (elapsed < ms)
  const used = process.cpuUsage(cpu)
  return { cpuUs: used.user + used.system, wallUs: elapsed * 1000, ops }
}

/**
 * Runs every case for `rounds` measured rounds of about `roundMs` each, after one warm-up
 * round, interleaving the cases.
 */
export async function runCases(
  cases: readonly BenchCase[],
  options: { rounds: number; roundMs: number; onRound?: (round: number) => void },
): Promise<CaseResult[]> {
  const batchSizes = new Map<string, number>()
  for (const benchCase of cases) {
    // Calibrate: a batch should take about 5 ms.
    const probe = await round(benchCase, 8, 20)
    const perOpMs = probe.wallUs / 1000 / probe.ops
    batchSizes.set(benchCase.id, Math.max(1, Math.round(5 / perOpMs)))
  }
  const samples = new Map<string, { cpu: number[]; wall: number[]; ops: number }>()
  for (const benchCase of cases) samples.set(benchCase.id, { cpu: [], wall: [], ops: 0 })
  for (let r = 0; r <= options.rounds; r++) {
    for (const benchCase of cases) {
      const result = await round(benchCase, batchSizes.get(benchCase.id) as number, options.roundMs)
      if (r === 0) continue
      const sample = samples.get(benchCase.id) as { cpu: number[]; wall: number[]; ops: number }
      sample.cpu.push(result.cpuUs / result.ops)
      sample.wall.push(result.wallUs / result.ops)
      sample.ops += result.ops
    }
    options.onRound?.(r)
  }
  return cases.map((benchCase) => {
    const sample = samples.get(benchCase.id) as { cpu: number[]; wall: number[]; ops: number }
    return {
      id: benchCase.id,
      label: benchCase.label,
      cpuUs: median(sample.cpu),
      cpuUsMin: Math.min(...sample.cpu),
      cpuUsMax: Math.max(...sample.cpu),
      opsPerSec: 1e6 / median(sample.wall),
      ops: sample.ops,
    }
  })
}

/** A case of `validator.decide` calls, each awaited only when it hands back a promise; a rejection fails the run. */
export function decideCase(
  id: string,
  label: string,
  decide: () => Decision | Promise<Decision>,
): BenchCase {
  return {
    id,
    label,
    async batch(n) {
      for (let i = 0; i < n; i++) {
        const pending = decide()
        const decision = pending instanceof Promise ? await pending : pending
        if (decision.error !== undefined) throw new Error(`${id}: ${decision.error.message}`)
        sink.value += 1
      }
    },
  }
}
