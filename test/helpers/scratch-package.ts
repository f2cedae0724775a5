/**
 * A private copy of the built package for tests that run its output: `tsup` with the project's
 * own configuration (package.json "tsup"), JavaScript only, into a scratch folder under
 * node_modules/.cache, next to a copy of package.json. exports.test.ts rebuilds `dist/` (and
 * empties it first) while other test files run, so nothing here reads `dist/` itself. The folder
 * sits inside the repository so that the built files resolve jose and hono from the
 * project's node_modules, as they would from a dependent's.
 */
import { execFile } from 'node:child_process'
import { copyFile, mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** A built copy of the package: `dir` holds package.json and `dist/`. */
export interface ScratchPackage {
  readonly dir: string
  readonly dist: string
  /** Milliseconds the build took. */
  readonly buildMs: number
  remove(): Promise<void>
}

/** The environment for child processes: whatever loader the test runner uses stays out. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env.NODE_OPTIONS
  return env
}

/**
 * Builds the package into `node_modules/.cache/bearer-guard-<name>/<pid>/`.
 *
 * @example
 * const pkg = await buildScratchPackage('runtimes')
 * afterAll(() => pkg.remove())
 */
export async function buildScratchPackage(name: string): Promise<ScratchPackage> {
  const dir = join(ROOT, 'node_modules', '.cache', `bearer-guard-${name}`, String(process.pid))
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const dist = join(dir, 'dist')
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    execFile(
      join(ROOT, 'node_modules', '.bin', 'tsup'),
      ['--out-dir', dist, '--no-dts', '--silent'],
      { cwd: ROOT, env: childEnv(), timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error === null) resolve()
        else reject(new Error(`tsup failed: ${error.message}\n${stdout}\n${stderr}`))
      },
    )
  })
  const buildMs = performance.now() - started
  await copyFile(join(ROOT, 'package.json'), join(dir, 'package.json'))
  return { dir, dist, buildMs, remove: () => rm(dir, { recursive: true, force: true }) }
}
