/**
 * The X.509 builder of `bearer-guard/testing`: every certificate is parsed back by node:crypto's
 * `X509Certificate` (subject, SAN, validity, key, signature), and used in real TLS connections,
 * server and client side, so OpenSSL is the judge of the DER.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { connect, createServer, type TLSSocket } from 'node:tls'
import { beforeAll, describe, expect, it } from 'vitest'
import { type Certificate, createCertificate } from '../../src/testing/certificate.js'
import {
  encodeInteger,
  encodeNamedBits,
  encodeObjectIdentifier,
  encodeSequence,
  encodeTime,
  readChildren,
  readElement,
} from '../../src/testing/der.js'

const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' })

let ca: Certificate
let server: Certificate

beforeAll(async () => {
  ca = await createCertificate({ commonName: 'Test Root CA', certificateAuthority: true })
  server = await createCertificate({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    extendedKeyUsages: ['serverAuth'],
    issuer: ca,
  })
})

describe('DER encoding', () => {
  it('encodes object identifiers, integers and long lengths as X.690 says', () => {
    expect(encodeObjectIdentifier('1.2.840.113549.1.1.11').toString('hex')).toBe(
      '06092a864886f70d01010b',
    )
    expect(encodeObjectIdentifier('2.5.29.17').toString('hex')).toBe('0603551d11')
    expect(encodeInteger(2).toString('hex')).toBe('020102')
    expect(encodeInteger(128).toString('hex')).toBe('02020080')
    expect(encodeInteger(0).toString('hex')).toBe('020100')
    expect(encodeInteger(Buffer.from([0, 0, 0x7f])).toString('hex')).toBe('02017f')
    const long = encodeSequence(Buffer.alloc(300))
    expect(long.subarray(0, 4).toString('hex')).toBe('3082012c')
    expect(readElement(long).contents).toHaveLength(300)
  })

  it('writes named bits minimally and switches to GeneralizedTime from 2050', () => {
    // digitalSignature + keyCertSign + cRLSign: 0x86 with one unused bit.
    expect(encodeNamedBits([0, 5, 6]).toString('hex')).toBe('03020186')
    expect(encodeNamedBits([0]).toString('hex')).toBe('03020780')
    expect(encodeTime(new Date('2049-12-31T23:59:59Z')).toString('latin1')).toBe(
      '\x17\x0d491231235959Z',
    )
    expect(encodeTime(new Date('2050-01-01T00:00:00Z')).toString('latin1')).toBe(
      '\x18\x0f20500101000000Z',
    )
  })

  it('reads back what it wrote, and refuses truncated input', () => {
    const encoded = encodeSequence(encodeInteger(5), encodeObjectIdentifier('2.5.4.3'))
    const children = readChildren(readElement(encoded))
    expect(children.map((child) => child.tag)).toEqual([0x02, 0x06])
    expect(() => readElement(encoded.subarray(0, 4))).toThrow(RangeError)
    expect(() => encodeObjectIdentifier('3.1')).toThrow(RangeError)
  })
})

describe('createCertificate', () => {
  it('makes a self-signed EC certificate that node:crypto parses and verifies', async () => {
    const notBefore = new Date('2030-01-02T03:04:05Z')
    const notAfter = new Date('2030-02-02T03:04:05Z')
    const cert = await createCertificate({
      commonName: 'daemon.example',
      dnsNames: ['daemon.example', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
      notBefore,
      notAfter,
    })
    const { x509 } = cert
    expect(x509.subject).toBe('CN=daemon.example')
    expect(x509.issuer).toBe('CN=daemon.example')
    expect(x509.subjectAltName).toBe(
      'DNS:daemon.example, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    )
    expect(new Date(x509.validFrom)).toEqual(notBefore)
    expect(new Date(x509.validTo)).toEqual(notAfter)
    expect(x509.ca).toBe(false)
    expect(x509.keyUsage).toBeUndefined()
    expect(spki(x509.publicKey)).toEqual(spki(cert.keyPair.publicKey))
    expect(cert.keyPair.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(x509.verify(cert.keyPair.publicKey)).toBe(true)
    expect(x509.checkHost('localhost')).toBe('localhost')
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(cert.certificate).toMatch(
      /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/,
    )
    expect(cert.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
    expect(cert.der).toEqual(x509.raw)
  })

  it('makes RSA client certificates with the thumbprints MSAL and the portal use', async () => {
    const cert = await createCertificate({
      commonName: 'orders-daemon',
      keyType: 'rsa',
      extendedKeyUsages: ['clientAuth'],
      notAfter: new Date('2060-06-01T00:00:00Z'),
      notBefore: new Date('2020-01-01T00:00:00Z'),
    })
    expect(cert.keyPair.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048)
    expect(cert.thumbprint).toBe(cert.x509.fingerprint.replaceAll(':', ''))
    expect(cert.thumbprintSha256).toBe(cert.x509.fingerprint256.replaceAll(':', ''))
    expect(cert.x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2'])
    expect(new Date(cert.x509.validTo).getUTCFullYear()).toBe(2060)
    expect(cert.x509.verify(cert.keyPair.publicKey)).toBe(true)
    expect(cert.x509.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/)
  })

  it('issues a leaf from a CA: issuer name, signature and chain all check', () => {
    expect(ca.x509.ca).toBe(true)
    expect(ca.x509.verify(ca.keyPair.publicKey)).toBe(true)
    expect(server.x509.issuer).toBe('CN=Test Root CA')
    expect(server.x509.checkIssued(ca.x509)).toBe(true)
    expect(server.x509.verify(ca.keyPair.publicKey)).toBe(true)
    expect(server.x509.verify(server.keyPair.publicKey)).toBe(false)
    expect(server.x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1'])
  })

  it('signs with a given key pair: Ed25519, P-384 and RSA', async () => {
    for (const [type, options] of [
      ['ed25519', {}],
      ['ec', { namedCurve: 'P-384' }],
      ['rsa', { modulusLength: 2048 }],
    ] as const) {
      const keyPair = generateKeyPairSync(type as 'ec', options as { namedCurve: string })
      const cert = await createCertificate({ keyPair })
      expect(spki(cert.x509.publicKey)).toEqual(spki(keyPair.publicKey))
      expect(cert.x509.verify(keyPair.publicKey)).toBe(true)
    }
  })

  it('refuses bad options with a TypeError naming them', async () => {
    await expect(createCertificate({ ipAddresses: ['localhost'] })).rejects.toThrow(/"ipAddresses"/)
    await expect(
      createCertificate({ notBefore: new Date(2030, 1, 1), notAfter: new Date(2029, 1, 1) }),
    ).rejects.toThrow(/"notAfter"/)
    await expect(createCertificate({ issuer: server })).rejects.toThrow(/"issuer"/)
    await expect(createCertificate({ keyType: 'dsa' as 'ec' })).rejects.toThrow(/"keyType"/)
    await expect(
      createCertificate({ extendedKeyUsages: ['codeSigning' as 'clientAuth'] }),
    ).rejects.toThrow(/"extendedKeyUsages"/)
    const dh = generateKeyPairSync('x25519')
    await expect(createCertificate({ keyPair: dh })).rejects.toThrow(/"keyPair"/)
  })
})

interface Handshake {
  authorized: boolean
  error?: string
  peerAuthorized?: boolean
}

/** A TLS server with `cert`, optionally asking for client certificates issued by `clientCa`. */
async function handshake(
  serverCert: Certificate,
  client: { host: string; ca?: string; cert?: Certificate },
  clientCa?: Certificate,
): Promise<Handshake> {
  let peerAuthorized: boolean | undefined
  const tlsServer = createServer(
    {
      cert: serverCert.certificate,
      key: serverCert.privateKey,
      ...(clientCa === undefined
        ? {}
        : { requestCert: true, rejectUnauthorized: false, ca: clientCa.certificate }),
    },
    (socket: TLSSocket) => {
      if (clientCa !== undefined) peerAuthorized = socket.authorized
      socket.end('hello')
    },
  )
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve))
  const { port } = tlsServer.address() as AddressInfo
  try {
    return await new Promise<Handshake>((resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        servername: client.host === '127.0.0.1' ? undefined : client.host,
        ...(client.ca === undefined ? {} : { ca: client.ca }),
        ...(client.cert === undefined
          ? {}
          : { cert: client.cert.certificate, key: client.cert.privateKey }),
      })
      socket.setTimeout(5_000, () => socket.destroy(new Error('timeout')))
      socket.on('secureConnect', () => {
        socket.on('data', () => {})
        socket.on('end', () => {
          resolve({ authorized: true, ...(peerAuthorized === undefined ? {} : { peerAuthorized }) })
        })
      })
      socket.on('error', (error: NodeJS.ErrnoException) => {
        resolve({ authorized: false, error: error.code ?? error.message })
      })
    })
  } finally {
    tlsServer.close()
  }
}

