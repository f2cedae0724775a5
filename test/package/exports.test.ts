/**
 * The built package as users load it, from one `npm run build` (the build with declarations
 * takes most of this file's time, so it is made once):
 * - each entry through package.json `exports`, once with `import` (consumers/consumer.mjs) and
 *   once with `require` (consumers/consumer.cjs), each in its own Node process. The consumers sit
 *   inside the package, so `bearer-guard` resolves by self-reference through the same `exports`
 *   map a dependent sees. After koa's `load-with-esm.test.js`;
 * - `publint --strict` on the package as npm would pack it;
 * - `attw --profile node16` on the packed tarball: every entry point, import and require
 *   (node10 cannot read `exports`, hence the profile; see README "Packaging notes");
 * - the `bin` as built, inspecting a token against a local JWKS server;
 * - TypeDoc over every entry point with warnings as errors (run beside the build): every export
 *   has TSDoc and every `{@link}` resolves.
 * Other test files that run the output build their own copy (test/helpers/scratch-package.ts),
 * as this one empties `dist/` first.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const consumers = fileURLToPath(new URL('./consumers/', import.meta.url))

type Entry =
  | 'bearer-guard'
  | 'bearer-guard/express'
  | 'bearer-guard/koa'
  | 'bearer-guard/fastify'
  | 'bearer-guard/fetch'
  | 'bearer-guard/hono'
  | 'bearer-guard/nestjs'
  | 'bearer-guard/testing'
  | 'bearer-guard/msal'
  | 'bearer-guard/mcp'
  | 'bearer-guard/opentelemetry'
const ENTRIES: readonly Entry[] = [
  'bearer-guard',
  'bearer-guard/express',
  'bearer-guard/koa',
  'bearer-guard/fastify',
  'bearer-guard/fetch',
  'bearer-guard/hono',
  'bearer-guard/nestjs',
  'bearer-guard/testing',
  'bearer-guard/msal',
  'bearer-guard/mcp',
  'bearer-guard/opentelemetry',
]

interface ConsumerReport {
  format: 'esm' | 'cjs'
  names: Record<Entry, string[]>
  checks: Record<string, boolean>
}

const ERROR_CLASSES = [
  'BearerGuardError',
  'InsufficientScopeError',
  'InvalidRequestError',
  'InvalidTokenError',
  'KeysUnavailableError',
  'UnauthorizedError',
]
const GUARDS = ['authenticate', 'requireRoles', 'requireScopes', 'requireScopesOrRoles']

function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  // Whatever loader the test runner uses must not help the consumers resolve anything.
  delete env.NODE_OPTIONS
  return env
}

async function runConsumer(file: string): Promise<ConsumerReport> {
  const { stdout } = await run(process.execPath, [join(consumers, file)], {
    cwd: root,
    env: childEnv(),
    timeout: 20_000,
  })
  return JSON.parse(stdout) as ConsumerReport
}

function runtimeNames(module: object): string[] {
  return Object.keys(module).sort()
}

let esm: ConsumerReport
let cjs: ConsumerReport

const bin = (name: string) => join(root, 'node_modules', '.bin', name)
// The packed tarball goes here, not into the repository.
const scratch = join(root, 'node_modules', '.cache', 'bearer-guard-pack', String(process.pid))

interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Runs a tool to its end, never throwing: its exit code and output are the result. */
function tool(file: string, args: string[], cwd = root): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: childEnv(), timeout: 120_000 }, (error, stdout, stderr) => {
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
    tool('npm', ['run', 'build']),
    tool(bin('typedoc'), ['--emit', 'none', '--treatWarningsAsErrors']),
  ])
  if (build.code !== 0) throw new Error(`npm run build failed:\n${output(build)}`)
  ;[esm, cjs] = await Promise.all([runConsumer('consumer.mjs'), runConsumer('consumer.cjs')])
  const pack = await tool('npm', [
    'pack',
    '--ignore-scripts',
    '--silent',
    '--pack-destination',
    scratch,
  ])
  tarball = join(scratch, pack.stdout.trim().split('\n').pop() ?? '')
}, 180_000)

afterAll(() => rm(scratch, { recursive: true, force: true }))

describe('build output', () => {
  it('has a file for every target of the exports map', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, Record<string, string>>>
    }
    const targets: string[] = []
    for (const target of Object.values(pkg.exports)) {
      if (typeof target === 'string') targets.push(target)
      else
        for (const condition of ['import', 'require'])
          targets.push(...Object.values(target[condition] ?? {}))
    }
    // Every subpath but ./package.json has import and require, each with types and default.
    const subpaths = Object.keys(pkg.exports).filter((subpath) => subpath !== './package.json')
    expect(subpaths).toEqual(
      expect.arrayContaining(['.', './express', './koa', './fastify', './fetch', './hono']),
    )
    expect(subpaths).toEqual(expect.arrayContaining(['./testing']))
    expect(subpaths).toEqual(expect.arrayContaining(['./nestjs']))
    expect(subpaths).toEqual(expect.arrayContaining(['./mcp']))
    expect(subpaths).toEqual(expect.arrayContaining(['./opentelemetry']))
    expect(targets).toHaveLength(subpaths.length * 4 + 1)
    for (const target of targets) expect(existsSync(join(root, target)), target).toBe(true)
  })

  it('keeps the core once per format (splitting), not once per entry', () => {
    const dist = join(root, 'dist')
    const definingFiles = (extension: string) =>
      readdirSync(dist).filter(
        (file) =>
          file.endsWith(extension) &&
          readFileSync(join(dist, file), 'utf8').includes('function createValidator('),
      )
    expect(definingFiles('.js')).toHaveLength(1)
    expect(definingFiles('.cjs')).toHaveLength(1)
  })
})

