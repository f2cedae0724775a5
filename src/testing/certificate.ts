/**
 * A minimal X.509 v3 certificate builder (RFC 5280) on node:crypto alone: it encodes the
 * TBSCertificate in DER, signs it with `crypto.sign`, and hands back PEM, DER, the key pair and
 * the thumbprints. Enough for a local CA and TLS server certificate (the emulator's HTTPS), and
 * for client certificates (Entra ID's certificate credentials); not a general PKI library.
 */
import {
  createHash,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import { promisify } from 'node:util'
import {
  DER_NULL,
  encodeBitString,
  encodeBoolean,
  encodeElement,
  encodeExplicit,
  encodeIa5String,
  encodeInteger,
  encodeNamedBits,
  encodeObjectIdentifier,
  encodeOctetString,
  encodeSequence,
  encodeSet,
  encodeTime,
  encodeUtf8String,
  readChildren,
  readElement,
} from './der.js'

/** The key a new certificate gets: EC P-256 (fast, the default) or RSA 2048. */
export type CertificateKeyType = 'ec' | 'rsa'

/** Extended key usages (RFC 5280 §4.2.1.12) the builder can write. */
export type ExtendedKeyUsage = 'serverAuth' | 'clientAuth'

/** A key pair as node:crypto makes it. */
export interface CertificateKeyPair {
  readonly publicKey: KeyObject
  readonly privateKey: KeyObject
}

/** Options of {@link createCertificate}. */
export interface CertificateOptions {
  /** The subject (and, when self-signed, issuer) common name. Default `bearer-guard test`. */
  commonName?: string
  /**
   * The key to generate when `keyPair` is not given. Default `ec` (P-256). Client certificates for
   * MSAL need `rsa`: MSAL signs its client assertions with PS256 or RS256.
   */
  keyType?: CertificateKeyType
  /** An existing key pair (RSA, EC P-256 or P-384, or Ed25519) instead of a new one. */
  keyPair?: CertificateKeyPair
  /** DNS names for the subjectAltName extension, such as `localhost`. */
  dnsNames?: readonly string[]
  /** IPv4 or IPv6 addresses for the subjectAltName extension, such as `127.0.0.1`. */
  ipAddresses?: readonly string[]
  /** Start of validity. Default one hour ago. */
  notBefore?: Date
  /** End of validity. Default 30 days after `notBefore`. */
  notAfter?: Date
  /** Makes a CA certificate (basicConstraints cA, keyUsage keyCertSign). Default false. */
  certificateAuthority?: boolean
  /** Extended key usages. Default none (any usage). */
  extendedKeyUsages?: readonly ExtendedKeyUsage[]
  /** The CA that signs the new certificate. Default none: the certificate signs itself. */
  issuer?: Certificate
}

/** A certificate made by {@link createCertificate}, with its private key. */
export interface Certificate {
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  readonly certificate: string
  /** The private key, PKCS #8 PEM (`-----BEGIN PRIVATE KEY-----`), as MSAL and TLS take it. */
  readonly privateKey: string
  /** The key pair as KeyObjects. */
  readonly keyPair: CertificateKeyPair
  /** The certificate, DER. */
  readonly der: Buffer
  /** SHA-1 of the DER, upper-case hex: what the Azure portal shows as the thumbprint (`x5t`). */
  readonly thumbprint: string
  /** SHA-256 of the DER, upper-case hex: MSAL's `thumbprintSha256` (`x5t#S256`). */
  readonly thumbprintSha256: string
  /** The certificate parsed by node:crypto. */
  readonly x509: X509Certificate
}

const OID = {
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extendedKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ed25519: '1.3.101.112',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const

// keyUsage bits (RFC 5280 §4.2.1.3).
const DIGITAL_SIGNATURE = 0
const KEY_ENCIPHERMENT = 2
const KEY_CERT_SIGN = 5
const CRL_SIGN = 6

const generate = promisify(generateKeyPair)

interface Signer {
  readonly algorithm: Buffer
  sign(data: Buffer): Buffer
}

function fail(message: string): never {
  throw new TypeError(message)
}

function signerFor(privateKey: KeyObject): Signer {
  const type = privateKey.asymmetricKeyType
  if (type === 'rsa') {
    return {
      algorithm: encodeSequence(encodeObjectIdentifier(OID.sha256WithRSAEncryption), DER_NULL),
      sign: (data) => sign('sha256', data, privateKey),
    }
  }
  if (type === 'ec') {
    const curve = privateKey.asymmetricKeyDetails?.namedCurve
    const hash = curve === 'prime256v1' ? 'sha256' : curve === 'secp384r1' ? 'sha384' : undefined
    if (hash === undefined) fail('"keyPair" option: EC keys must be on P-256 or P-384')
    const oid = hash === 'sha256' ? OID.ecdsaWithSha256 : OID.ecdsaWithSha384
    return {
      // RFC 5758 §3.2: the ECDSA algorithm identifiers have no parameters.
      algorithm: encodeSequence(encodeObjectIdentifier(oid)),
      sign: (data) => sign(hash, data, { key: privateKey, dsaEncoding: 'der' }),
    }
  }
  if (type === 'ed25519') {
    return {
      algorithm: encodeSequence(encodeObjectIdentifier(OID.ed25519)),
      sign: (data) => sign(null, data, privateKey),
    }
  }
  fail('"keyPair" option must hold an RSA, EC (P-256, P-384) or Ed25519 key')
}

async function resolveKeyPair(options: CertificateOptions): Promise<CertificateKeyPair> {
  if (options.keyPair !== undefined) {
    const { publicKey, privateKey } = options.keyPair
    if (publicKey?.type !== 'public' || privateKey?.type !== 'private') {
      fail('"keyPair" option must be { publicKey, privateKey } KeyObjects')
    }
    return { publicKey, privateKey }
  }
  const keyType = options.keyType ?? 'ec'
  if (keyType === 'ec') return generate('ec', { namedCurve: 'P-256' })
  if (keyType === 'rsa') return generate('rsa', { modulusLength: 2048 })
  fail('"keyType" option must be "ec" or "rsa"')
}

function encodeName(commonName: string): Buffer {
  return encodeSequence(
    encodeSet(encodeSequence(encodeObjectIdentifier(OID.commonName), encodeUtf8String(commonName))),
  )
}

function parseIpAddress(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number))
  if (!isIPv6(address)) fail(`"ipAddresses" option: "${address}" is not an IP address`)
  let text = address
  const embedded = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1]
  if (embedded !== undefined) {
    const [a, b, c, d] = embedded.split('.').map(Number) as [number, number, number, number]
    text = `${text.slice(0, -embedded.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = Array(8 - headGroups.length - tailGroups.length).fill('0')
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups]
  const bytes = Buffer.alloc(16)
  for (const [index, group] of groups.entries()) {
    bytes.writeUInt16BE(Number.parseInt(group, 16), index * 2)
  }
  return bytes
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return encodeSequence(
    encodeObjectIdentifier(oid),
    ...(critical ? [encodeBoolean(true)] : []),
    encodeOctetString(value),
  )
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  const bits = readChildren(readElement(spki))[1]
  if (bits === undefined) throw new RangeError('unexpected SubjectPublicKeyInfo')
  return createHash('sha1').update(bits.contents.subarray(1)).digest()
}

/** The DER of a certificate's subject Name, to use as the issuer of certificates it signs. */
function subjectOf(der: Buffer): Buffer {
  const [tbs] = readChildren(readElement(der))
  if (tbs === undefined) throw new RangeError('unexpected certificate')
  const fields = readChildren(tbs)
  // version [0] is present in v3 certificates; subject follows serial, signature, issuer, validity.
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4]
  if (subject === undefined) throw new RangeError('unexpected certificate')
  return subject.bytes
}

function serialNumber(): Buffer {
  const serial = randomBytes(16)
  // Positive and of full length (RFC 5280 §4.1.2.2: at most 20 octets, positive).
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40
  return serial
}

function toPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`
}

