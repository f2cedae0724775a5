/**
 * The emulator proven with MSAL for Python (Debian's python3-msal, 1.21): client secret,
 * certificate (with and without `public_certificate`, the x5c chain) and On-Behalf-Of (secret and
 * certificate), each token answered by a bearer-guard API; the AADSTS errors as MSAL for Python
 * returns them; client credentials at /common and /organizations; instance discovery's
 * `invalid_instance`. One Python process (msal-python-driver.py) runs every flow, configured only
 * with `emulator.msalPythonOptions()` and `caCertificatePath`.
 *
 * It needs a python3 that can `import msal`: /usr/bin/python3 (where Debian installs python3-msal)
 * or the first python3 on PATH. Without one the group is skipped with the reason, except under CI,
 * where .ci/run installs python3-msal and a missing interpreter fails.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type AppRegistration,
  type Certificate,
  createCertificate,
  type EntraEmulator,
  startEntraEmulator,
} from '../../src/testing/index.js'
import { type ProtectedApi, startProtectedApi } from './protected-api.js'

const DRIVER = fileURLToPath(new URL('./msal-python-driver.py', import.meta.url))
const INTERPRETERS = ['/usr/bin/python3', 'python3']

/** The first interpreter that imports msal and requests, or why none does. */
async function findPython(): Promise<{ path: string } | { reason: string }> {
  const tried: string[] = []
  for (const path of INTERPRETERS) {
    try {
      await promisify(execFile)(path, ['-c', 'import msal, requests'], { timeout: 15_000 })
      return { path }
    } catch (error) {
      const { code, stderr } = error as { code?: unknown; stderr?: string }
      const last = stderr?.trim().split('\n').at(-1)
      tried.push(`${path}: ${code === 'ENOENT' ? 'not found' : (last ?? String(error))}`)
    }
  }
  return { reason: `no python3 imports msal (${tried.join('; ')}); apt-get install python3-msal` }
}

const python = await findPython()

interface Job {
  id: string
  flow: 'client_credentials' | 'on_behalf_of'
  client_id: string
  credential: string | { private_key: string; thumbprint: string; public_certificate?: string }
  /** `emulator.msalPythonOptions()`, or `instance_discovery` set to a discovery endpoint. */
  options: { authority: string; instance_discovery: false | string }
  scopes: string[]
  user_assertion?: string
  trust_env?: boolean
}

interface PythonResult {
  access_token?: string
  error?: string
  error_description?: string
  error_codes?: number[]
  suberror?: string
  exception?: string
  message?: string
}

/** Runs the driver once over every job; rejects when it fails or takes over 60 s. */
function runDriver(
  interpreter: string,
  input: object,
  env: NodeJS.ProcessEnv,
): Promise<{ msal: string; results: Record<string, PythonResult> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(interpreter, [DRIVER], { env, timeout: 60_000 })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8')
      if (code !== 0) {
        reject(new Error(`msal-python-driver.py exited ${code ?? signal}: ${stderr}`))
        return
      }
      resolve(JSON.parse(Buffer.concat(out).toString('utf8')))
    })
    child.stdin.end(JSON.stringify(input))
  })
}

let emulator: EntraEmulator
let api: ProtectedApi
let dataApi: AppRegistration
let webApi: AppRegistration
let daemon: AppRegistration
let certDaemon: AppRegistration
let daemonCert: Certificate
let chainedCert: Certificate
let clientCa: Certificate
let webCert: Certificate
let files: string
let msalVersion: string
let results: Record<string, PythonResult>

/** MSAL for Python's certificate credential: the SHA-1 thumbprint it sends padded in `x5t`. */
function certificate(cert: Certificate, chain?: string) {
  return {
    private_key: cert.privateKey,
    thumbprint: cert.thumbprint,
    ...(chain === undefined ? {} : { public_certificate: chain }),
  }
}

