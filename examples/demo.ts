/**
 * bearer-guard end to end: the Entra ID service-to-service scenario in one process, against the
 * Entra ID emulator of `bearer-guard/testing`, with Microsoft's MSAL for Node getting the tokens.
 *
 * - the emulator: HTTPS on 127.0.0.1 with its own CA (MSAL trusts it through its network
 *   client), plain HTTP for the APIs' key fetches; tenants contoso and fabrikam;
 * - the Data API (Koa, second tier): `azureAd()` multi-tenant with `allowedTenants: [contoso]`,
 *   then `requireScopesOrRoles('Data.Read', 'Data.Read.All')`;
 * - the Web API (Express, first tier): `azureAd()` + `requireScopes('Web.Access')`; it calls the
 *   Data API On-Behalf-Of the user with `bearer-guard/msal` (MSAL for Node, certificate
 *   credential), which hands Entra ID's and the Data API's answers back as rejections;
 * - a step-up round trip: a Data API route needs the Conditional Access authentication context
 *   c1 (`requireAuthContext`), the Web API hands the claims challenge back to the client, which
 *   comes back with a token that satisfies it;
 * - a daemon: MSAL client credentials with a client secret, application permission Data.Read.All;
 * - then the rejections a reader should see: wrong audience, expired, missing scope, other tenant.
 *
 * Each outcome is checked; exits 0 when all are as expected, 1 otherwise. Run: `npm run demo`.
 */
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ConfidentialClientApplication, type Configuration, CryptoProvider } from '@azure/msal-node'
import Router from '@koa/router'
import express, { type ErrorRequestHandler } from 'express'
import Koa from 'koa'
// In an application: 'bearer-guard', 'bearer-guard/express', 'bearer-guard/koa',
// 'bearer-guard/msal', 'bearer-guard/testing'.
import { authenticate, requireScopes } from '../adapters/express.js'
import {
  authenticate as authenticateKoa,
  type BearerGuardState,
  requireAuthContext,
  requireScopesOrRoles,
} from '../adapters/koa.js'
import { type AuthInfo, azureAd } from '../src/index.js'
import { claimsFromChallenge, createOnBehalfOf, type OnBehalfOf } from '../src/on-behalf-of.js'
import { createCertificate, type EntraEmulator, startEntraEmulator } from '../src/testing/index.js'

const DATA_API = 'api://contoso-data'
const WEB_API = 'api://contoso-web'
const WATCHDOG_MS = 30_000

interface Outcome {
  ok: boolean
  detail: string
}

interface Step {
  title: string
  run(): Promise<Outcome>
}

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

function describeCaller(auth: AuthInfo) {
  return {
    appOnly: auth.appOnly,
    clientId: auth.clientId,
    tenantId: auth.tenantId,
    user: auth.appOnly ? undefined : auth.claims.name,
    scopes: auth.scopes,
    roles: auth.roles,
    authContexts: auth.claims.acrs,
  }
}

type Caller = ReturnType<typeof describeCaller>

async function call(url: string, token?: string) {
  const response = await fetch(url, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  })
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = text
  }
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body }
}

/** A rejection by the Data API: the status, and the challenge's error and telling part. */
function expectRejection(
  answer: Awaited<ReturnType<typeof call>>,
  status: number,
  error: string,
  fragment: string,
): Outcome {
  const challenge = answer.challenge ?? '(no WWW-Authenticate)'
  const ok =
    answer.status === status &&
    challenge.includes(`error="${error}"`) &&
    challenge.includes(fragment)
  return { ok, detail: `${answer.status} WWW-Authenticate: ${challenge}` }
}

/** The Data API: Koa, multi-tenant validator narrowed to contoso, scope or app permission. */
function dataApp(emulator: EntraEmulator, clientId: string, contoso: string) {
  const router = new Router<BearerGuardState>()
  router.get('/records', requireScopesOrRoles('Data.Read', 'Data.Read.All'), (ctx) => {
    ctx.body = {
      records: ['2024-Q3 revenue', '2024-Q4 forecast'],
      caller: describeCaller(ctx.state.auth),
    }
  })
  // Salaries need a stronger sign-in: Conditional Access authentication context c1.
  router.get(
    '/records/salaries',
    requireScopesOrRoles('Data.Read'),
    requireAuthContext('c1'),
    (ctx) => {
      ctx.body = { records: ['2024 salaries'], caller: describeCaller(ctx.state.auth) }
    },
  )
  const validator = azureAd({
    ...emulator.azureAdOptions('organizations'),
    clientId,
    allowedTenants: [contoso],
  })
  return new Koa<BearerGuardState>().use(authenticateKoa(validator)).use(router.routes())
}

