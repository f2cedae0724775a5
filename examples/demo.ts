/**
 * bearer-guard end to end, in one process, on 127.0.0.1 random ports:
 *
 * - an Entra ID-style issuer: an OpenID discovery document and a JWKS, served by node:http;
 * - a Files API (Express, the second-tier API of an On-Behalf-Of chain): `authenticate` with
 *   the Entra ID profile `azureAd()` pointed at the local issuer, then `requireScopes('Files.Read')`;
 * - a Reports API (Koa, called by users and by a daemon): `authenticate(validator)` with a plain
 *   OpenID Connect validator, then `requireScopesOrRoles('Reports.Read', 'Reports.Read.All')`.
 *
 * Tokens are minted here with jose at the real current time, sent with fetch, and each answer is
 * compared with the one expected. Exits 0 when all match, 1 otherwise. Run: `npm run demo`.
 */
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Router from '@koa/router'
import express, { type ErrorRequestHandler } from 'express'
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose'
import Koa from 'koa'
// In an application: from 'bearer-guard', 'bearer-guard/express' and 'bearer-guard/koa'.
import { authenticate, requireScopes } from '../adapters/express.js'
import {
  authenticate as authenticateKoa,
  type BearerGuardState,
  requireScopesOrRoles,
} from '../adapters/koa.js'
import { azureAd, BearerGuardError, createValidator } from '../src/index.js'

const TENANT = '8d2c6a0e-5a1b-4c3d-9e7f-0a1b2c3d4e5f'
const FILES_CLIENT_ID = '0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b'
const REPORTS_API = 'api://reports-api'
const WEB_API_CLIENT_ID = '3f1b9a2c-0d4e-4f5a-8b6c-7d8e9f0a1b2c'
const DAEMON_CLIENT_ID = '6a7b8c9d-1e2f-4a3b-8c4d-5e6f7a8b9c0d'
const USER_OID = 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e'
const DAEMON_OID = 'c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f'
const GRAPH = '00000003-0000-0000-c000-000000000000'
const KID = 'demo-key-1'

function listen(handler: RequestListener): Promise<{ server: Server; origin: string }> {
  const server = createServer(handler)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({ server, origin: `http://127.0.0.1:${port}` })
    })
  })
}

/** The issuer, laid out as Entra ID's: discovery under /{tenant}/v2.0, keys under /{tenant}/discovery. */
async function startIssuer(jwks: object) {
  const hits = { discovery: 0, jwks: 0 }
  const paths = {
    discovery: `/${TENANT}/v2.0/.well-known/openid-configuration`,
    jwks: `/${TENANT}/discovery/v2.0/keys`,
  }
  let origin = ''
  const { server, origin: listening } = await listen((req, res) => {
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    if (req.url === paths.discovery) {
      hits.discovery++
      send(200, { issuer: `${origin}/${TENANT}/v2.0`, jwks_uri: `${origin}${paths.jwks}` })
    } else if (req.url === paths.jwks) {
      hits.jwks++
      send(200, jwks)
    } else {
      send(404, { error: 'not_found' })
    }
  })
  origin = listening
  return {
    server,
    origin,
    hits,
    issuer: `${origin}/${TENANT}/v2.0`,
    discoveryUrl: `${origin}${paths.discovery}`,
  }
}

/** Files API: Express, `authenticate` with the Entra ID profile, then a scope guard. */
function filesApp(instance: string) {
  const app = express()
  // `instance` replaces https://login.microsoftonline.com with the local issuer.
  app.use(authenticate(azureAd({ tenant: TENANT, clientId: FILES_CLIENT_ID, instance })))
  app.get('/files', requireScopes('Files.Read'), (req, res) => {
    res.json({ files: ['q3-report.xlsx'], caller: req.auth?.subject, scopes: req.auth?.scopes })
  })
  // A custom error handler must copy err.headers (WWW-Authenticate, or Retry-After on a 503);
  // Express's default handler already does.
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    if (!(err instanceof BearerGuardError)) return next(err)
    res
      .status(err.status)
      .set(err.headers)
      .json({ error: err.code ?? 'unauthorized', message: err.expose ? err.message : undefined })
  }
  app.use(onError)
  return app
}

