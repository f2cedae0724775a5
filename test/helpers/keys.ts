/**
 * Signing keys for tests: fresh key pairs made with jose, plus the static pairs committed in
 * `test/fixtures` (fixed `kid`s, for tests that need the same key material on every run).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'

/** Every asymmetric JWS algorithm the tests sign with. */
export type TestAlg =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'

/** All `TestAlg` values, in a stable order. */
export const TEST_ALGS: readonly TestAlg[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]

/** A key pair with its JWK forms. Both JWKs carry `kid`, `alg` and `use: 'sig'`. */
export interface TestKey {
  kid: string
  alg: TestAlg
  privateKey: CryptoKey
  publicKey: CryptoKey
  publicJwk: JWK
  privateJwk: JWK
}

/**
 * Generates an extractable key pair (RSA keys are 2048 bits).
 *
 * @example
 * const key = await createTestKey('PS384', 'ps-1')
 */
export async function createTestKey(alg: TestAlg, kid?: string): Promise<TestKey> {
  const resolvedKid = kid ?? `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const meta = { kid: resolvedKid, alg, use: 'sig' }
  return {
    kid: resolvedKid,
    alg,
    privateKey,
    publicKey,
    publicJwk: { ...meta, ...(await exportJWK(publicKey)) },
    privateJwk: { ...meta, ...(await exportJWK(privateKey)) },
  }
}

const [rsa1, ec1, rsa2, attacker] = await Promise.all([
  createTestKey('RS256', 'rsa-1'),
  createTestKey('ES256', 'ec-1'),
  createTestKey('RS256', 'rsa-2'),
  createTestKey('RS256', 'rsa-1'),
])

/** RS256, kid `rsa-1`. The default signing key of `mintToken`. */
export const rsaKey: TestKey = rsa1
/** ES256, kid `ec-1`. */
export const ecKey: TestKey = ec1
/** RS256, kid `rsa-2`: the next key in rotation tests. */
export const otherRsaKey: TestKey = rsa2
/** RS256 with the same kid as `rsaKey` (`rsa-1`) but different key material. */
export const attackerKey: TestKey = attacker

/**
 * A JWKS document holding copies of the keys' public JWKs.
 *
 * @example
 * const jwks = createLocalJWKSet(toJwks(rsaKey, ecKey))
 */
export function toJwks(...keys: TestKey[]): { keys: JWK[] } {
  return { keys: keys.map((key) => ({ ...key.publicJwk })) }
}

const fixturesDir = new URL('../fixtures/', import.meta.url)

/** The kids of the static fixture keys, one per algorithm family. */
export const FIXTURE_KIDS = [
  'static-rs256',
  'static-ps256',
  'static-es256',
  'static-es384',
  'static-eddsa',
] as const
export type FixtureKid = (typeof FIXTURE_KIDS)[number]

/**
 * The committed public JWKS (`test/fixtures/jwks.json`), freshly parsed on each call.
 *
 * @example
 * createValidator({ issuer: ISSUER, audience: AUDIENCE, jwks: readFixtureJwks() })
 */
export function readFixtureJwks(): { keys: JWK[] } {
  return JSON.parse(readFileSync(new URL('jwks.json', fixturesDir), 'utf8')) as { keys: JWK[] }
}

/**
 * Loads one static key pair (`test/fixtures/private-keys.json`) so tests can sign for the
 * committed JWKS.
 *
 * @example
 * const token = await mintToken({ key: await loadFixtureKey('static-es256') })
 */
export async function loadFixtureKey(kid: FixtureKid): Promise<TestKey> {
  const file = JSON.parse(readFileSync(new URL('private-keys.json', fixturesDir), 'utf8')) as {
    keys: JWK[]
  }
  const privateJwk = file.keys.find((jwk) => jwk.kid === kid)
  const publicJwk = readFixtureJwks().keys.find((jwk) => jwk.kid === kid)
  if (!privateJwk || !publicJwk) throw new Error(`no fixture key with kid ${kid}`)
  const alg = privateJwk.alg as TestAlg
  const privateKey = (await importJWK({ ...privateJwk, ext: true }, alg)) as CryptoKey
  const publicKey = (await importJWK({ ...publicJwk, ext: true }, alg)) as CryptoKey
  return { kid, alg, privateKey, publicKey, publicJwk, privateJwk }
}