function jobs(): Job[] {
  const options = emulator.msalPythonOptions()
  const daemonJob = (id: string, change: Partial<Job> = {}): Job => ({
    id,
    flow: 'client_credentials',
    client_id: daemon.clientId,
    credential: daemon.secret as string,
    options,
    scopes: ['api://data/.default'],
    ...change,
  })
  const userToken = emulator.mint({ resource: webApi, scopes: ['Web.Access'] })
  const oboJob = (id: string, change: Partial<Job> = {}): Job => ({
    id,
    flow: 'on_behalf_of',
    client_id: webApi.clientId,
    credential: webApi.secret as string,
    options,
    scopes: ['api://data/Data.Read'],
    user_assertion: userToken,
    ...change,
  })
  const discovery = `${emulator.instance}/common/discovery/instance`
  return [
    daemonJob('secret'),
    daemonJob('secret by domain', {
      options: emulator.msalPythonOptions('contoso.onmicrosoft.com'),
    }),
    daemonJob('secret for another API', { scopes: ['api://other/.default'] }),
    daemonJob('certificate', {
      client_id: certDaemon.clientId,
      credential: certificate(daemonCert),
    }),
    daemonJob('certificate with chain', {
      client_id: certDaemon.clientId,
      credential: certificate(chainedCert, chainedCert.certificate + clientCa.certificate),
    }),
    oboJob('obo secret'),
    oboJob('obo certificate', { credential: certificate(webCert) }),
    daemonJob('wrong secret', { credential: 'not-the-secret' }),
    daemonJob('unknown client', { client_id: '11111111-2222-4333-8444-555555555555' }),
    daemonJob('unknown resource', { scopes: ['api://missing/.default'] }),
    daemonJob('unregistered certificate', {
      client_id: certDaemon.clientId,
      credential: certificate(webCert),
    }),
    oboJob('expired assertion', {
      user_assertion: emulator.mint({
        resource: webApi,
        scopes: ['Web.Access'],
        issuedAt: Math.floor(Date.now() / 1000) - 7_200,
      }),
    }),
    oboJob('consent missing', { scopes: ['api://data/Data.Write'] }),
    daemonJob('common', { options: emulator.msalPythonOptions('common') }),
    daemonJob('organizations', { options: emulator.msalPythonOptions('organizations') }),
    daemonJob('discovery of another host', {
      options: { authority: 'https://login.contoso.test/common', instance_discovery: discovery },
    }),
    daemonJob('discovery of the emulator', {
      options: { ...options, instance_discovery: discovery },
    }),
    daemonJob('session trusting the environment', { trust_env: true }),
  ]
}

function result(id: string): PythonResult {
  const found = results[id]
  expect(found, `no result for "${id}"`).toBeDefined()
  return found as PythonResult
}

function tokenOf(id: string): string {
  const found = result(id)
  expect(found.access_token, JSON.stringify(found)).toEqual(expect.any(String))
  return found.access_token as string
}

function expectEntraError(id: string, error: string, code: number): void {
  expect(result(id)).toMatchObject({
    error,
    error_codes: [code],
    error_description: expect.stringMatching(new RegExp(`^AADSTS${code}: `)),
  })
}

const title = 'reason' in python ? `MSAL for Python (skipped: ${python.reason})` : 'MSAL for Python'

if ('reason' in python && process.env.CI) {
  describe('MSAL for Python', () => {
    it('has a python3 with msal, which .ci/run installs', () => {
      throw new Error(python.reason)
    })
  })
}

