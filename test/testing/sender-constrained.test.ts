/**
 * The test kit's sender-constrained tokens: the emulator mints DPoP-bound (`dpopKey`) and
 * certificate-bound (`certificate`) tokens, `createDpopProof` builds the proofs, and the
 * `azureAd()` validator with DPoP or certificate binding accepts them only with their proof;
 * `inspectToken` explains a proof.
 */
import { generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { azureAd, createValidator, inspectToken, type ValidatorOptions } from '../../src/index.js'
import {
  type AppRegistration,
  createCertificate,
  createDpopProof,
  dpopThumbprint,
  type EntraEmulator,
  startEntraEmulator,
} from '../../src/testing/index.js'

const ORIGIN = 'https://api.contoso.example'
let emulator: EntraEmulator
let api: AppRegistration
let options: ValidatorOptions

beforeAll(async () => {
  emulator = await startEntraEmulator({ http: true })
  api = emulator.registerApp({
    name: 'Orders',
    appIdUri: 'api://orders',
    appRoles: ['Orders.Read'],
  })
  options = azureAd({ ...emulator.azureAdOptions(), audience: api.clientId })
})

afterAll(() => emulator?.close())

const request = (token: string, proof?: string, scheme = 'DPoP') => ({
  method: 'GET',
  url: '/orders',
  rawHeaders: [
    'Authorization',
    `${scheme} ${token}`,
    ...(proof === undefined ? [] : ['DPoP', proof]),
  ],
})

describe('DPoP-bound tokens from the emulator', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })

  it('binds the token to the key, and the validator takes it only with a proof of that key', async () => {
    const token = emulator.mint({ resource: api, roles: ['Orders.Read'], dpopKey: privateKey })
    const validator = createValidator({ ...options, dpop: { publicOrigin: ORIGIN } })
    const proof = createDpopProof({
      privateKey,
      method: 'GET',
      url: `${ORIGIN}/orders?page=1`,
      accessToken: token,
    })
    const accepted = await validator.decide(request(token, proof))
    expect(accepted.error).toBeUndefined()
    expect(accepted.auth?.binding).toEqual({ method: 'dpop', jkt: dpopThumbprint(privateKey) })
    expect((await validator.decide(request(token))).error?.code).toBe('invalid_dpop_proof')
    expect((await validator.decide(request(token, proof, 'Bearer'))).error?.code).toBe(
      'invalid_token',
    )
  })

  it('makes proofs with RSA and Ed25519 keys too', async () => {
    for (const key of [
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      generateKeyPairSync('ed25519').privateKey,
    ]) {
      const token = emulator.mint({ resource: api, roles: ['Orders.Read'], dpopKey: key })
      const validator = createValidator({ ...options, dpop: { publicOrigin: ORIGIN } })
      const proof = createDpopProof({
        privateKey: key,
        method: 'GET',
        url: `${ORIGIN}/orders`,
        accessToken: token,
      })
      expect((await validator.decide(request(token, proof))).error).toBeUndefined()
    }
  })

  it('is explained by inspectToken, check by check', async () => {
    const token = emulator.mint({ resource: api, roles: ['Orders.Read'], dpopKey: privateKey })
    const dpopOptions = { ...options, dpop: { publicOrigin: ORIGIN } }
    const good = await inspectToken(token, dpopOptions, {
      proof: {
        dpop: createDpopProof({
          privateKey,
          method: 'GET',
          url: `${ORIGIN}/orders`,
          accessToken: token,
        }),
        method: 'GET',
        url: `${ORIGIN}/orders`,
      },
    })
    expect(good.verdict).toBe('accepted')
    const checks = Object.fromEntries(good.checks.map((check) => [check.name, check.status]))
    expect(checks).toMatchObject({ cnf: 'pass', dpop_proof: 'pass', dpop_replay: 'skip' })
    const wrong = await inspectToken(token, dpopOptions, {
      proof: {
        dpop: createDpopProof({
          privateKey,
          method: 'POST',
          url: `${ORIGIN}/orders`,
          accessToken: token,
        }),
        method: 'GET',
        url: `${ORIGIN}/orders`,
      },
    })
    expect(wrong.verdict).toBe('rejected')
    expect(wrong.checks.find((check) => check.name === 'dpop_proof')?.detail).toContain(
      'the DPoP proof htm is not the method of this request',
    )
    await expect(
      inspectToken(token, options, { proof: { dpop: 'x', method: 'GET', url: ORIGIN } }),
    ).rejects.toThrow('"proof" setting needs validator options with "dpop"')
  })
})

describe('certificate-bound tokens from the emulator', () => {
  it('binds the token to the certificate; the validator takes it only with that certificate', async () => {
    const [certificate, other] = await Promise.all([
      createCertificate({ commonName: 'daemon' }),
      createCertificate({ commonName: 'other' }),
    ])
    const token = emulator.mint({ resource: api, roles: ['Orders.Read'], certificate })
    const validator = createValidator({
      ...options,
      certificateBinding: { certificateHeader: 'client-cert' },
    })
    const withCert = (c: typeof certificate, scheme: string) => ({
      method: 'GET',
      url: '/orders',
      rawHeaders: [
        'Authorization',
        `${scheme} ${token}`,
        'Client-Cert',
        `:${c.der.toString('base64')}:`,
      ],
    })
    expect((await validator.decide(withCert(certificate, 'MTLS_POP'))).error).toBeUndefined()
    expect((await validator.decide(withCert(certificate, 'Bearer'))).auth?.binding).toEqual({
      method: 'certificate',
      x5tS256: Buffer.from(certificate.thumbprintSha256, 'hex').toString('base64url'),
    })
    expect((await validator.decide(withCert(other, 'Bearer'))).error?.reason).toBe(
      'wrong_certificate',
    )
  })
})