/**
 * The Web API: Express; calls the Data API On-Behalf-Of the signed-in user with
 * `bearer-guard/msal`. Whatever Entra ID or the Data API answers that the caller must act on (a
 * claims challenge, missing consent, an expired token) comes back as a rejection, which Express
 * answers with its status and WWW-Authenticate like any other.
 */
function webApp(emulator: EntraEmulator, clientId: string, obo: OnBehalfOf, dataOrigin: string) {
  const app = express()
  app.use(authenticate(azureAd({ ...emulator.azureAdOptions(), clientId })))
  const routes = [
    ['/dashboard', '/records', 'Data.Read'],
    ['/dashboard/export', '/records', 'Data.Write'],
    ['/dashboard/salaries', '/records/salaries', 'Data.Read'],
  ] as const
  for (const [path, downstream, scope] of routes) {
    app.get(path, requireScopes('Web.Access'), async (req, res, next) => {
      try {
        const answer = await obo.fetch(req.auth, `${dataOrigin}${downstream}`, {
          scopes: [`${DATA_API}/${scope}`],
          signal: AbortSignal.timeout(10_000),
        })
        res
          .status(answer.status === 200 ? 200 : 502)
          .json({ user: req.auth?.claims.name, data: await answer.json() })
      } catch (error) {
        next(error)
      }
    })
  }
  // The error handler the README shows: copy err.headers (WWW-Authenticate, Retry-After), show
  // the message of a 4xx only. (Express's default handler answers the same, and logs each one.)
  app.use(((err, _req, res, _next) => {
    res.set(err.headers ?? {})
    res.status(err.status ?? 500).json({
      error: err.code ?? 'server_error',
      error_description: err.expose === true ? err.message : 'internal error',
    })
  }) as ErrorRequestHandler)
  return app
}