describe.skipIf('reason' in python)(title, () => {
  beforeAll(async () => {
    ;[emulator, clientCa, daemonCert, webCert] = await Promise.all([
      startEntraEmulator({ http: true }),
      createCertificate({ commonName: 'client CA', certificateAuthority: true }),
      createCertificate({ commonName: 'cert-daemon', keyType: 'rsa' }),
      createCertificate({ commonName: 'web-api', keyType: 'rsa' }),
    ])
    chainedCert = await createCertificate({
      commonName: 'cert-daemon (CA-issued)',
      keyType: 'rsa',
      issuer: clientCa,
    })
    dataApi = emulator.registerApp({
      name: 'Data API',
      appIdUri: 'api://data',
      scopes: ['Data.Read', 'Data.Write'],
      appRoles: ['Data.Read.All'],
    })
    const otherApi = emulator.registerApp({
      name: 'Other API',
      appIdUri: 'api://other',
      appRoles: ['Other.All'],
    })
    webApi = emulator.registerApp({
      name: 'Web API',
      appIdUri: 'api://web',
      scopes: ['Web.Access'],
      secret: true,
      certificates: [webCert],
      delegatedPermissions: [{ resource: dataApi, scopes: ['Data.Read'] }],
    })
    daemon = emulator.registerApp({
      name: 'Daemon',
      secret: true,
      applicationPermissions: [
        { resource: dataApi, roles: ['Data.Read.All'] },
        { resource: otherApi, roles: ['Other.All'] },
      ],
    })
    certDaemon = emulator.registerApp({
      name: 'Certificate daemon',
      certificates: [daemonCert, chainedCert],
      applicationPermissions: [{ resource: dataApi, roles: ['Data.Read.All'] }],
    })
    api = await startProtectedApi(emulator, dataApi)
    // A CA bundle that does not hold the emulator's CA, in the variables requests reads.
    files = await mkdtemp(join(tmpdir(), 'bearer-guard-msal-python-'))
    const otherBundle = join(files, 'other-ca.pem')
    await writeFile(otherBundle, clientCa.certificate)
    const output = await runDriver(
      (python as { path: string }).path,
      { ca_file: emulator.caCertificatePath, jobs: jobs() },
      { ...process.env, REQUESTS_CA_BUNDLE: otherBundle, CURL_CA_BUNDLE: otherBundle },
    )
    msalVersion = output.msal
    results = output.results
  }, 90_000)

  afterAll(async () => {
    await Promise.all([api?.close(), emulator?.close(), files && rm(files, { recursive: true })])
  })

  it('gets an app-only token with a client secret that the API answers 200, 403 and 401', async () => {
    expect(msalVersion).toMatch(/^1\./)
    for (const id of ['secret', 'secret by domain']) {
      const token = tokenOf(id)
      expect(decodeJwt(token)).toMatchObject({ azp: daemon.clientId, azpacr: '1' })
      expect(await api.call('/orders', token)).toEqual({ status: 200, challenge: null })
      expect(await api.call('/profile', token)).toMatchObject({
        status: 403,
        challenge: expect.stringContaining('error="insufficient_scope"'),
      })
    }
    expect(await api.call('/orders', tokenOf('secret for another API'))).toMatchObject({
      status: 401,
      challenge: expect.stringContaining('error="invalid_token"'),
    })
  })

  it('signs with a certificate (padded x5t), with and without the x5c chain', async () => {
    for (const id of ['certificate', 'certificate with chain']) {
      const token = tokenOf(id)
      expect(decodeJwt(token)).toMatchObject({ azp: certDaemon.clientId, azpacr: '2' })
      expect((await api.call('/orders', token)).status).toBe(200)
    }
  })

  it("exchanges the user's token On-Behalf-Of, with a secret or a certificate", async () => {
    for (const id of ['obo secret', 'obo certificate']) {
      const token = tokenOf(id)
      expect(decodeJwt(token)).toMatchObject({
        oid: emulator.defaultUser.oid,
        azp: webApi.clientId,
        scp: 'Data.Read',
      })
      expect((await api.call('/profile', token)).status).toBe(200)
      expect((await api.call('/orders', token)).status).toBe(403)
    }
  })

  it('returns the AADSTS errors: wrong secret, unknown client or API, unregistered certificate', () => {
    expectEntraError('wrong secret', 'invalid_client', 7000215)
    expectEntraError('unknown client', 'unauthorized_client', 700016)
    expectEntraError('unknown resource', 'invalid_resource', 500011)
    expectEntraError('unregistered certificate', 'invalid_client', 700027)
  })

  it('returns the AADSTS errors of On-Behalf-Of: expired assertion, consent missing', () => {
    expectEntraError('expired assertion', 'invalid_grant', 500133)
    expectEntraError('consent missing', 'invalid_grant', 65001)
    expect(result('consent missing').suberror).toBe('consent_required')
  })

  it('gets AADSTS50059 for client credentials at /common and /organizations', () => {
    expectEntraError('common', 'invalid_request', 50059)
    expectEntraError('organizations', 'invalid_request', 50059)
  })

  it("raises invalid_instance when the emulator's instance discovery does not know the authority", () => {
    expect(result('discovery of another host')).toMatchObject({
      exception: 'ValueError',
      message: expect.stringMatching(/^invalid_instance: .*login\.contoso\.test/),
    })
    // MSAL for Python 1.21 leaves the port out of the authorization_endpoint it asks about, so
    // the emulator does not know its own authority that way: hence instance_discovery=False.
    expect(result('discovery of the emulator')).toMatchObject({
      exception: 'ValueError',
      message: expect.stringMatching(/^invalid_instance: /),
    })
  })

  it("needs trust_env = False: REQUESTS_CA_BUNDLE otherwise replaces the session's verify", () => {
    expect(result('session trusting the environment')).toMatchObject({
      exception: 'SSLError',
      message: expect.stringContaining('CERTIFICATE_VERIFY_FAILED'),
    })
  })
})
