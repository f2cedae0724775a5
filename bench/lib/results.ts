/**
 * The results file: bench/results/results.json holds one section per benchmark (in-process,
 * HTTP, JWKS, memory), each stamped with its own time, and the machine it ran on.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, getPriority, loadavg, setPriority, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)))
export const RESULTS_DIR = join(BENCH_DIR, 'results')
export const RESULTS_JSON = join(RESULTS_DIR, 'results.json')
/** Scratch space of one run (git-ignored): keys, configs, profiles. */
export const TMP_DIR = join(BENCH_DIR, '.tmp')

/** Load average when this process started: each benchmark runs in a process of its own. */
const LOAD_AT_START = loadavg()

/**
 * Makes a benchmark process behave as production would. tsx turns on source-mapped stack traces,
 * which make every error several times dearer to build (rejections would look slower than in a
 * plain `node` process running the built package), so they are turned off again. And
 * BENCH_PRIORITY=-10 runs the benchmarks at that nice value (children inherit it), for a machine
 * shared with other work; negative values need root or CAP_SYS_NICE. Results record it.
 */
export function prepareProcess(): void {
  process.setSourceMapsEnabled(false)
  const wanted = process.env.BENCH_PRIORITY
  if (wanted === undefined || wanted === '') return
  try {
    setPriority(0, Number(wanted))
  } catch (error) {
    console.error(`[bench] BENCH_PRIORITY=${wanted} refused: ${(error as Error).message}`)
  }
}

export interface Machine {
  nproc: number
  cpuModel: string
  memoryGiB: number
  node: string
  v8: string
  openssl: string
  platform: string
}

export function machineInfo(): Machine {
  let nproc = cpus().length
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim())
  } catch {
    // nproc missing: os.cpus() is the same number on Linux.
  }
  let cpuModel = cpus()[0]?.model ?? 'unknown'
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('model name'))
    if (line !== undefined) cpuModel = line.slice(line.indexOf(':') + 1).trim()
  } catch {
    // Not Linux: keep os.cpus().
  }
  return {
    nproc,
    cpuModel,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    v8: process.versions.v8,
    openssl: process.versions.openssl ?? 'unknown',
    platform: `${process.platform} ${process.arch}`,
  }
}

export interface Source {
  commit: string
  /** Files of src/ and adapters/ that differ from the commit: the run measured those edits. */
  uncommitted: string[]
}

/** The commit measured, and any uncommitted change to the library's code. */
export function sourceInfo(): Source {
  const git = (...args: string[]) =>
    execFileSync('git', args, { encoding: 'utf8', cwd: dirname(BENCH_DIR) })
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD').trim(),
      uncommitted: git('status', '--porcelain', '--untracked-files=no', '--', 'src', 'adapters')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(3)),
    }
  } catch {
    return { commit: 'unknown', uncommitted: [] }
  }
}

export type Results = Record<string, unknown> & { machine?: Machine }

export function readResults(): Results {
  if (!existsSync(RESULTS_JSON)) return {}
  return JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as Results
}

/** Replaces one section of results.json (and the machine description). */
export function writeSection(name: string, section: Record<string, unknown>): void {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const results = readResults()
  results[name] = {
    ...section,
    source: sourceInfo(),
    loadAverage: { start: LOAD_AT_START, end: loadavg() },
    priority: getPriority(),
  }
  results.machine = machineInfo()
  writeFileSync(RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`)
}

export function ensureTmp(): string {
  mkdirSync(TMP_DIR, { recursive: true })
  return TMP_DIR
}

/** True when this module is the script node was started with (not imported by run.ts). */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === process.argv[1]
}
