/**
 * The emulator's token signing keys: RSA 2048 keys that sign RS256 tokens, each with a
 * self-signed certificate as Entra ID publishes them (`x5c`, and `kid` equal to `x5t`, the
 * certificate's SHA-1 thumbprint in base64url), rotated on demand.
 */
import { createHash, type KeyObject, sign } from 'node:crypto'
import { type Certificate, createCertificate } from './certificate.js'

/** A signing key of the emulator. */
export interface SigningKey {
  /** Key id; also the `x5t` of its certificate. */
  readonly kid: string
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly certificate: Certificate
}

/** A JWK as the emulator publishes it, Entra ID's members included. */
export interface PublishedJwk {
  kty: string
  use: 'sig'
  kid: string
  x5t: string
  n?: string
  e?: string
  x5c: string[]
  cloud_instance_name: string
  issuer: string
}

/** At most this many keys are published: the current one and the ones it replaced. */
export const MAX_PUBLISHED_KEYS = 3

/** Makes a signing key with its certificate (CN as Entra ID's signing certificates have). */
export async function createSigningKey(): Promise<SigningKey> {
  const certificate = await createCertificate({
    commonName: 'accounts.accesscontrol.windows.net',
    keyType: 'rsa',
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 5 * 365 * 86_400_000),
  })
  return Object.freeze({
    kid: createHash('sha1').update(certificate.der).digest('base64url'),
    privateKey: certificate.keyPair.privateKey,
    publicKey: certificate.keyPair.publicKey,
    certificate,
  })
}

/** The JWK of a signing key, carrying `issuer` (Entra ID's signing-key issuer). */
export function toPublishedJwk(
  key: SigningKey,
  issuer: string,
  cloudInstanceName: string,
): PublishedJwk {
  const { kty, n, e } = key.publicKey.export({ format: 'jwk' })
  return {
    kty: kty ?? 'RSA',
    use: 'sig',
    kid: key.kid,
    x5t: key.kid,
    n,
    e,
    x5c: [key.certificate.der.toString('base64')],
    cloud_instance_name: cloudInstanceName,
    issuer,
  }
}

function encodeSegment(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/**
 * Signs a JWT with RS256 (RFC 7518 §3.3): compact JWS of the header and claims as given, with
 * `alg`, `kid` and `x5t` set from the key unless the header overrides them.
 */
export function signToken(
  key: SigningKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const fullHeader = { typ: 'JWT', alg: 'RS256', x5t: key.kid, kid: key.kid, ...header }
  for (const [name, value] of Object.entries(fullHeader)) {
    if (value === undefined) delete (fullHeader as Record<string, unknown>)[name]
  }
  const input = `${encodeSegment(fullHeader)}.${encodeSegment(claims)}`
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`
}
