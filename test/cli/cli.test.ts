/**
 * `bearer-guard inspect`: in process through `runCli` for the many argument combinations, and
 * as a user runs it, a child process (`node --import tsx src/cli/main.ts`), against a local JWKS
 * server. Tokens are minted at the helpers' fixed 2020 NOW, hence `--now`.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT, USAGE } from '../../src/cli/run.js'
import { type CliRun, cli } from '../helpers/cli.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { rsaKey } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const TENANT = '8d2c6a0e-5a1b-4c3d-9e7f-0a1b2c3d4e5f'
const CLIENT_ID = '0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b'

let jwks: JwksServer
let token: string
let expired: string
let config: string[]

beforeAll(async () => {
  jwks = await startJwksServer()
  token = await mintToken()
  expired = await mintToken({ claims: { exp: NOW - 3600, iat: NOW - 7200, nbf: NOW - 7200 } })
  config = ['--issuer', ISSUER, '--audience', AUDIENCE, '--jwks', jwks.jwksUri, '--now', `${NOW}`]
})

afterAll(() => jwks.close())

/** The check lines of the text output, as `STATUS name`. */
function checkLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => /^ {2}(PASS|FAIL|SKIP) /.test(line))
    .map((line) => line.trim().split(/\s+/).slice(0, 2).join(' '))
}