function checkNames(name: string, values: unknown): readonly string[] {
  if (values === undefined) return []
  if (!Array.isArray(values) || !values.every((value) => typeof value === 'string' && value)) {
    fail(`"${name}" option must be an array of non-empty strings`)
  }
  return values as string[]
}

/**
 * Makes an X.509 v3 certificate: self-signed by default, or signed by `issuer` (a CA made by
 * this function). The key is EC P-256 unless `keyType: 'rsa'` or `keyPair` says otherwise; the
 * signature is sha256WithRSAEncryption, ecdsa-with-SHA256/384 or Ed25519 after the signer's key.
 * The certificate carries basicConstraints, keyUsage, subjectKeyIdentifier and
 * authorityKeyIdentifier, and subjectAltName and extKeyUsage when asked.
 *
 * @example
 * ```ts
 * const ca = await createCertificate({ commonName: 'test CA', certificateAuthority: true })
 * const tls = await createCertificate({
 *   commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'],
 *   extendedKeyUsages: ['serverAuth'], issuer: ca,
 * })
 * https.createServer({ cert: tls.certificate, key: tls.privateKey }) // clients trust ca.certificate
 * const client = await createCertificate({ commonName: 'daemon', keyType: 'rsa' }) // for MSAL
 * ```
 */
