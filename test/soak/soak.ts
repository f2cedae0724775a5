/**
 * Soak test (not part of `npm test`): a minute of mixed valid and hostile traffic over HTTP
 * against an Express API protected by bearer-guard, served by a child process. Reports requests
 * served, the status mix, the 5xx count (must be zero) and the server's heap after a GC before
 * and after the load (must not grow). Exits non-zero when either check fails.
 *
 *   npm run soak                 # 60 s
 *   SOAK_SECONDS=10 npm run soak # shorter
 */
import { fork } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60)
const ISSUER = 'https://issuer.example/'
const AUDIENCE = 'api://soak'

async function main(): Promise<void> {
  if (process.argv[2] === 'server') return serve()
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk = { ...(await exportJWK(publicKey)), kid: 'soak-1', alg: 'ES256', use: 'sig' }
  const jwks = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: [jwk] }))
  })
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
  const jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`

  const now = Math.floor(Date.now() / 1000)
  const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT({
      iss: ISSUER,
      aud: AUDIENCE,
      iat: now,
      exp: now + 3 * 3600,
      scp: 'Data.Read',
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'soak-1', typ: 'JWT', ...header })
      .sign(privateKey)
  const distinct = await Promise.all(
    Array.from({ length: 5_000 }, (_, i) => sign({ sub: `user-${i}` })),
  )
  const repeated = await sign({ sub: 'daemon' })
  const expired = await sign({ exp: now - 600 })
  const wrongAudience = await sign({ aud: 'api://other' })
  const noScope = await sign({ scp: 'Other' })
  const tampered = `${repeated.slice(0, -4)}AAAA`
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${repeated.split('.')[1]}.`
  const unknownKid = await sign({}, { kid: 'nobody' })
  const hostile: Array<[string, string]> = [
    ['Bearer ' + expired, '401'],
    ['Bearer ' + wrongAudience, '401'],
    ['Bearer ' + noScope, '403'],
    ['Bearer ' + tampered, '401'],
    ['Bearer ' + none, '401'],
    ['Bearer ' + unknownKid, '401'],
    ['Bearer not a token', '400'],
    ['Basic dXNlcjpwYXNz', '401'],
    ['Bearer ' + 'A'.repeat(12_000), '401'],
    ['Bearer a.b.c', '401'],
  ]
  const requests: autocannon.Request[] = []
  for (let i = 0; i < 2_000; i++) {
    const pick = i % 4
    const authorization =
      pick === 0
        ? `Bearer ${repeated}`
        : pick === 1
          ? `Bearer ${distinct[i % distinct.length]}`
          : (hostile[i % hostile.length] as [string, string])[0]
    requests.push({ method: 'GET', path: '/data', headers: { authorization } })
  }

  const child = fork(fileURLToPath(import.meta.url), ['server'], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, SOAK_JWKS: jwksUri },
  })
  const port = await new Promise<number>((resolve) =>
    child.once('message', (message) => resolve((message as { port: number }).port)),
  )
  const base = `http://127.0.0.1:${port}`
  const heap = async () => ((await (await fetch(`${base}/__heap`)).json()) as { heap: number }).heap
  // Every hostile request must get its expected status before the load starts.
  for (const [authorization, expected] of hostile) {
    const response = await fetch(`${base}/data`, { headers: { authorization } })
    if (String(response.status) !== expected) {
      console.log(
        `soak: FAILED, hostile request ${hostile.findIndex(([a]) => a === authorization)} got ${response.status}, expected ${expected}`,
      )
      child.kill()
      process.exit(1)
    }
  }
  // Warm-up: fill the caches, then take the baseline.
  await autocannon({ url: base, connections: 20, duration: 3, requests })
  const before = await heap()
  const result = await autocannon({ url: base, connections: 20, duration: SECONDS, requests })
  const after = await heap()
  child.kill()
  jwks.close()

  const served = result.requests.total
  const fiveHundreds = result['5xx']
  const growth = after - before
  console.log(
    `soak: ${SECONDS} s, ${served} requests, ${Math.round(result.requests.average)} req/s`,
  )
  console.log(
    `status: 2xx ${result['2xx']}, 4xx ${result['4xx']}, 5xx ${fiveHundreds}, errors ${result.errors}, timeouts ${result.timeouts}`,
  )
  console.log(
    `heap after GC: before ${(before / 1e6).toFixed(1)} MB, after ${(after / 1e6).toFixed(1)} MB (${growth >= 0 ? '+' : ''}${(growth / 1e6).toFixed(1)} MB)`,
  )
  // Allow some slack for JIT and allocator noise; a leak over a minute shows as far more.
  const ok = fiveHundreds === 0 && result.errors === 0 && growth < 8e6
  console.log(ok ? 'soak: OK' : 'soak: FAILED')
  process.exit(ok ? 0 : 1)
}

async function serve(): Promise<void> {
  const { default: express } = await import('express')
  const { authenticate, requireScopes } = await import('../../adapters/express.js')
  const app = express()
  app.get('/__heap', (_req, res) => {
    globalThis.gc?.()
    globalThis.gc?.()
    res.json({ heap: process.memoryUsage().heapUsed })
  })
  app.use(
    authenticate({ issuer: ISSUER, audience: AUDIENCE, jwksUri: process.env.SOAK_JWKS as string }),
  )
  app.get('/data', requireScopes('Data.Read'), (req, res) => {
    res.json({ sub: req.auth?.subject })
  })
  // Quiet: rejections are expected outcomes here.
  app.use(
    (
      err: { status?: number; headers?: Record<string, string> },
      _req: unknown,
      res: import('express').Response,
      _next: unknown,
    ) => {
      res
        .status(err.status ?? 500)
        .set(err.headers ?? {})
        .end()
    },
  )
  const server = app.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port })
  })
}

await main()
