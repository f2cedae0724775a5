/**
 * Certificate-bound tokens in the core (RFC 8705 §3): the proxy header's forms, the thumbprint,
 * the option. Requests over real mutual TLS run in test/interop/mtls.test.ts, the proxy-header
 * form through every adapter in test/adapters/dpop.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { certificateThumbprint, createValidator, parseCertificateHeader } from '../../src/index.js'
import { type Certificate, createCertificate } from '../../src/testing/certificate.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER } from '../helpers/tokens.js'

let certificate: Certificate
beforeAll(async () => {
  certificate = await createCertificate({ commonName: 'client' })
})

describe('parseCertificateHeader', () => {
  it('reads RFC 9440 Client-Cert, a PEM (URL-encoded or not) and base64 DER', () => {
    const { der } = certificate
    for (const value of [
      `:${der.toString('base64')}:`,
      encodeURIComponent(certificate.certificate),
      certificate.certificate,
      der.toString('base64'),
      der.toString('base64url'),
    ]) {
      expect(parseCertificateHeader(value), value.slice(0, 20)).toEqual(der)
    }
  })

  it('has nothing for an absent, empty, oversized or malformed value', () => {
    for (const value of [undefined, '', ':not base64!:', '%E0%A4%A', 'AAAA', 'x'.repeat(70_000)]) {
      expect(parseCertificateHeader(value)).toBeUndefined()
    }
  })
})

describe('certificateThumbprint', () => {
  it('is base64url(SHA-256(DER)), the hex thumbprint of the certificate re-encoded', () => {
    expect(certificateThumbprint(certificate.der)).toBe(
      Buffer.from(certificate.thumbprintSha256, 'hex').toString('base64url'),
    )
  })
})

describe('certificateBinding option', () => {
  const base = { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) }

  it('takes true or a header name, and nothing else', () => {
    expect(
      createValidator({ ...base, certificateBinding: true }).options.certificateBinding,
    ).toEqual({ header: undefined })
    expect(
      createValidator({ ...base, certificateBinding: { certificateHeader: 'X-Client-Cert' } })
        .options.certificateBinding,
    ).toEqual({ header: 'x-client-cert' })
    for (const bad of [{ certificateHeader: 'bad header' }, { header: 'x' }, 'yes']) {
      expect(() => createValidator({ ...base, certificateBinding: bad as never })).toThrow(
        '"certificateBinding" option must be a boolean or { certificateHeader: "header-name" }',
      )
    }
  })
})
