/**
 * The runtimes of the runtime table: where each binary is (install.sh puts them under
 * node_modules/.cache), how each one starts the server scripts of `server/` on 127.0.0.1, and how
 * the test learns its port. Node.js 20 is the binary running the tests; the others come from the
 * npm registry. A runtime whose binary is absent is `missing`, with the reason.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { copyFile, readdir, writeFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BuildOptions, build, type Plugin } from 'esbuild'
import { childEnv, ROOT } from '../helpers/scratch-package.js'

/** Where install.sh installs the runtimes. */
export const TOOLCHAIN = join(
  process.env.BEARER_GUARD_RUNTIMES_DIR ??
    join(ROOT, 'node_modules', '.cache', 'bearer-guard-runtimes', 'toolchain'),
  'node_modules',
)

const SERVER_SCRIPTS = fileURLToPath(new URL('./server/', import.meta.url))

/** What every server script is given: the validators' issuer and audience and JWKS URLs. */
export interface ServerConfig {
  issuer: string
  audience: string
  /** One JWKS server per adapter, so a rotation for one does not change what the other sees. */
  jwks: { fetch: string; hono: string }
  /** A JWKS that answers 500: nothing is ever cached. */
  coldJwksUri: string
}

/** A runtime serving the app, until `stop()`. */
export interface RunningServer {
  readonly origin: string
  /** Milliseconds from spawn to the port being known. */
  readonly startMs: number
  /** What the process wrote to stderr so far (key fetch failures, crashes). */
  stderr(): string
  stop(): Promise<void>
}

/** How one runtime starts the app of a scratch package folder. */
export interface Runtime {
  readonly id: string
  /** For test names: the runtime, its version and its flags. */
  readonly label: string
  /** Set when the binary is not installed: the group is skipped locally and fails under CI. */
  readonly missing?: string
  /** The `#crypto` backend its resolver (or, for workerd, the bundler) must pick. */
  readonly backend: 'node:crypto' | 'WebCrypto'
  start(dir: string, config: ServerConfig): Promise<RunningServer>
}

const INSTALL_HINT = 'run `bash test/runtimes/install.sh` to install it'

function installedVersion(name: string): string | undefined {
  const file = join(TOOLCHAIN, name, 'package.json')
  if (!existsSync(file)) return undefined
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
}

/** `name version flags`, or `name (not installed) flags`. */
function labelOf(name: string, version: string | undefined, flags = ''): string {
  return [name, version ?? '(not installed)', flags].filter((part) => part !== '').join(' ')
}

function binary(name: string, path: string): { bin: string; version?: string; missing?: string } {
  const bin = join(TOOLCHAIN, name, path)
  const version = installedVersion(name)
  if (version === undefined || !existsSync(bin)) {
    return { bin, missing: `${name} is not installed in ${TOOLCHAIN}: ${INSTALL_HINT}` }
  }
  return { bin, version }
}

/** Kills the process and waits for it to exit (SIGKILL after 2 s). */
function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 2_000)
    child.once('exit', () => {
      clearTimeout(force)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

const START_TIMEOUT_MS = 20_000

/**
 * Spawns `command` in `cwd` and resolves once the port is known: from the first `{"port":N}`
 * line on stdout, or workerd's `listen` event on its control fd 3. Rejects with stderr when the
 * process exits first or after 20 s.
 */
function spawnServer(
  command: string,
  args: string[],
  cwd: string,
  portFrom: 'stdout' | 'control-fd',
): Promise<RunningServer> {
  const started = performance.now()
  const child = spawn(command, args, {
    cwd,
    env: childEnv({ NO_COLOR: '1' }),
    stdio: portFrom === 'stdout' ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const source = portFrom === 'stdout' ? child.stdout : child.stdio[3]
  return new Promise((resolve, reject) => {
    let buffered = ''
    const timer = setTimeout(() => {
      void stopProcess(child)
      reject(new Error(`no port within ${START_TIMEOUT_MS} ms\n${stderr}`))
    }, START_TIMEOUT_MS)
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer)
      reject(new Error(`exited (${signal ?? `code ${code}`}) before listening\n${stderr}`))
    }
    child.once('exit', onExit)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    source?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const port = /"port":(\d+)/.exec(buffered)?.[1]
      if (port === undefined) return
      source.removeAllListeners('data')
      clearTimeout(timer)
      child.off('exit', onExit)
      resolve({
        origin: `http://127.0.0.1:${port}`,
        startMs: performance.now() - started,
        stderr: () => stderr,
        stop: () => stopProcess(child),
      })
    })
  })
}