/** Reports API: Koa with a shared validator, serving users (scopes) and daemons (app roles). */
function reportsApp(issuer: string, discoveryUrl: string) {
  const validator = createValidator({ issuer, audience: REPORTS_API, discoveryUrl })
  const router = new Router<BearerGuardState>()
  router.get('/reports', requireScopesOrRoles('Reports.Read', 'Reports.Read.All'), (ctx) => {
    const { auth } = ctx.state
    ctx.body = { reports: ['revenue'], caller: auth.clientId, appOnly: auth.appOnly }
  })
  return new Koa<BearerGuardState>().use(authenticateKoa(validator)).use(router.routes())
}

interface Step {
  title: string
  api: 'files' | 'reports'
  authorization?: string
  status: number
  /** The exact WWW-Authenticate expected; absent means none. */
  challenge?: string
}

function challenge(error: string, description: string, scope?: string): string {
  const value = `Bearer realm="api", error="${error}", error_description="${description}"`
  return scope === undefined ? value : `${value}, scope="${scope}"`
}

async function main(): Promise<number> {
  const { publicKey, privateKey } = await generateKeyPair('RS256')
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' }] }
  const issuer = await startIssuer(jwks)
  const files = await listen(filesApp(issuer.origin))
  const reports = await listen(reportsApp(issuer.issuer, issuer.discoveryUrl).callback())

  const now = Math.floor(Date.now() / 1000)
  const bearer = async (claims: JWTPayload) => {
    const token = await new SignJWT({
      iss: issuer.issuer,
      tid: TENANT,
      ver: '2.0',
      iat: now,
      nbf: now,
      exp: now + 3600,
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
      .sign(privateKey)
    return `Bearer ${token}`
  }
  // A user's token that a web API obtained On-Behalf-Of the user, to call the Files API.
  const user = { sub: 'user-sub-ada', oid: USER_OID, azp: WEB_API_CLIENT_ID }
  // A daemon's client-credentials token: no scp, its application permissions in roles.
  const daemon = { sub: DAEMON_OID, oid: DAEMON_OID, azp: DAEMON_CLIENT_ID, idtyp: 'app' }

  const lacking = 'the token lacks a scope this resource requires'
  const neither =
    'the token has none of the delegated scopes or application permissions this resource accepts'
  const steps: Step[] = [
    {
      title: 'delegated token (On-Behalf-Of), scp=Files.Read',
      api: 'files',
      authorization: await bearer({ ...user, aud: FILES_CLIENT_ID, scp: 'Files.Read' }),
      status: 200,
    },
    {
      title: 'no Authorization header',
      api: 'files',
      status: 401,
      challenge: 'Bearer realm="api"',
    },
    {
      title: 'delegated token lacking the scope, scp=Profile.Read',
      api: 'files',
      authorization: await bearer({ ...user, aud: FILES_CLIENT_ID, scp: 'Profile.Read' }),
      status: 403,
      challenge: challenge('insufficient_scope', lacking, 'Files.Read'),
    },
    {
      title: 'token that expired 10 minutes ago',
      api: 'files',
      authorization: await bearer({
        ...user,
        aud: FILES_CLIENT_ID,
        scp: 'Files.Read',
        iat: now - 4200,
        nbf: now - 4200,
        exp: now - 600,
      }),
      status: 401,
      challenge: challenge('invalid_token', 'the token expired 10 min ago'),
    },
    {
      title: 'token for Microsoft Graph sent to the Files API (wrong audience)',
      api: 'files',
      authorization: await bearer({ ...user, aud: GRAPH, scp: 'User.Read' }),
      status: 401,
      challenge: challenge(
        'invalid_token',
        `the token is for Microsoft Graph, not this API: request a token for ${FILES_CLIENT_ID}/.default or a scope of this API`,
      ),
    },
    {
      title: 'app-only token with roles=Files.Read (requireScopes never reads roles)',
      api: 'files',
      authorization: await bearer({ ...daemon, aud: FILES_CLIENT_ID, roles: ['Files.Read'] }),
      status: 403,
      challenge: challenge('insufficient_scope', lacking, 'Files.Read'),
    },
    {
      title: 'malformed credentials, "Bearer two words"',
      api: 'files',
      authorization: 'Bearer two words',
      status: 400,
      challenge: challenge(
        'invalid_request',
        'the Bearer credentials must be a single token of base64url characters',
      ),
    },
    {
      title: 'app-only token (client credentials), roles=Reports.Read.All',
      api: 'reports',
      authorization: await bearer({ ...daemon, aud: REPORTS_API, roles: ['Reports.Read.All'] }),
      status: 200,
    },
    {
      title: 'delegated token, scp=Reports.Read',
      api: 'reports',
      authorization: await bearer({ ...user, aud: REPORTS_API, scp: 'Reports.Read' }),
      status: 200,
    },
    {
      title:
        'delegated token with app role Reports.Read.All (roles count for app-only tokens only)',
      api: 'reports',
      authorization: await bearer({
        ...user,
        aud: REPORTS_API,
        scp: 'User.Read',
        roles: ['Reports.Read.All'],
      }),
      status: 403,
      challenge: challenge('insufficient_scope', neither, 'Reports.Read'),
    },
    {
      title: 'Files API token sent to the Reports API (wrong audience)',
      api: 'reports',
      authorization: await bearer({ ...user, aud: FILES_CLIENT_ID, scp: 'Files.Read' }),
      status: 401,
      challenge: challenge('invalid_token', 'the token audience (aud) is not this API'),
    },
  ]

  console.log('bearer-guard demo: an Entra-style issuer and two protected APIs on 127.0.0.1\n')
  console.log(`  issuer   ${issuer.issuer}  (OpenID discovery + JWKS)`)
  console.log(
    `  Files    ${files.origin}/files    Express: authenticate(azureAd(...)) + requireScopes('Files.Read')`,
  )
  console.log(
    `  Reports  ${reports.origin}/reports  Koa: authenticate(validator) + requireScopesOrRoles('Reports.Read', 'Reports.Read.All')\n`,
  )

  let failures = 0
  for (const [index, step] of steps.entries()) {
    const url = step.api === 'files' ? `${files.origin}/files` : `${reports.origin}/reports`
    const headers: Record<string, string> = {}
    if (step.authorization !== undefined) headers.authorization = step.authorization
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) })
    const got = response.headers.get('www-authenticate') ?? undefined
    const body = await response.text()
    const ok = response.status === step.status && got === step.challenge
    if (!ok) failures++
    const path = step.api === 'files' ? 'GET /files  ' : 'GET /reports'
    console.log(`${String(index + 1).padStart(2)}. ${ok ? 'ok  ' : 'FAIL'} ${path} ${step.title}`)
    console.log(
      `          ${response.status} ${got === undefined ? body : `WWW-Authenticate: ${got}`}`,
    )
    if (!ok) {
      console.log(`          expected ${step.status} ${step.challenge ?? '(no WWW-Authenticate)'}`)
    }
  }

  // One key fetch per validator, then the cache serves every request; tokens that fail their
  // claims never cause a fetch. Only the Reports API uses discovery.
  const cached = issuer.hits.discovery === 1 && issuer.hits.jwks === 2
  if (!cached) failures++
  console.log(
    `\n${cached ? 'ok  ' : 'FAIL'} the issuer served discovery ${issuer.hits.discovery}x and the JWKS ${issuer.hits.jwks}x for ${steps.length} requests (expected 1x and 2x: one key fetch per validator)`,
  )
  console.log(
    failures === 0
      ? `\nall ${steps.length + 1} outcomes as expected`
      : `\n${failures} of ${steps.length + 1} outcomes differ from the expected ones`,
  )

  for (const { server } of [issuer, files, reports]) {
    server.closeAllConnections()
    server.close()
  }
  return failures === 0 ? 0 : 1
}

const watchdog = setTimeout(() => {
  console.error('the demo did not finish within 20 s')
  process.exit(1)
}, 20_000)
watchdog.unref()

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
