/**
 * Every runtime, tested on the real binary (#13): the case table of cases.ts, over real HTTP,
 * against the built Fetch and Hono adapters served by Node.js 20 (this process's binary), 22 and
 * 24, Bun, Deno (node:crypto) and workerd with and without nodejs_compat (WebCrypto: the bundle
 * takes the `workerd` condition of `#crypto`). The JWKS servers and the tokens live in this
 * process; each runtime runs server/app.mjs on a fresh build of the package (scratch-package.ts).
 * All runtimes start at once, before the first case.
 *
 * The other runtimes come from test/runtimes/install.sh. Locally, a runtime that is not
 * installed is a skipped group, with the reason; under CI=true it fails. Deno runs with
 * `--allow-net` only; workerd without nodejs_compat runs the WebCrypto build.
 */
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { buildScratchPackage, type ScratchPackage } from '../helpers/scratch-package.js'
import { AUDIENCE, ISSUER } from '../helpers/tokens.js'
import { RUNTIME_CASES, type RuntimeCase } from './cases.js'
import {
  bundleWorker,
  copyServerScripts,
  RUNTIMES,
  type RunningServer,
  type Runtime,
  unresolvableWithoutNodeCompat,
  workerdRuntime,
} from './runtimes.js'

const CI = process.env.CI === 'true'
const ADAPTERS = ['fetch', 'hono'] as const
type Adapter = (typeof ADAPTERS)[number]

/** A runtime as the cases find it: serving, failed to start, or not installed. */
interface Started {
  server?: RunningServer
  error?: Error
  jwks: Record<Adapter, JwksServer>
}

const WORKERD_NO_COMPAT = workerdRuntime(false)
/** The runtimes the case table runs on. */
const TABLE_RUNTIMES = [...RUNTIMES, WORKERD_NO_COMPAT]

let pkg: ScratchPackage
let down: JwksServer
const started = new Map<string, Started>()

async function start(runtime: Runtime): Promise<void> {
  const [fetchJwks, honoJwks] = await Promise.all([startJwksServer(), startJwksServer()])
  const state: Started = { jwks: { fetch: fetchJwks, hono: honoJwks } }
  started.set(runtime.id, state)
  if (runtime.missing !== undefined) {
    console.warn(`runtimes: ${runtime.label}: skipped, ${runtime.missing}`)
    return
  }
  try {
    state.server = await runtime.start(pkg.dir, {
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { fetch: fetchJwks.jwksUri, hono: honoJwks.jwksUri },
      coldJwksUri: down.jwksUri,
    })
  } catch (error) {
    state.error = error as Error
  }
}

beforeAll(async () => {
  pkg = await buildScratchPackage('runtimes')
  await copyServerScripts(pkg.dir)
  await bundleWorker(pkg.dir)
  down = await startJwksServer()
  down.setMode('down')
  await Promise.all(TABLE_RUNTIMES.map(start))
  const times = TABLE_RUNTIMES.flatMap((runtime) => {
    const server = started.get(runtime.id)?.server
    return server === undefined ? [] : [`${runtime.label} ${Math.round(server.startMs)} ms`]
  })
  console.info(`runtimes: build ${Math.round(pkg.buildMs)} ms; started ${times.join(', ')}`)
}, 120_000)

afterAll(async () => {
  await Promise.all(
    [...started.values()].flatMap((state) => [
      state.server?.stop(),
      state.jwks.fetch.close(),
      state.jwks.hono.close(),
    ]),
  )
  await down?.close()
  await pkg?.remove()
})

/** The runtime's server, or a skip (locally) or failure (CI) when it is not installed. */
function serverOf(runtime: Runtime, context: TestContext): { server: RunningServer } & Started {
  const state = started.get(runtime.id)
  if (state === undefined) throw new Error(`${runtime.label} was never started`)
  if (runtime.missing !== undefined) {
    if (CI) throw new Error(`${runtime.missing} (under CI=true every runtime must run)`)
    context.skip(runtime.missing)
  }
  if (state.error !== undefined) throw state.error
  if (state.server === undefined) throw new Error(`${runtime.label} is not serving`)
  return { ...state, server: state.server }
}

async function check(
  runtime: Runtime,
  adapter: Adapter,
  testCase: RuntimeCase,
  context: TestContext,
): Promise<void> {
  const { server, jwks } = serverOf(runtime, context)
  const authorization = await testCase.authorization({ jwks: jwks[adapter] })
  const hitsBefore = jwks[adapter].hits
  const response = await fetch(`${server.origin}/${adapter}/${testCase.route}`, {
    headers: authorization === undefined ? {} : { authorization },
    signal: AbortSignal.timeout(10_000),
  })
  const body = await response.text()
  const answer = {
    status: response.status,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    retryAfter: response.headers.get('retry-after'),
  }
  const expected = {
    status: testCase.status,
    wwwAuthenticate: testCase.wwwAuthenticate,
    retryAfter: testCase.retryAfter,
  }
  expect(answer, `${runtime.label} stderr:\n${server.stderr()}`).toEqual(expected)
  if (testCase.body !== undefined) expect(body).toBe(testCase.body)
  const token = authorization?.split(' ')[1]
  if (token !== undefined && token.length > 20) expect(body).not.toContain(token)
  if (testCase.jwksFetches !== undefined) {
    expect(jwks[adapter].hits - hitsBefore).toBe(testCase.jwksFetches)
  }
}

for (const runtime of TABLE_RUNTIMES) {
  describe(runtime.label, () => {
    it(`loads the ${runtime.backend} build of #crypto`, async (context) => {
      const { server } = serverOf(runtime, context)
      const response = await fetch(`${server.origin}/backend`, {
        signal: AbortSignal.timeout(10_000),
      })
      expect(await response.text()).toBe(runtime.backend)
    })
    for (const adapter of ADAPTERS) {
      describe(`bearer-guard/${adapter}`, () => {
        for (const testCase of RUNTIME_CASES) {
          it(testCase.name, (context) => check(runtime, adapter, testCase, context))
        }
      })
    }
  })
}

describe(`${WORKERD_NO_COMPAT.label}: the bundle`, () => {
  it('leaves a bundler no Node.js built-in to resolve, in the core or its dependencies (#13)', async () => {
    expect(await unresolvableWithoutNodeCompat(pkg.dir)).toEqual([])
  })
})