describe('bearer-guard inspect', () => {
  it('accepts a valid token: exit 0, the decoded token, every check and the verdict', async () => {
    const { code, stdout, stderr } = await cli(['inspect', token, ...config])
    expect({ code, stderr }).toEqual({ code: EXIT.accepted, stderr: '' })
    expect(stdout).toContain('Header\n  alg  "RS256"\n  kid  "rsa-1"\n  typ  "JWT"\n')
    expect(stdout).toContain('  exp  1604419638  2020-11-03T16:07:18.000Z (in 60 min)\n')
    expect(stdout).toContain('Checks at 2020-11-03T15:07:18.000Z\n')
    expect(checkLines(stdout)).toEqual([
      'PASS format',
      'PASS alg',
      'PASS kid',
      'PASS typ',
      'PASS crit',
      'PASS iss',
      'PASS aud',
      'PASS exp',
      'PASS nbf',
      'PASS iat',
      'SKIP max_age',
      'PASS sub',
      'PASS cnf',
      'SKIP required_claims',
      'PASS permission_claims',
      'SKIP client',
      'SKIP permissions',
      'SKIP claims_rule',
      'PASS key',
      'SKIP key_issuer',
      'PASS signature',
    ])
    expect(stdout).toMatch(/\nVerdict: ACCEPTED\n$/)
    expect(stdout).not.toContain(token.split('.')[2])
  })

  it('rejects an expired token: exit 1, why, and the answer the API gives', async () => {
    const { code, stdout } = await cli(['inspect', expired, ...config])
    expect(code).toBe(EXIT.rejected)
    expect(stdout).toContain('  FAIL  exp                the token expired 60 min ago\n')
    expect(stdout).toContain(
      'Verdict: REJECTED (expired). The API answers 401\n  WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="the token expired 60 min ago"\n',
    )
  })

  it('lists every failure, not only the first', async () => {
    const broken = await mintToken({ claims: { aud: 'api://other', nbf: NOW + 3600 } })
    const { code, stdout } = await cli(['inspect', broken, ...config])
    expect(code).toBe(EXIT.rejected)
    expect(checkLines(stdout).filter((line) => line.startsWith('FAIL'))).toEqual([
      'FAIL aud',
      'FAIL nbf',
    ])
    expect(stdout).toContain('Verdict: REJECTED (wrong_audience)')
  })

  it('reads the token from standard input with -', async () => {
    const { code } = await cli(['inspect', '-', ...config], `${token}\n`)
    expect(code).toBe(EXIT.accepted)
  })

  it('takes a whole Authorization value as the API would', async () => {
    expect((await cli(['inspect', `Bearer  ${token}`, ...config])).code).toBe(EXIT.accepted)
    const malformed = await cli(['inspect', `Bearer ${token} x`, ...config])
    expect(malformed.code).toBe(EXIT.usage)
    expect(malformed.stderr).toContain('the Authorization value is malformed')
  })

  it('follows --discovery to the keys', async () => {
    const args = ['inspect', token, '--issuer', ISSUER, '--audience', AUDIENCE]
    const { code } = await cli([...args, '--discovery', jwks.discoveryUrl, '--now', `${NOW}`])
    expect(code).toBe(EXIT.accepted)
  })

  it('applies --clock-tolerance and --max-token-age', async () => {
    const late = await mintToken({ claims: { exp: NOW - 100 } })
    expect((await cli(['inspect', late, ...config])).code).toBe(EXIT.rejected)
    expect((await cli(['inspect', late, ...config, '--clock-tolerance', '120'])).code).toBe(
      EXIT.accepted,
    )
    const { code, stdout } = await cli(['inspect', token, ...config, '--max-token-age', '60'])
    expect(code).toBe(EXIT.accepted)
    expect(stdout).toContain('PASS  max_age            issued within the last 60 s')
  })

  it('only decodes without configuration, and says the verdict is incomplete', async () => {
    const { code, stdout } = await cli(['inspect', token, '--now', `${NOW}`])
    expect(code).toBe(EXIT.rejected)
    expect(stdout).toContain('SKIP  iss                iss "https://issuer.example/": no issuer')
    expect(stdout).toContain('Verdict: NOT FULLY CHECKED')
  })

  it('shows a malformed token leniently and fails its format', async () => {
    const { code, stdout } = await cli(['inspect', `${token}==`, ...config])
    expect(code).toBe(EXIT.rejected)
    expect(stdout).toMatch(/^\(decoded leniently, for display only/)
    expect(stdout).toContain(
      'FAIL  format             the token segments must be unpadded base64url',
    )
  })

  it('escapes control characters found in the token', async () => {
    const hostile = await mintToken({ claims: { note: '\u001b[2J\u001b[31mred', '\u0007': 1 } })
    const { stdout } = await cli(['inspect', hostile, ...config])
    const controls = [...stdout].filter((char) => char < ' ' && char !== '\n')
    expect(controls).toEqual([])
    expect(stdout).toContain('"\\u001b[2J\\u001b[31mred"')
  })

  it('never sends the token: the JWKS server sees one GET of /keys', async () => {
    jwks.resetHits()
    await cli(['inspect', token, ...config])
    expect(jwks.requests.map((request) => request.path)).toEqual(['/keys'])
    const seen = JSON.stringify(jwks.requests)
    for (const segment of token.split('.')) expect(seen).not.toContain(segment)
  })

  it('answers 503 in the verdict when the keys cannot be had', async () => {
    jwks.setMode('down')
    try {
      const { code, stdout } = await cli(['inspect', token, ...config])
      expect(code).toBe(EXIT.rejected)
      expect(stdout).toContain(`answered HTTP 500`)
      expect(stdout).toContain('The API answers 503\n  Retry-After: 5\n')
    } finally {
      jwks.setMode('ok')
    }
  })

  describe('--json', () => {
    it('prints the report as JSON', async () => {
      const { code, stdout } = await cli(['inspect', expired, ...config, '--json'])
      expect(code).toBe(EXIT.rejected)
      const report = JSON.parse(stdout)
      expect(report).toMatchObject({
        verdict: 'rejected',
        now: NOW,
        response: {
          status: 401,
          code: 'invalid_token',
          reason: 'expired',
          description: 'the token expired 60 min ago',
          headers: {
            'WWW-Authenticate':
              'Bearer realm="api", error="invalid_token", error_description="the token expired 60 min ago"',
          },
        },
        header: { alg: 'RS256', kid: 'rsa-1', typ: 'JWT' },
        decodedLeniently: false,
        keyIds: ['rsa-1', 'ec-1'],
      })
      expect(report.checks).toContainEqual({
        name: 'exp',
        status: 'fail',
        detail: 'the token expired 60 min ago',
      })
      expect(stdout).not.toContain(expired.split('.')[2])
    })

    it('has no response for an accepted token', async () => {
      const report = JSON.parse((await cli(['inspect', token, ...config, '--json'])).stdout)
      expect(report.verdict).toBe('accepted')
      expect(report.response).toBeNull()
    })
  })

  describe('Entra ID', () => {
    const entra = (extra: Record<string, unknown> = {}) =>
      mintToken({
        claims: {
          iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
          aud: CLIENT_ID,
          tid: TENANT,
          ver: '2.0',
          ...extra,
        },
      })
    const azure = () => [
      '--azure-tenant',
      TENANT,
      '--client-id',
      CLIENT_ID,
      '--jwks',
      jwks.jwksUri,
      '--now',
      `${NOW}`,
    ]

    it('accepts a v2 token of the tenant, checking the key issuer', async () => {
      jwks.setKeys({
        keys: [
          { ...rsaKey.publicJwk, issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0' },
        ],
      })
      try {
        const { code, stdout } = await cli(['inspect', await entra(), ...azure()])
        expect(code).toBe(EXIT.accepted)
        expect(stdout).toContain('PASS  permissions')
        expect(stdout).toContain('PASS  key_issuer')
      } finally {
        jwks.setKeys([rsaKey])
      }
    })

    it('explains a Microsoft Graph token', async () => {
      const graph = await entra({ aud: '00000003-0000-0000-c000-000000000000' })
      const { code, stdout } = await cli(['inspect', graph, ...azure()])
      expect(code).toBe(EXIT.rejected)
      expect(stdout).toContain(
        `FAIL  aud                the token is for Microsoft Graph, not this API: request a token for ${CLIENT_ID}/.default`,
      )
    })

    it('checks the tenant allow-list of a multi-tenant API', async () => {
      const args = ['--azure-tenant', 'organizations', '--client-id', CLIENT_ID]
      const allowed = ['--allowed-tenants', '11111111-2222-4333-8444-555555555555']
      const { code, stdout } = await cli([
        'inspect',
        await entra(),
        ...args,
        ...allowed,
        '--jwks',
        jwks.jwksUri,
        '--now',
        `${NOW}`,
      ])
      expect(code).toBe(EXIT.rejected)
      expect(stdout).toContain(
        'FAIL  claims_rule        the token comes from a tenant that is not allowed to call this API',
      )
    })
  })

  describe('usage errors: exit 2 and the usage on stderr', () => {
    it.each([
      [[], 'no command'],
      [['decode', 'x'], 'unknown command "decode"'],
      [['inspect'], 'no token: give it, or - for stdin'],
      [['inspect', 'a', 'b'], 'give one token only'],
      [['inspect', 'x', '--frobnicate'], "Unknown option '--frobnicate'"],
      [
        ['inspect', 'x', '--issuer', ISSUER],
        'give --issuer and --audience, with --jwks or --discovery',
      ],
      [
        [
          'inspect',
          'x',
          '--issuer',
          'i',
          '--audience',
          'a',
          '--jwks',
          'https://a/',
          '--discovery',
          'https://b/',
        ],
        'give --jwks or --discovery, not both',
      ],
      [['inspect', 'x', '--client-id', CLIENT_ID], '--client-id needs --azure-tenant'],
      [
        ['inspect', 'x', '--azure-tenant', TENANT, '--client-id', CLIENT_ID, '--issuer', 'i'],
        '--azure-tenant sets the issuers and keys',
      ],
      [
        ['inspect', 'x', '--issuer', 'i', '--audience', 'a', '--jwks', 'http://example.com/keys'],
        '--jwks must be an https URL',
      ],
      [
        ['inspect', 'x', '--azure-tenant', 'not a tenant', '--client-id', CLIENT_ID],
        '--azure-tenant must be a tenant id',
      ],
      [['inspect', 'x', '--now', 'yesterday'], '--now must be a number of seconds'],
      [['inspect', 'x', '--now', '1e300'], '--now must be a number of seconds'],
      [['inspect', '-'], 'the token is empty'],
    ])('%j: %s', async (args, message) => {
      const { code, stdout, stderr } = await cli(args)
      expect(code).toBe(EXIT.usage)
      expect(stdout).toBe('')
      expect(stderr).toContain(message)
      expect(stderr).toContain(USAGE)
    })

    it('prints the help on stdout with --help', async () => {
      const { code, stdout } = await cli(['--help'])
      expect(code).toBe(EXIT.accepted)
      expect(stdout).toBe(USAGE)
    })
  })
})

describe('the executable (node --import tsx src/cli/main.ts)', () => {
  function spawnCli(args: string[], stdin?: string): Promise<CliRun> {
    const env = { ...process.env }
    delete env.NODE_OPTIONS
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', ...args],
        { cwd: root, env, timeout: 20_000 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
          resolve({ code, stdout, stderr })
        },
      )
      child.stdin?.end(stdin ?? '')
    })
  }

  it('exits 0, 1 and 2 as documented, reading - from stdin', async () => {
    const [accepted, rejected, piped, usage] = await Promise.all([
      spawnCli(['inspect', token, ...config]),
      spawnCli(['inspect', expired, ...config]),
      spawnCli(['inspect', '-', ...config, '--json'], `${token}\n`),
      spawnCli(['inspect']),
    ])
    expect(accepted).toMatchObject({ code: 0, stderr: '' })
    expect(accepted.stdout).toMatch(/Verdict: ACCEPTED\n$/)
    expect(rejected.code).toBe(1)
    expect(rejected.stdout).toContain('FAIL  exp')
    expect(piped.code).toBe(0)
    expect(JSON.parse(piped.stdout).verdict).toBe('accepted')
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('Usage: bearer-guard inspect')
  })
})

