/**
 * Signing keys for the benchmarks: one RSA-2048 (RS256) and one P-256 (ES256) pair, made with
 * node:crypto. Child processes get them through a JSON file of private JWKs, so every process
 * of one run signs and verifies with the same keys.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import type { JWK } from '../../src/index.js'

export type BenchAlg = 'RS256' | 'ES256'

export interface BenchKey {
  readonly alg: BenchAlg
  readonly kid: string
  /** Entra ID puts the certificate thumbprint in `x5t` as well; it is never used for selection. */
  readonly x5t: string
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  /** Public JWK with `kid`, `alg` and `use: 'sig'`, as a JWKS publishes it. */
  readonly publicJwk: JWK
  /** SPKI PEM of the public key (what fast-jwt and jsonwebtoken take). */
  readonly publicPem: string
}

export interface BenchKeys {
  readonly rsa: BenchKey
  readonly ec: BenchKey
}

function describe(alg: BenchAlg, privateKey: KeyObject): BenchKey {
  const publicKey = createPublicKey(privateKey)
  const der = publicKey.export({ type: 'spki', format: 'der' })
  // Entra-style identifiers: 27 base64url characters of a SHA-1 thumbprint.
  const kid = createHash('sha1').update(der).digest('base64url')
  const publicJwk: JWK = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg, use: 'sig' }
  return {
    alg,
    kid,
    x5t: kid,
    privateKey,
    publicKey,
    publicJwk,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

/** Generates a fresh RSA-2048 and P-256 pair. */
export function createBenchKeys(): BenchKeys {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  return { rsa: describe('RS256', rsa), ec: describe('ES256', ec) }
}

/** Writes the private keys as JWKs, for child processes. */
export function saveBenchKeys(keys: BenchKeys, path: string): void {
  const jwk = (key: BenchKey) => key.privateKey.export({ format: 'jwk' })
  writeFileSync(path, JSON.stringify({ rsa: jwk(keys.rsa), ec: jwk(keys.ec) }))
}

/** Reads keys written by {@link saveBenchKeys}. */
export function loadBenchKeys(path: string): BenchKeys {
  const saved = JSON.parse(readFileSync(path, 'utf8')) as { rsa: JWK; ec: JWK }
  const load = (jwk: JWK) => createPrivateKey({ key: jwk as never, format: 'jwk' })
  return { rsa: describe('RS256', load(saved.rsa)), ec: describe('ES256', load(saved.ec)) }
}

/** The JWKS document of the public keys. */
export function toJwks(...keys: BenchKey[]): { keys: JWK[] } {
  return { keys: keys.map((key) => key.publicJwk) }
}
