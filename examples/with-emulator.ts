/**
 * Runs one of the examples against the Entra ID emulator of bearer-guard/testing, and calls it
 * with real tokens: a user's token with Files.Read, one without it, a daemon's app-only token,
 * and no token. One line, nothing to configure:
 *
 *   npx tsx examples/with-emulator.ts express      (or koa, fastify, hono, nestjs, azure-ad,
 *                                                  opentelemetry)
 *
 * The emulator listens on 127.0.0.1 only; the example runs in its own process with its usual
 * environment variables set to the emulator's issuer, audience and keys. Exits 0 when every
 * answer is the expected one.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startEntraEmulator } from '../src/testing/index.js'

const EXAMPLES = [
  'express',
  'koa',
  'fastify',
  'hono',
  'nestjs',
  'azure-ad',
  'opentelemetry',
] as const
const name = process.argv[2] as (typeof EXAMPLES)[number] | undefined
if (name === undefined || !EXAMPLES.includes(name)) {
  console.error(`Usage: npx tsx examples/with-emulator.ts <${EXAMPLES.join(' | ')}>`)
  process.exit(2)
}

const emulator = await startEntraEmulator({ http: true })
const tenant = emulator.tenants[0]?.id as string
const api = emulator.registerApp({
  name: 'Files API',
  appIdUri: 'api://files',
  scopes: ['Files.Read'],
  appRoles: ['Files.Read.All'],
})
const daemon = emulator.registerApp({ name: 'Nightly job', secret: true })

// The example's own variables: a generic issuer setup, or azureAd()'s tenant and client id.
const env: Record<string, string> =
  name === 'azure-ad'
    ? {
        TENANT: tenant,
        CLIENT_ID: api.clientId,
        INSTANCE: emulator.instance,
        JWKS_URI: emulator.jwksUri(),
      }
    : { ISSUER: emulator.issuer(tenant, 2), AUDIENCE: api.clientId, JWKS_URI: emulator.jwksUri() }

let child: ChildProcess | undefined
let failed = 0
try {
  const url = await start(name, env)
  const user = emulator.mint({ resource: api, scopes: ['Files.Read'] })
  const noScope = emulator.mint({ resource: api, scopes: ['Other.Scope'] })
  const app = emulator.mint({ resource: api, client: daemon, roles: ['Files.Read.All'] })
  await call(url, '/files', user, 200)
  await call(url, '/files', noScope, 403)
  await call(url, '/me', app, 200)
  await call(url, '/files', undefined, 401)
  await call(url, '/files', `${user.slice(0, -4)}AAAA`, 401)
} finally {
  child?.kill()
  await emulator.close()
}
process.exitCode = failed === 0 ? 0 : 1

/** Starts the example with PORT=0 and resolves with the URL it prints. */
function start(example: string, vars: Record<string, string>): Promise<string> {
  const root = fileURLToPath(new URL('../', import.meta.url))
  child = spawn(process.execPath, ['--import', 'tsx', `examples/${example}.ts`], {
    cwd: root,
    env: { ...process.env, ...vars, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`${example} did not start`)), 20_000)
    child?.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
      const found = /listening on (http:\/\/\S+)/.exec(output)?.[1]
      if (found !== undefined) {
        clearTimeout(timer)
        resolve(found)
      }
    })
    child?.once('exit', (code) => reject(new Error(`${example} exited with ${code}`)))
  })
}

/** Calls a route and prints the answer, counting one that is not the expected status. */
async function call(base: string, path: string, token: string | undefined, expected: number) {
  const response = await fetch(new URL(path, base), {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  })
  const challenge = response.headers.get('www-authenticate')
  const body = (await response.text()).replace(/\s+/g, ' ').slice(0, 100)
  const ok = response.status === expected
  if (!ok) failed++
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} GET ${path} ${token === undefined ? '(no token)' : ''} -> ${response.status}` +
      `${challenge === null ? '' : `  WWW-Authenticate: ${challenge}`}  ${body}`,
  )
}