/** Puts the server scripts next to the scratch package's `dist/`. */
export async function copyServerScripts(dir: string): Promise<void> {
  const files = (await readdir(SERVER_SCRIPTS)).filter((file) => file.endsWith('.mjs'))
  await Promise.all(files.map((file) => copyFile(join(SERVER_SCRIPTS, file), join(dir, file))))
}

const BUILTINS = new Set(builtinModules)

/**
 * workerd resolves no packages: the worker, the built package, jose and hono become
 * one ES module. Node.js built-ins stay imports (nodejs_compat provides them); a CommonJS
 * `require` of one becomes an import too, since an ES module bundle cannot
 * `require`.
 */
const nodeBuiltins: Plugin = {
  name: 'node-builtins',
  setup(plugin) {
    plugin.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, '')
      if (!BUILTINS.has(name)) return undefined
      if (args.kind === 'require-call') return { path: `node:${name}`, namespace: 'node-require' }
      return { path: args.path, external: true }
    })
    plugin.onLoad({ filter: /.*/, namespace: 'node-require' }, (args) => ({
      contents: `import builtin from '${args.path}'; module.exports = builtin`,
      loader: 'js',
    }))
  },
}

/** The export conditions wrangler bundles a worker with: `#crypto` resolves to crypto-web. */
const WORKER_CONDITIONS = ['workerd', 'worker', 'browser', 'import']

/** The bundle workerd runs: with nodejs_compat, or without (no Node.js built-in at all). */
function bundleFile(nodejsCompat: boolean): string {
  return nodejsCompat ? 'worker.bundle.mjs' : 'worker.web.bundle.mjs'
}

/**
 * Bundles `worker.mjs` of `dir` for workerd: `worker.bundle.mjs` leaves Node.js built-ins to
 * nodejs_compat; `worker.web.bundle.mjs` has none: on the `workerd` condition the core takes
 * WebCrypto (crypto-web.ts) and channels without node:diagnostics_channel (channels-web.ts).
 */