describe('the certificates in real TLS connections', () => {
  it('a client that trusts the CA connects by IP address and by DNS name', async () => {
    await expect(handshake(server, { host: '127.0.0.1', ca: ca.certificate })).resolves.toEqual({
      authorized: true,
    })
    await expect(handshake(server, { host: 'localhost', ca: ca.certificate })).resolves.toEqual({
      authorized: true,
    })
  })

  it('a client without the CA refuses, and a name outside the SAN is refused', async () => {
    const untrusted = await handshake(server, { host: '127.0.0.1' })
    expect(untrusted).toEqual({ authorized: false, error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
    const wrongName = await handshake(server, { host: 'example.com', ca: ca.certificate })
    expect(wrongName).toEqual({ authorized: false, error: 'ERR_TLS_CERT_ALTNAME_INVALID' })
  })

  it('client certificates from the builder authenticate in mutual TLS', async () => {
    const clientCa = await createCertificate({
      commonName: 'Client CA',
      certificateAuthority: true,
    })
    const good = await createCertificate({
      commonName: 'daemon',
      keyType: 'rsa',
      extendedKeyUsages: ['clientAuth'],
      issuer: clientCa,
    })
    const stranger = await createCertificate({
      commonName: 'stranger',
      extendedKeyUsages: ['clientAuth'],
    })
    const client = { host: 'localhost', ca: ca.certificate }
    await expect(handshake(server, { ...client, cert: good }, clientCa)).resolves.toEqual({
      authorized: true,
      peerAuthorized: true,
    })
    await expect(handshake(server, { ...client, cert: stranger }, clientCa)).resolves.toEqual({
      authorized: true,
      peerAuthorized: false,
    })
  })
})