describe('bearer-guard inspect for a newcomer (issue #13, point 5)', () => {
  it('prints the version with --version and -v', async () => {
    for (const flag of ['--version', '-v']) {
      const { code, stdout } = await cli([flag])
      expect(code).toBe(EXIT.accepted)
      expect(stdout).toMatch(/^bearer-guard \d+\.\d+\.\d+\n$/)
    }
  })

  it('gives a token that cannot be read one line, not a list of skipped checks', async () => {
    const { code, stdout } = await cli(['inspect', 'not-a-token'])
    expect(code).toBe(EXIT.rejected)
    const checks = stdout.split('\n').filter((line) => /^ {2}(PASS|FAIL|SKIP) /.test(line))
    expect(checks).toEqual([
      '  FAIL  format             the token is not a JWS in compact serialization (three segments)',
    ])
    expect(stdout).toContain('(the other 20 checks need a readable token)')
    expect(stdout).not.toContain('SKIP')
  })

  it('checks US Government and China tokens with --cloud, an emulator with --instance', async () => {
    const token = await mintToken({
      claims: {
        iss: `https://login.microsoftonline.us/${TENANT}/v2.0`,
        tid: TENANT,
        ver: '2.0',
        aud: CLIENT_ID,
      },
    })
    const args = ['inspect', token, '--azure-tenant', TENANT, '--client-id', CLIENT_ID]
    const gov = await cli([...args, '--cloud', 'usgovernment', '--now', String(NOW), '--json'])
    const govReport = JSON.parse(gov.stdout) as { checks: { name: string; status: string }[] }
    expect(govReport.checks.find((check) => check.name === 'iss')?.status).toBe('pass')
    const wrongCloud = await cli([...args, '--now', String(NOW), '--json'])
    const publicReport = JSON.parse(wrongCloud.stdout) as typeof govReport
    expect(publicReport.checks.find((check) => check.name === 'iss')?.status).toBe('fail')
    const bad = await cli([...args, '--cloud', 'mars'])
    expect(bad.code).toBe(EXIT.usage)
    expect(bad.stderr).toContain('--cloud must be one of public, usgovernment, china')
    const instance = await cli([...args, '--instance', 'not a url'])
    expect(instance.code).toBe(EXIT.usage)
    expect(instance.stderr).toContain('--instance')
    const alone = await cli(['inspect', token, '--cloud', 'china'])
    expect(alone.stderr).toContain('--cloud needs --azure-tenant')
  })
})