describe.each(ENTRIES)('%s', (entry) => {
  it('exposes the same names through import and require', () => {
    expect(esm.names[entry].length).toBeGreaterThan(0)
    expect(cjs.names[entry]).toEqual(esm.names[entry])
  })

  it('exposes every runtime export of its source', async () => {
    const source =
      entry === 'bearer-guard'
        ? await import('../../src/index.js')
        : entry === 'bearer-guard/express'
          ? await import('../../adapters/express.js')
          : entry === 'bearer-guard/koa'
            ? await import('../../adapters/koa.js')
            : entry === 'bearer-guard/fastify'
              ? await import('../../adapters/fastify.js')
              : entry === 'bearer-guard/fetch'
                ? await import('../../adapters/fetch.js')
                : entry === 'bearer-guard/hono'
                  ? await import('../../adapters/hono.js')
                  : entry === 'bearer-guard/nestjs'
                    ? await import('../../adapters/nestjs.js')
                    : entry === 'bearer-guard/msal'
                      ? await import('../../src/on-behalf-of.js')
                      : entry === 'bearer-guard/mcp'
                        ? await import('../../adapters/mcp.js')
                        : entry === 'bearer-guard/opentelemetry'
                          ? await import('../../src/opentelemetry.js')
                          : await import('../../src/testing/index.js')
    expect(esm.names[entry]).toEqual(runtimeNames(source))
  })
})

/** Express's names less its own extra, errorHandler: what every adapter exports alike. */
const shared = (names: readonly string[]) => names.filter((name) => name !== 'errorHandler')

describe('public names', () => {
  it('main entry: createValidator, azureAd and every error class', () => {
    for (const report of [esm, cjs]) {
      expect(report.names['bearer-guard']).toEqual(
        expect.arrayContaining(['azureAd', 'createValidator', 'isValidator', ...ERROR_CLASSES]),
      )
    }
  })

  it('testing entry: the Entra ID emulator and the certificate builder', () => {
    for (const report of [esm, cjs]) {
      expect(report.names['bearer-guard/testing']).toEqual(
        expect.arrayContaining(['createCertificate', 'startEntraEmulator']),
      )
    }
  })

  it('both adapters: authenticate and the three guards, under the same names', () => {
    for (const report of [esm, cjs]) {
      expect(report.names['bearer-guard/express']).toEqual(expect.arrayContaining(GUARDS))
      // Express's own extra: errorHandler() (its default handler logs and renders rejections).
      expect(report.names['bearer-guard/koa']).toEqual(shared(report.names['bearer-guard/express']))
    }
  })

  it('OpenTelemetry: the instrumentation, its names, and the channel names in the main entry', () => {
    for (const report of [esm, cjs]) {
      expect(report.names['bearer-guard/opentelemetry']).toEqual(
        expect.arrayContaining(['BearerGuardInstrumentation', 'INSTRUMENTATION_NAME']),
      )
      expect(report.names['bearer-guard']).toEqual(
        expect.arrayContaining(['KEY_FETCH_CHANNEL', 'VALIDATION_CHANNEL']),
      )
    }
  })

  it('NestJS: the module, the guard, the filter and the requirement decorators', () => {
    for (const report of [esm, cjs]) {
      expect(report.names['bearer-guard/nestjs']).toEqual(
        expect.arrayContaining([
          'Auth',
          'BearerAuthGuard',
          'BearerGuardExceptionFilter',
          'BearerGuardModule',
          'RequireRoles',
          'RequireScopes',
          'RequireScopesOrRoles',
        ]),
      )
    }
  })

  it('Fastify, Fetch and Hono: the same names as Express, plus their own extras', () => {
    const extras: Partial<Record<Entry, string[]>> = {
      'bearer-guard/fastify': ['bearerGuard', 'errorHandler'],
      'bearer-guard/fetch': ['toResponse', 'withDecisionHeaders'],
      'bearer-guard/hono': [],
    }
    for (const report of [esm, cjs]) {
      for (const [entry, own] of Object.entries(extras)) {
        expect(report.names[entry as Entry]).toEqual(
          [...shared(report.names['bearer-guard/express']), ...own].sort(),
        )
      }
    }
  })
})

describe.each(['esm', 'cjs'] as const)('%s consumer', (format) => {
  it('verifies a token, and every error is an instance of the main entry classes', () => {
    const report = format === 'esm' ? esm : cjs
    expect(report.format).toBe(format)
    const checks = Object.keys(report.checks)
    expect(checks.length).toBeGreaterThanOrEqual(11)
    expect(report.checks).toEqual(Object.fromEntries(checks.map((name) => [name, true])))
  })
})

describe('the package', () => {
  it('passes publint --strict', async () => {
    const result = await tool(bin('publint'), ['--strict'])
    expect(result.code, output(result)).toBe(0)
    expect(result.stdout).toContain('All good!')
  })

  it('passes attw for node16 (ESM and CJS) and bundlers, every entry point', async () => {
    const result = await tool(bin('attw'), [tarball, '--profile', 'node16', '--format', 'json'])
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
    const { mode } = await stat(join(root, 'dist', 'cli.js'))
    expect(mode & 0o111).not.toBe(0)
    expect(await readdir(join(root, 'dist'))).toContain('cli.js')
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
    const cli = join(root, 'dist', 'cli.js')
    const expired = await mintToken({ claims: { exp: NOW - 60 } })
    const [good, bad] = await Promise.all([
      tool(cli, ['inspect', await mintToken(), ...config, '--now', `${NOW}`]),
      tool(cli, ['inspect', expired, ...config, '--now', `${NOW + 600}`]),
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
