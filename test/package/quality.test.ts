/**
 * Package quality, checked by `npm test`: one build into a scratch folder (the `dist/` that
 * exports.test.ts builds is left alone, so the two files can run at once), then
 * - `publint --strict` on the package as npm would pack it;
 * - `attw --profile node16` on the packed tarball: every entry point, import and require
 *   (node10 cannot read `exports`, hence the profile; see README "Packaging notes");
 * - the `bin` as built, inspecting a token against a local JWKS server;
 * - TypeDoc over every entry point with warnings as errors: every export has TSDoc and every
 *   `{@link}` resolves.
 */
import { execFile } from 'node:child_process'
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = (name: string) => join(root, 'node_modules', '.bin', name)
// Inside the repository, so the built files resolve jose and http-errors as a dependent would.
const scratch = join(root, 'node_modules', '.cache', 'bearer-guard-quality', String(process.pid))

interface Result {
  code: number
  stdout: string
  stderr: string
}

function run(file: string, args: string[], cwd: string): Promise<Result> {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

/** The output of a failed tool, as the assertion message. */
function output(result: Result): string {
  return `${result.stdout}\n${result.stderr}`
}

let build: Result
let typedoc: Result
let tarball: string

beforeAll(async () => {
  await rm(scratch, { recursive: true, force: true })
  await mkdir(scratch, { recursive: true })
  ;[build, typedoc] = await Promise.all([
    run(bin('tsup'), ['--out-dir', join(scratch, 'dist'), '--silent'], root),
    run(bin('typedoc'), ['--emit', 'none', '--treatWarningsAsErrors'], root),
  ])
  if (build.code !== 0) return
  await Promise.all(
    ['package.json', 'README.md'].map((file) => copyFile(join(root, file), join(scratch, file))),
  )
  const pack = await run('npm', ['pack', '--ignore-scripts', '--silent'], scratch)
  tarball = join(scratch, pack.stdout.trim().split('\n').pop() ?? '')
}, 180_000)

afterAll(() => rm(scratch, { recursive: true, force: true }))

describe('the package', () => {
  it('builds', () => {
    expect(build.code, output(build)).toBe(0)
  })

  it('passes publint --strict', async () => {
    const result = await run(bin('publint'), ['--strict'], scratch)
    expect(result.code, output(result)).toBe(0)
    expect(result.stdout).toContain('All good!')
  })

  it('passes attw for node16 (ESM and CJS) and bundlers, every entry point', async () => {
    const result = await run(
      bin('attw'),
      [tarball, '--profile', 'node16', '--format', 'json'],
      scratch,
    )
    expect(result.code, output(result)).toBe(0)
    const report = JSON.parse(result.stdout) as {
      problems?: Record<string, Array<{ kind: string; resolutionKind?: string }>>
      analysis: { entrypoints: Record<string, unknown> }
    }
    const problems = Object.values(report.problems ?? {}).flat()
    // The one accepted finding: node10 resolution cannot read `exports`, so no subpath resolves
    // there (README "Packaging notes"). Nothing else, for any entry point.
    expect(problems.filter((problem) => problem.resolutionKind !== 'node10')).toEqual([])
    expect(new Set(problems.map((problem) => problem.kind))).toEqual(new Set(['NoResolution']))
    expect(Object.keys(report.analysis.entrypoints)).toEqual(
      expect.arrayContaining(['.', './express', './koa', './nestjs', './package.json']),
    )
  })

  it('ships an executable bin', async () => {
    const { mode } = await stat(join(scratch, 'dist', 'cli.js'))
    expect(mode & 0o111).not.toBe(0)
    expect(await readdir(join(scratch, 'dist'))).toContain('cli.js')
  })
})

describe('the built bearer-guard bin', () => {
  let jwks: JwksServer

  beforeAll(async () => {
    jwks = await startJwksServer()
  })

  afterAll(() => jwks.close())

  it('inspects a token: exit 0 for a valid one, 1 for an expired one', async () => {
    const config = ['--issuer', ISSUER, '--audience', AUDIENCE, '--jwks', jwks.jwksUri]
    const cli = join(scratch, 'dist', 'cli.js')
    const expired = await mintToken({ claims: { exp: NOW - 60 } })
    const [good, bad] = await Promise.all([
      run(cli, ['inspect', await mintToken(), ...config, '--now', `${NOW}`], root),
      run(cli, ['inspect', expired, ...config, '--now', `${NOW + 600}`], root),
    ])
    expect(good.code, output(good)).toBe(0)
    expect(good.stdout).toMatch(/Verdict: ACCEPTED\n$/)
    expect(bad.code, output(bad)).toBe(1)
    expect(bad.stdout).toContain('FAIL  exp')
  })
})

describe('the API reference', () => {
  it('builds with TypeDoc without a warning: every export documented, every link resolved', () => {
    expect(typedoc.code, output(typedoc)).toBe(0)
  })
})
