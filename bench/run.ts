/**
 * `npm run bench`: every benchmark in one run, each in its own process, one after the other
 * (in-process, HTTP, JWKS, memory, tricks, DPoP), then bench/results/results.md and chart.svg.
 * About 15 minutes on two cores. BENCH_QUICK=1 makes a short smoke run (its results say so).
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { prepareProcess, RESULTS_JSON, writeSection } from './lib/results.js'
import { writeReport } from './report.js'

prepareProcess()

const STEPS: { name: string; script: string; nodeArgs: string[]; limitS: number }[] = [
  { name: 'in-process', script: 'inprocess.ts', nodeArgs: [], limitS: 300 },
  { name: 'HTTP', script: 'http.ts', nodeArgs: [], limitS: 600 },
  { name: 'JWKS', script: 'jwks.ts', nodeArgs: [], limitS: 180 },
  { name: 'memory', script: 'memory.ts', nodeArgs: [], limitS: 420 },
  { name: 'tricks', script: 'tricks.ts', nodeArgs: [], limitS: 480 },
  { name: 'DPoP', script: 'dpop.ts', nodeArgs: ['--expose-gc'], limitS: 300 },
]

function step(script: string, nodeArgs: string[], limitS: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [...nodeArgs, '--import', 'tsx', fileURLToPath(new URL(script, import.meta.url))],
      { stdio: 'inherit', env: { ...process.env, BENCH_SKIP_REPORT: '1' } },
    )
    const timer = setTimeout(() => {
      console.error(`[bench] ${script} went over ${limitS} s: stopped`)
      child.kill('SIGKILL')
    }, limitS * 1000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code ?? 1)
    })
  })
}

const started = performance.now()
// A fresh results.json: every section of the report comes from this run.
writeFileSync(RESULTS_JSON, '{}\n')
let failed = 0
for (const { name, script, nodeArgs, limitS } of STEPS) {
  const stepStarted = performance.now()
  console.error(`[bench] ${name}...`)
  const code = await step(script, nodeArgs, limitS)
  if (code !== 0) failed++
  console.error(
    `[bench] ${name} ${code === 0 ? 'done' : `failed (exit ${code})`} in ${((performance.now() - stepStarted) / 1000).toFixed(0)} s`,
  )
}
writeSection('run', { seconds: (performance.now() - started) / 1000, failedSteps: failed })
writeReport()
console.error(
  `[bench] all done in ${((performance.now() - started) / 1000).toFixed(0)} s: bench/results/results.md, bench/results/chart.svg`,
)
process.exitCode = failed === 0 ? 0 : 1