export async function createCertificate(options: CertificateOptions = {}): Promise<Certificate> {
  if (typeof options !== 'object' || options === null) fail('options must be an object')
  const commonName = options.commonName ?? 'bearer-guard test'
  if (typeof commonName !== 'string' || commonName === '') {
    fail('"commonName" option must be a non-empty string')
  }
  const dnsNames = checkNames('dnsNames', options.dnsNames)
  const ipAddresses = checkNames('ipAddresses', options.ipAddresses).map(parseIpAddress)
  const usages = checkNames('extendedKeyUsages', options.extendedKeyUsages)
  for (const usage of usages) {
    if (usage !== 'serverAuth' && usage !== 'clientAuth') {
      fail('"extendedKeyUsages" option takes "serverAuth" and "clientAuth"')
    }
  }
  const notBefore = options.notBefore ?? new Date(Date.now() - 3_600_000)
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 30 * 86_400_000)
  if (!(notBefore instanceof Date) || !(notAfter instanceof Date) || !(notAfter > notBefore)) {
    fail('"notBefore" and "notAfter" options must be dates, "notAfter" the later')
  }
  const issuer = options.issuer
  if (issuer !== undefined && (issuer.x509 === undefined || !issuer.x509.ca)) {
    fail('"issuer" option must be a CA certificate made by createCertificate')
  }
  const ca = options.certificateAuthority === true

  const keyPair = await resolveKeyPair(options)
  const signer = signerFor(issuer === undefined ? keyPair.privateKey : issuer.keyPair.privateKey)
  const subject = encodeName(commonName)
  const subjectKeyId = keyIdentifier(keyPair.publicKey)
  const authorityKeyId =
    issuer === undefined ? subjectKeyId : keyIdentifier(issuer.keyPair.publicKey)
  const signsWithKey = keyPair.publicKey.asymmetricKeyType !== 'rsa'
  const keyUsage = ca
    ? [DIGITAL_SIGNATURE, KEY_CERT_SIGN, CRL_SIGN]
    : signsWithKey
      ? [DIGITAL_SIGNATURE]
      : [DIGITAL_SIGNATURE, KEY_ENCIPHERMENT]

  const extensions = [
    extension(
      OID.basicConstraints,
      true,
      ca ? encodeSequence(encodeBoolean(true)) : encodeSequence(),
    ),
    extension(OID.keyUsage, true, encodeNamedBits(keyUsage)),
  ]
  if (usages.length > 0) {
    extensions.push(
      extension(
        OID.extendedKeyUsage,
        false,
        encodeSequence(
          ...usages.map((usage) => encodeObjectIdentifier(OID[usage as ExtendedKeyUsage])),
        ),
      ),
    )
  }
  if (dnsNames.length > 0 || ipAddresses.length > 0) {
    extensions.push(
      extension(
        OID.subjectAltName,
        false,
        encodeSequence(
          // GeneralName: dNSName [2] IA5String, iPAddress [7] OCTET STRING, both implicit.
          ...dnsNames.map((name) => encodeIa5String(name, 0x82)),
          ...ipAddresses.map((address) => encodeElement(0x87, address)),
        ),
      ),
    )
  }
  extensions.push(
    extension(OID.subjectKeyIdentifier, false, encodeOctetString(subjectKeyId)),
    extension(
      OID.authorityKeyIdentifier,
      false,
      encodeSequence(encodeElement(0x80, authorityKeyId)),
    ),
  )

  const tbs = encodeSequence(
    encodeExplicit(0, encodeInteger(2)), // v3
    encodeInteger(serialNumber()),
    signer.algorithm,
    issuer === undefined ? subject : subjectOf(issuer.der),
    encodeSequence(encodeTime(notBefore), encodeTime(notAfter)),
    subject,
    keyPair.publicKey.export({ type: 'spki', format: 'der' }),
    encodeExplicit(3, encodeSequence(...extensions)),
  )
  const der = encodeSequence(tbs, signer.algorithm, encodeBitString(signer.sign(tbs)))
  return Object.freeze({
    certificate: toPem(der),
    privateKey: keyPair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    keyPair: Object.freeze({ ...keyPair }),
    der,
    thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    thumbprintSha256: createHash('sha256').update(der).digest('hex').toUpperCase(),
    x509: new X509Certificate(der),
  })
}