async function main(): Promise<number> {
  const emulator = await startEntraEmulator({ http: true, tenants: [{}, {}] })
  const [contoso, fabrikam] = emulator.tenants as [
    (typeof emulator.tenants)[0],
    (typeof emulator.tenants)[0],
  ]
  const servers: Server[] = []
  try {
    // App registrations, as an admin would make them in the Entra admin center.
    const dataApi = emulator.registerApp({
      name: 'Contoso Data API',
      appIdUri: DATA_API,
      scopes: ['Data.Read', 'Data.Write'],
      appRoles: ['Data.Read.All'],
      signInAudience: 'AzureADMultipleOrgs',
    })
    const webCertificate = await createCertificate({
      commonName: 'contoso-web-api',
      keyType: 'rsa',
    })
    const webApi = emulator.registerApp({
      name: 'Contoso Web API',
      appIdUri: WEB_API,
      scopes: ['Web.Access'],
      certificates: [webCertificate],
      delegatedPermissions: [{ resource: dataApi, scopes: ['Data.Read'] }],
    })
    const portal = emulator.registerApp({ name: 'Contoso Portal (single-page app)' })
    // A web app that signs Megan in with MSAL and declares cp1: it can answer claims challenges.
    const REDIRECT_URI = 'http://localhost:5000/signed-in'
    const reports = emulator.registerApp({
      name: 'Contoso Reports (web app)',
      secret: true,
      redirectUris: [REDIRECT_URI],
      delegatedPermissions: [{ resource: webApi, scopes: ['Web.Access'] }],
    })
    const daemon = emulator.registerApp({
      name: 'Contoso nightly export',
      secret: true,
      applicationPermissions: [{ resource: dataApi, roles: ['Data.Read.All'] }],
    })
    const partner = emulator.registerApp({
      name: 'Fabrikam sync job',
      tenant: fabrikam.id,
      secret: true,
      applicationPermissions: [{ resource: dataApi, roles: ['Data.Read.All'] }],
    })
    const megan = emulator.addUser({ name: 'Megan Bowen' })

    const msal = (clientId: string, tenant: string, auth: Partial<Configuration['auth']>) =>
      new ConfidentialClientApplication({
        auth: { clientId, ...emulator.msalAuthority(tenant), ...auth },
        system: { networkClient: emulator.networkClient },
      })
    // The Web API's one On-Behalf-Of helper: one MSAL client, declaring cp1 (claims challenges).
    const obo = createOnBehalfOf({
      msal: {
        auth: {
          clientId: webApi.clientId,
          ...emulator.msalAuthority(contoso.id),
          clientCertificate: {
            thumbprintSha256: webCertificate.thumbprintSha256,
            privateKey: webCertificate.privateKey,
          },
        },
        system: { networkClient: emulator.networkClient },
      },
    })

    const data = await listen(dataApp(emulator, dataApi.clientId, contoso.id).callback())
    const web = await listen(webApp(emulator, webApi.clientId, obo, data.origin))
    servers.push(data.server, web.server)

    // A real user's sign-in (authorization code + PKCE in the portal) is out of scope here.
    const userToken = emulator.mint({
      resource: webApi,
      client: portal,
      user: megan,
      scopes: ['Web.Access'],
    })

    // Megan signs in to the reports web app with MSAL (authorization code with PKCE; the emulator
    // signs in the login_hint user at once, satisfying the claims asked for, where Entra ID would
    // prompt for MFA).
    const reportsMsal = msal(reports.clientId, contoso.id, {
      clientSecret: reports.secret as string,
      clientCapabilities: ['cp1'],
    })
    async function signIn(claims?: string): Promise<string> {
      const pkce = await new CryptoProvider().generatePkceCodes()
      const scopes = [`${WEB_API}/Web.Access`]
      const url = await reportsMsal.getAuthCodeUrl({
        scopes,
        redirectUri: REDIRECT_URI,
        loginHint: megan.username,
        codeChallenge: pkce.challenge,
        codeChallengeMethod: 'S256',
        ...(claims === undefined ? {} : { claims }),
      })
      // The browser's part, over the emulator's plain HTTP origin.
      const browser = await fetch(url.replace(emulator.instance, emulator.httpOrigin as string), {
        redirect: 'manual',
      })
      const code = new URL(browser.headers.get('location') ?? REDIRECT_URI).searchParams.get('code')
      const result = await reportsMsal.acquireTokenByCode({
        code: code ?? '',
        scopes,
        redirectUri: REDIRECT_URI,
        codeVerifier: pkce.verifier,
        ...(claims === undefined ? {} : { claims }),
      })
      return result.accessToken
    }
    let stepUpClaims: string | undefined

    const steps: Step[] = [
      {
        title:
          'The daemon gets an app-only token with MSAL (client credentials, client secret) and calls the Data API.',
        async run() {
          const result = await msal(daemon.clientId, contoso.id, {
            clientSecret: daemon.secret as string,
          }).acquireTokenByClientCredential({ scopes: [`${DATA_API}/.default`] })
          const answer = await call(`${data.origin}/records`, result?.accessToken)
          const caller = (answer.body as { caller?: Caller }).caller
          const ok =
            answer.status === 200 &&
            caller?.appOnly === true &&
            caller.roles.includes('Data.Read.All') &&
            caller.clientId === daemon.clientId
          return {
            ok,
            detail: `${answer.status}: app-only, roles [${caller?.roles.join(', ')}], client ${caller?.clientId}`,
          }
        },
      },
      {
        title:
          'Megan calls the Web API with her token (minted by the emulator: a real sign-in is out of scope); the Web API gets an On-Behalf-Of token with MSAL (certificate) and calls the Data API.',
        async run() {
          const answer = await call(`${web.origin}/dashboard`, userToken)
          const body = answer.body as { data?: { caller?: Caller } }
          const caller = body.data?.caller
          const ok =
            answer.status === 200 &&
            caller?.appOnly === false &&
            caller.user === 'Megan Bowen' &&
            caller.scopes.join(' ') === 'Data.Read' &&
            caller.clientId === webApi.clientId
          return {
            ok,
            detail: `${answer.status}: the Data API saw ${caller?.user}, scp [${caller?.scopes.join(', ')}], through client ${caller?.clientId} (the Web API)`,
          }
        },
      },
      {
        title:
          'The Web API asks for Data.Write on her behalf, which no one consented to: Entra ID answers AADSTS65001, and the Web API answers 403 with the scopes to consent to (never the AADSTS message).',
        async run() {
          return expectRejection(
            await call(`${web.origin}/dashboard/export`, userToken),
            403,
            'insufficient_scope',
            `scopes="${DATA_API}/Data.Write", proposedAction="consent"`,
          )
        },
      },
      {
        title:
          'Step-up, 1/2: Megan signs in to the reports web app (MSAL, authorization code; it declares cp1) and asks for salaries; the Data API needs authentication context c1, the Web API retries On-Behalf-Of with those claims, Entra ID wants an interactive sign-in (AADSTS50076), and the Web API hands the claims challenge back.',
        async run() {
          const answer = await call(`${web.origin}/dashboard/salaries`, await signIn())
          stepUpClaims = claimsFromChallenge(answer.challenge)
          const outcome = expectRejection(
            answer,
            401,
            'insufficient_claims',
            `authorization_uri="${emulator.instance}/${contoso.id}/oauth2/v2.0/authorize"`,
          )
          return {
            ok: outcome.ok && stepUpClaims !== undefined,
            detail: `${outcome.detail}\n         claims: ${stepUpClaims}`,
          }
        },
      },
      {
        title:
          'Step-up, 2/2: the web app signs Megan in again with those claims (MSAL, claims in the authorization request) and calls again: the Data API sees acrs [c1].',
        async run() {
          const answer = await call(`${web.origin}/dashboard/salaries`, await signIn(stepUpClaims))
          const caller = (answer.body as { data?: { caller?: Caller } }).data?.caller
          const contexts = caller?.authContexts as string[] | undefined
          return {
            ok: answer.status === 200 && contexts?.includes('c1') === true,
            detail: `${answer.status}: the Data API saw ${caller?.user} with acrs [${contexts?.join(', ')}]`,
          }
        },
      },
      {
        title: "Megan's token for the Web API sent straight to the Data API (wrong audience).",
        async run() {
          return expectRejection(
            await call(`${data.origin}/records`, userToken),
            401,
            'invalid_token',
            'audience',
          )
        },
      },
      {
        title: 'A Data API token that expired 10 minutes ago.',
        async run() {
          const expired = emulator.mint({
            resource: dataApi,
            client: webApi,
            user: megan,
            scopes: ['Data.Read'],
            issuedAt: Math.floor(Date.now() / 1000) - 4_200,
          })
          return expectRejection(
            await call(`${data.origin}/records`, expired),
            401,
            'invalid_token',
            'expired',
          )
        },
      },
      {
        title: 'A Data API token with scope Data.Write only (missing scope Data.Read).',
        async run() {
          const writer = emulator.mint({
            resource: dataApi,
            client: webApi,
            user: megan,
            scopes: ['Data.Write'],
          })
          return expectRejection(
            await call(`${data.origin}/records`, writer),
            403,
            'insufficient_scope',
            'scope="Data.Read"',
          )
        },
      },
      {
        title:
          "Fabrikam's sync job gets a real token in its own tenant with MSAL and calls the Data API (tenant not allowed).",
        async run() {
          const result = await msal(partner.clientId, fabrikam.id, {
            clientSecret: partner.secret as string,
          }).acquireTokenByClientCredential({ scopes: [`${DATA_API}/.default`] })
          return expectRejection(
            await call(`${data.origin}/records`, result?.accessToken),
            401,
            'invalid_token',
            'tenant',
          )
        },
      },
    ]

    console.log('bearer-guard demo: Entra ID service-to-service calls against a local emulator\n')
    console.log(
      `  emulator  ${emulator.instance} (HTTPS, its own CA); keys also at ${emulator.httpOrigin}`,
    )
    console.log(`  tenants   ${contoso.domain} ${contoso.id}, ${fabrikam.domain} ${fabrikam.id}`)
    console.log(
      `  Data API  Koa      ${data.origin}/records    azureAd(organizations, allowedTenants [contoso]) + requireScopesOrRoles('Data.Read', 'Data.Read.All')`,
    )
    console.log(
      `  Web API   Express  ${web.origin}/dashboard  azureAd(contoso) + requireScopes('Web.Access'), calls the Data API On-Behalf-Of the user (bearer-guard/msal)`,
    )
    console.log(
      '  daemon    MSAL client credentials (client secret), application permission Data.Read.All\n',
    )

    let failures = 0
    for (const [index, step] of steps.entries()) {
      const outcome = await step.run().catch((error: unknown) => ({
        ok: false,
        detail: `unexpected error: ${error instanceof Error ? error.message : String(error)}`,
      }))
      if (!outcome.ok) failures++
      console.log(`${String(index + 1).padStart(2)}. ${outcome.ok ? 'ok  ' : 'FAIL'} ${step.title}`)
      console.log(`         ${outcome.detail}`)
    }
    const counts = emulator.requestCounts
    console.log(
      `\nThe emulator answered ${counts.token} token, ${counts.discovery} discovery and ${counts.jwks} key requests.`,
    )
    console.log(
      failures === 0
        ? `\nall ${steps.length} outcomes as expected`
        : `\n${failures} of ${steps.length} outcomes differ from the expected ones`,
    )
    return failures === 0 ? 0 : 1
  } finally {
    for (const server of servers) {
      server.closeAllConnections()
      server.close()
    }
    await emulator.close()
  }
}

const watchdog = setTimeout(() => {
  console.error(`the demo did not finish within ${WATCHDOG_MS / 1000} s`)
  process.exit(1)
}, WATCHDOG_MS)
watchdog.unref()

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
