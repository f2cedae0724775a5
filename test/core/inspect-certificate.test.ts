/**
 * `inspectToken`'s `certificate` setting and `bearer-guard inspect --certificate` (#11: inspect
 * explains a certificate-bound token, RFC 8705): the certificate check passes for the certificate
 * the token names, fails for another one (saying both thumbprints), is skipped with the reason when
 * no certificate is given, and runs the same with the certificate in a proxy's header.
 * Real certificates made here, a real JWKS server.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT, formatInspection } from '../../src/cli/run.js'
import { certificateThumbprint, type ValidatorOptions } from '../../src/index.js'
import { inspectToken, type TokenInspection } from '../../src/inspect.js'
import { type Certificate, createCertificate } from '../../src/testing/certificate.js'
import { cli } from '../helpers/cli.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

let jwks: JwksServer
let client: Certificate
let other: Certificate
let bound: string
let plain: string
let options: ValidatorOptions
let dir: string

beforeAll(async () => {
  jwks = await startJwksServer()
  ;[client, other] = await Promise.all([
    createCertificate({ commonName: 'client' }),
    createCertificate({ commonName: 'other' }),
  ])
  bound = await mintToken({ claims: { cnf: { 'x5t#S256': certificateThumbprint(client.der) } } })
  plain = await mintToken()
  options = {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: jwks.jwksUri,
    tokenCache: false,
    certificateBinding: true,
  }
  dir = await mkdtemp(join(tmpdir(), 'bearer-guard-inspect-'))
})

afterAll(async () => {
  await jwks.close()
  await rm(dir, { recursive: true, force: true })
})

function certificateCheck(report: TokenInspection) {
  return report.checks.find((check) => check.name === 'certificate')
}

describe('inspectToken with a certificate', () => {
  it('accepts a certificate-bound token with the certificate it names', async () => {
    const report = await inspectToken(bound, options, { now: NOW, certificate: client.certificate })
    expect(report.verdict).toBe('accepted')
    expect(certificateCheck(report)).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining(certificateThumbprint(client.der)),
    })
  })

  it('rejects it with another certificate, naming both thumbprints', async () => {
    const report = await inspectToken(bound, options, { now: NOW, certificate: other.certificate })
    expect(report.verdict).toBe('rejected')
    expect(report.error?.reason).toBe('wrong_certificate')
    const check = certificateCheck(report)
    expect(check?.status).toBe('fail')
    expect(check?.detail).toContain(certificateThumbprint(other.der))
    expect(check?.detail).toContain(certificateThumbprint(client.der))
  })

  it('says the check was skipped, and why, without a certificate', async () => {
    const report = await inspectToken(bound, options, { now: NOW })
    expect(certificateCheck(report)).toMatchObject({
      status: 'skip',
      detail: expect.stringContaining('no client certificate given'),
    })
    // Not accepted: the validator's answer depends on the certificate.
    expect(report.verdict).toBe('incomplete')
    expect(report.error).toBeUndefined()
    expect(formatInspection(report)).toContain(
      'Verdict: NOT FULLY CHECKED: the token is bound to a client certificate (cnf x5t#S256):',
    )
  })

  it('passes a token that is not bound, with or without a certificate', async () => {
    for (const settings of [{ now: NOW }, { now: NOW, certificate: client.certificate }]) {
      const report = await inspectToken(plain, options, settings)
      expect(report.verdict).toBe('accepted')
      expect(certificateCheck(report)?.detail).toContain('not bound to a certificate')
    }
  })

  it("reads the certificate from the proxy's header when the options name one", async () => {
    const viaHeader = { ...options, certificateBinding: { certificateHeader: 'client-cert' } }
    const rfc9440 = `:${client.der.toString('base64')}:`
    const good = await inspectToken(bound, viaHeader, { now: NOW, certificate: rfc9440 })
    expect(good.verdict).toBe('accepted')
    const bad = await inspectToken(bound, viaHeader, { now: NOW, certificate: other.certificate })
    expect(bad.error?.reason).toBe('wrong_certificate')
  })

  it('refuses a certificate setting it cannot use', async () => {
    const { certificateBinding: _, ...unbound } = options
    await expect(
      inspectToken(bound, unbound, { now: NOW, certificate: client.certificate }),
    ).rejects.toThrow('"certificate" setting needs validator options with "certificateBinding"')
    await expect(
      inspectToken(bound, undefined, { certificate: client.certificate }),
    ).rejects.toThrow(TypeError)
    await expect(
      inspectToken(bound, options, { now: NOW, certificate: 'not a certificate' }),
    ).rejects.toThrow('"certificate" setting must be a PEM or base64 DER certificate')
  })

  it('agrees with the validator', async () => {
    const { createValidator } = await import('../../src/index.js')
    const validator = createValidator(options)
    // A Bearer request with the client certificate on its (TLS) socket, as Node gives it.
    const request = (certificate: Certificate) => ({
      method: 'GET',
      url: '/',
      rawHeaders: ['Authorization', `Bearer ${bound}`],
      socket: { getPeerCertificate: () => ({ raw: certificate.der }) },
    })
    const { vi } = await import('vitest')
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW * 1000)
    try {
      expect((await validator.decide(request(client))).auth?.binding).toBeDefined()
      expect((await validator.decide(request(other))).error?.reason).toBe('wrong_certificate')
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('bearer-guard inspect --certificate', () => {
  const config = () => ['--issuer', ISSUER, '--audience', AUDIENCE, '--jwks', jwks.jwksUri]

  it('checks the binding against the PEM file and exits 0 or 1', async () => {
    const good = join(dir, 'client.pem')
    const bad = join(dir, 'other.pem')
    await writeFile(good, client.certificate)
    await writeFile(bad, other.certificate)
    const accepted = await cli([
      'inspect',
      bound,
      ...config(),
      '--now',
      `${NOW}`,
      '--certificate',
      good,
    ])
    expect(accepted.code).toBe(EXIT.accepted)
    expect(accepted.stdout).toMatch(/PASS\s+certificate\s+the client certificate's x5t#S256/)
    const rejected = await cli([
      'inspect',
      bound,
      ...config(),
      '--now',
      `${NOW}`,
      '--certificate',
      bad,
    ])
    expect(rejected.code).toBe(EXIT.rejected)
    expect(rejected.stdout).toMatch(/FAIL\s+certificate\s+/)
    expect(rejected.stdout).toContain('Verdict: REJECTED (wrong_certificate). The API answers 401')
  })

  it('says a bound token is not fully checked without --certificate, and exits 1', async () => {
    const run = await cli(['inspect', bound, ...config(), '--now', `${NOW}`])
    // Without --certificate the options do not bind: the cnf check fails as the validator would.
    expect(run.code).toBe(EXIT.rejected)
    expect(run.stdout).toContain('Verdict: REJECTED (unproven_binding)')
    expect(run.stdout).toContain(
      'Hint: the token is bound to a client certificate (cnf x5t#S256): give --certificate <file>',
    )
    const unbound = await cli(['inspect', plain, ...config(), '--now', `${NOW}`])
    expect(unbound.stdout).not.toContain('Hint:')
  })

  it('says what is wrong with the file, in flag names', async () => {
    const missing = await cli([
      'inspect',
      bound,
      ...config(),
      '--certificate',
      join(dir, 'nope.pem'),
    ])
    expect(missing.code).toBe(EXIT.usage)
    expect(missing.stderr).toContain('--certificate: cannot read')
    expect(missing.stderr).toContain('ENOENT')
    const garbage = join(dir, 'garbage.pem')
    await writeFile(garbage, 'hello')
    const unreadable = await cli(['inspect', bound, ...config(), '--certificate', garbage])
    expect(unreadable.code).toBe(EXIT.usage)
    expect(unreadable.stderr).toContain('--certificate must be a PEM or base64 DER certificate')
    // Read with a bound: an endless file is refused after 64 KB, not read into memory.
    const endless = await cli(['inspect', bound, ...config(), '--certificate', '/dev/zero'])
    expect(endless.code).toBe(EXIT.usage)
    expect(endless.stderr).toContain('--certificate: the file is over 64 KB')
    const alone = await cli(['inspect', bound, '--certificate', garbage])
    expect(alone.code).toBe(EXIT.usage)
    expect(alone.stderr).toContain('--certificate needs the options')
  })
})