export async function bundleWorker(dir: string): Promise<void> {
  const common: BuildOptions = {
    entryPoints: [join(dir, 'worker.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: WORKER_CONDITIONS,
    logLevel: 'silent',
  }
  await Promise.all([
    build({
      ...common,
      outfile: join(dir, bundleFile(true)),
      mainFields: ['module', 'main'],
      plugins: [nodeBuiltins],
    }),
    build({
      ...common,
      outfile: join(dir, bundleFile(false)),
      mainFields: ['module', 'main'],
    }),
  ])
}

/**
 * What a bundler that may not leave Node.js built-ins to the runtime (workerd without
 * nodejs_compat) cannot resolve: each import of a built-in, by the file that imports it.
 */
export async function unresolvableWithoutNodeCompat(dir: string): Promise<string[]> {
  try {
    await build({
      entryPoints: [join(dir, 'worker.mjs')],
      write: false,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      conditions: WORKER_CONDITIONS,
      mainFields: ['module', 'main'],
      logLevel: 'silent',
    })
    return []
  } catch (error) {
    const { errors } = error as {
      errors: Array<{ text: string; location: { file: string } | null }>
    }
    const found = errors.map(({ text, location }) => {
      const file = (location?.file ?? '?')
        .replace(/^.*\/dist\//, 'dist/')
        .replace(/^.*node_modules\//, '')
        .replace(/chunk-[A-Z0-9]+\./, 'chunk-*.')
      return `${file}: ${text}`
    })
    return [...new Set(found)].sort()
  }
}

/** A recent compatibility date. */
export const WORKERD_COMPATIBILITY_DATE = '2026-01-01'

/** The workerd configuration: the worker on 127.0.0.1, its outbound fetches allowed to loopback. */
function workerdConfig(config: ServerConfig, nodejsCompat: boolean, date: string): string {
  // workerd's default outbound network is the public internet only; the JWKS servers are local.
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.mjs", esModule = embed "${bundleFile(nodejsCompat)}")],
  compatibilityDate = "${date}",
  compatibilityFlags = [${nodejsCompat ? '"nodejs_compat"' : ''}],
  bindings = [(name = "CONFIG", json = ${JSON.stringify(JSON.stringify(config))})],
  globalOutbound = "loopback",
);
`
}

/** Node.js: the binary running the tests (20), or one from the `node` npm package. */
function nodeRuntime(id: string, name?: string): Runtime {
  const found =
    name === undefined
      ? { bin: process.execPath, version: process.versions.node }
      : binary(name, join('bin', 'node'))
  return {
    id,
    label: labelOf(found.version === undefined ? `Node.js ${name}` : 'Node.js', found.version),
    backend: 'node:crypto',
    ...(found.missing === undefined ? {} : { missing: found.missing }),
    start: (dir, config) =>
      spawnServer(found.bin, ['node.mjs', JSON.stringify(config)], dir, 'stdout'),
  }
}

const bun = binary('bun', join('bin', 'bun.exe'))
const deno = binary('deno', 'deno')
const workerd = binary('workerd', join('bin', 'workerd'))

/**
 * What Deno needs: network to 127.0.0.1 (serve, fetch the JWKS), nothing else. (Until
 * http-errors stopped being a dependency, its depd read two environment variables at load.)
 */
export const DENO_PERMISSIONS = ['--allow-net=127.0.0.1']

/** Deno with `permissions`; `--no-prompt` so a missing permission fails instead of waiting. */
export function denoRuntime(permissions: string[]): Runtime {
  return {
    id: `deno ${permissions.join(' ')}`,
    label: labelOf('Deno', deno.version, permissions.join(' ')),
    backend: 'node:crypto',
    ...(deno.missing === undefined ? {} : { missing: deno.missing }),
    start: (dir, config) =>
      spawnServer(
        deno.bin,
        ['run', '--no-prompt', '--no-lock', ...permissions, 'deno.mjs', JSON.stringify(config)],
        dir,
        'stdout',
      ),
  }
}

/** workerd, with or without nodejs_compat, on the bundle of `bundleWorker`. */
export function workerdRuntime(nodejsCompat: boolean, date = WORKERD_COMPATIBILITY_DATE): Runtime {
  const flags = `${nodejsCompat ? 'with' : 'without'} nodejs_compat`
  const id = `workerd ${flags} ${date}`
  const file = `${id.replaceAll(' ', '-')}.capnp`
  return {
    id,
    label: labelOf(
      'workerd',
      workerd.version,
      date === WORKERD_COMPATIBILITY_DATE ? flags : `${flags}, compatibility date ${date}`,
    ),
    backend: 'WebCrypto',
    ...(workerd.missing === undefined ? {} : { missing: workerd.missing }),
    async start(dir, config) {
      await writeFile(join(dir, file), workerdConfig(config, nodejsCompat, date))
      return spawnServer(workerd.bin, ['serve', file, '--control-fd=3'], dir, 'control-fd')
    },
  }
}

/** Every runtime of the table, in the order the report lists them. */
export const RUNTIMES: readonly Runtime[] = [
  nodeRuntime('node20'),
  nodeRuntime('node22', 'node22'),
  nodeRuntime('node24', 'node24'),
  {
    id: 'bun',
    label: labelOf('Bun', bun.version),
    backend: 'node:crypto',
    ...(bun.missing === undefined ? {} : { missing: bun.missing }),
    start: (dir, config) =>
      spawnServer(bun.bin, ['--no-install', 'bun.mjs', JSON.stringify(config)], dir, 'stdout'),
  },
  denoRuntime(DENO_PERMISSIONS),
  workerdRuntime(true),
]
