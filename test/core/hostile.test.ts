/**
 * The hostile-token table: every row is a token an attacker (or a confused client) could send.
 * Each must be rejected, by `verify()` and by `authenticate()`, with a BearerGuardError of the
 * expected status, reason and exact challenge: never a resolution, never a 5xx, never a raw
 * TypeError, and never an echo of the token or of attacker-chosen text.
 */
import {
  createHmac,
  generateKeyPairSync,
  KeyObject,
  type SignKeyObjectInput,
  sign,
} from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  BearerGuardError,
  type BearerGuardEvent,
  createValidator,
  type RejectionReason,
  type Validator,
  type ValidatorOptions,
} from '../../src/index.js'
import {
  type CountingServer,
  type JwksServer,
  startCountingServer,
  startJwksServer,
} from '../helpers/jwks-server.js'
import {
  attackerKey,
  createTestKey,
  ecKey,
  otherRsaKey,
  rsaKey,
  type TestKey,
} from '../helpers/keys.js'
import {
  AUDIENCE,
  b64url,
  defaultClaims,
  hs256WithKey,
  ISSUER,
  mintToken,
  NOW,
  signRaw,
  unsigned,
} from '../helpers/tokens.js'
import { invalidRequest, invalidToken, rejectionOf } from './support.js'

const ALG = 'the token is signed with an algorithm this API does not accept'
const SEG = 'the token segments must be unpadded base64url'
const UNSIGNED = 'the token is unsigned (empty signature): this API accepts signed tokens only'
const COMPACT = 'the token is not a JWS in compact serialization (three segments)'
const HDR_JSON = 'the token header is not valid JSON'
const HDR_OBJ = 'the token header is not a JSON object'
const PAY_JSON = 'the token payload is not valid JSON'
const PAY_OBJ = 'the token payload is not a JSON object'
const KID = 'the token kid must be a non-empty string'
const TYP = 'the token typ is not an access token type'
const TYP_REQUIRED = 'the token has no typ header, and this API requires one'
const EXT = 'the token header uses an extension this API does not process'
const NO_KEY = 'no key of the issuer matches the kid and alg of the token'
const SEVERAL = 'the token has no kid and several keys could have signed it'
const SIG = 'the token signature is invalid'
const TOO_LARGE = 'the token is longer than 16384 characters'
const ISS = 'the token has no valid issuer (iss) claim'
const ISS_WRONG = 'the token issuer (iss) is not the expected issuer'
const AUD = 'the token has no valid audience (aud) claim'
const AUD_WRONG = 'the token audience (aud) is not this API'
const EXP = 'the token has no valid expiry (exp) claim'
const NBF = 'the token is not valid yet (nbf)'
const NBF_TYPE = 'the token nbf claim must be a number'
const IAT_FUTURE = 'the token was issued in the future (iat)'
const IAT_TYPE = 'the token iat claim must be a number'
const SUB_TYPE = 'the token sub claim must be a string'
const SCOPES_TYPE = 'the token scp, scope or roles claim must be a string or an array of strings'
const TOO_OLD = 'the token is older than this API accepts (iat)'
const NO_IAT = 'the token has no iat claim, and this API limits token age'
const REQUIRED = 'the token lacks a claim this API requires'
const BAD_CHARS = 'the Bearer credentials must be a single token of base64url characters'
// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/** P-256 group order n. */
const P256_N = Buffer.from(
  'FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551',
  'hex',
)
/** Ed25519 group order L, little-endian as in signatures. */
const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n

type ValidatorName = 'main' | 'esOnly' | 'atJwt' | 'maxAge' | 'required'

interface Row {
  name: string
  make: () => string | Promise<string>
  reason: RejectionReason
  description: string
  validator?: ValidatorName
  /** Attacker-chosen text that must not appear in what the client sees. */
  markers?: string[]
  /** The Authorization header would be trimmed into a valid token: no authenticate() case. */
  verifyOnly?: true
  /** Set when the row fails because of a bug in src/: the explanation. */
  bug?: string
}

interface Keys {
  ps: TestKey
  ed: TestKey
  p384: TestKey
  ecNoAlg: TestKey
  rsaNoAlgJwk: Record<string, unknown>
  rsa1024: { private: KeyObject; jwk: Record<string, unknown> }
}

let keys: Keys
let trap: CountingServer
let server: JwksServer
const validators = {} as Record<ValidatorName, Validator>
const events: BearerGuardEvent[] = []

const claimsJson = JSON.stringify(defaultClaims)
const H = (header: Record<string, unknown>) => b64url(JSON.stringify(header))
const P = (claims: Record<string, unknown> = defaultClaims) => b64url(JSON.stringify(claims))
const rsaHeader = { alg: 'RS256', kid: 'rsa-1', typ: 'JWT' }

function segments(token: string): [string, string, string] {
  return token.split('.') as [string, string, string]
}

/** Replaces the last character with another that decodes to the same bytes (unused bits set). */
function nonCanonical(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const bytes = Buffer.from(segment, 'base64url')
  for (const ch of alphabet) {
    const variant = segment.slice(0, -1) + ch
    if (variant !== segment && Buffer.from(variant, 'base64url').equals(bytes)) return variant
  }
  throw new Error(`no non-canonical variant of a segment of length ${segment.length}`)
}

/** A JSON text whose base64url length is not a multiple of 4 (so it has unused bits). */
function withUnusedBits(json: string): string {
  let text = json
  while (b64url(text).length % 4 === 0) text = `${text.slice(0, -1)} }`
  return text
}

function hmac(hash: string, headerJson: string, payloadJson: string, secret: string | Buffer) {
  const input = `${b64url(headerJson)}.${b64url(payloadJson)}`
  return `${input}.${b64url(createHmac(hash, secret).update(input).digest())}`
}

/** Signs with a KeyObject directly (keys jose will not sign with, such as RSA-1024). */
function signKeyObject(
  headerJson: string,
  payloadJson: string,
  key: KeyObject | SignKeyObjectInput,
  hash: string | null,
): string {
  const input = `${b64url(headerJson)}.${b64url(payloadJson)}`
  return `${input}.${b64url(sign(hash, Buffer.from(input), key))}`
}

/** Signs with `key` (varying jti) until the signature starts with a zero byte. */
function signatureWithLeadingZero(key: TestKey, header: Record<string, unknown>): string {
  for (let i = 0; i < 20_000; i++) {
    const token = signRaw(
      JSON.stringify(header),
      JSON.stringify({ ...defaultClaims, jti: `z${i}` }),
      key,
    )
    const [h, p, s] = segments(token)
    const signature = Buffer.from(s, 'base64url')
    if (signature[0] === 0) return `${h}.${p}.${b64url(signature.subarray(1))}`
  }
  throw new Error('no signature with a leading zero byte found')
}

function withSignature(token: string, signature: Buffer): string {
  const [h, p] = segments(token)
  return `${h}.${p}.${b64url(signature)}`
}

function esSignature(token: string): Buffer {
  return Buffer.from(segments(token)[2], 'base64url')
}

const rows: Row[] = []
const add = (row: Row) => rows.push(row)

// --- alg "none", in every spelling ---------------------------------------------------------
for (const alg of ['none', 'None', 'NONE', 'nOnE', 'nonE', 'none ', ' none']) {
  add({
    name: `alg "${alg}" with an empty signature`,
    make: () => unsigned({ alg, typ: 'JWT' }, { ...defaultClaims }),
    reason: 'malformed_token',
    description: UNSIGNED,
  })
  add({
    name: `alg "${alg}" with a signature segment`,
    make: () => unsigned({ alg, typ: 'JWT' }, { ...defaultClaims }, 'c2ln'),
    reason: 'unsupported_algorithm',
    description: ALG,
  })
  add({
    name: `alg "${alg}" with the kid of a real key and a copied real signature`,
    make: async () =>
      unsigned(
        { alg, kid: 'rsa-1', typ: 'JWT' },
        { ...defaultClaims },
        segments(await mintToken())[2],
      ),
    reason: 'unsupported_algorithm',
    description: ALG,
  })
}
for (const [what, header] of [
  ['no alg', { kid: 'rsa-1', typ: 'JWT' }],
  ['alg null', { alg: null, kid: 'rsa-1' }],
  ['alg ""', { alg: '', kid: 'rsa-1' }],
  ['alg ["RS256"]', { alg: ['RS256'], kid: 'rsa-1' }],
  ['alg 256', { alg: 256, kid: 'rsa-1' }],
  ['alg "rs256" (wrong case)', { alg: 'rs256', kid: 'rsa-1' }],
  ['alg "RS256 " (trailing space)', { alg: 'RS256 ', kid: 'rsa-1' }],
  ['alg "RS1"', { alg: 'RS1', kid: 'rsa-1' }],
  ['alg "RSA-OAEP" (a JWE algorithm)', { alg: 'RSA-OAEP', kid: 'rsa-1' }],
  ['alg "dir"', { alg: 'dir', kid: 'rsa-1' }],
] as const) {
  add({
    name: `${what}, signed by the real key`,
    make: () => signRaw(JSON.stringify(header), claimsJson, rsaKey),
    reason: 'unsupported_algorithm',
    description: ALG,
  })
}

// --- HMAC with the public key as the secret (algorithm confusion) ---------------------------
const publicSecrets: [string, () => string | Buffer][] = [
  ['its SPKI PEM', () => KeyObject.from(rsaKey.publicKey).export({ type: 'spki', format: 'pem' })],
  [
    'its PKCS#1 PEM',
    () => KeyObject.from(rsaKey.publicKey).export({ type: 'pkcs1', format: 'pem' }),
  ],
  ['its JWK JSON', () => JSON.stringify(rsaKey.publicJwk)],
  ['its SPKI DER', () => KeyObject.from(rsaKey.publicKey).export({ type: 'spki', format: 'der' })],
]
for (const [hash, alg] of [
  ['sha256', 'HS256'],
  ['sha384', 'HS384'],
  ['sha512', 'HS512'],
] as const) {
  for (const [what, secret] of publicSecrets) {
    add({
      name: `${alg} signed with the RSA public key as ${what}`,
      make: () =>
        hmac(hash, JSON.stringify({ alg, kid: 'rsa-1', typ: 'JWT' }), claimsJson, secret()),
      reason: 'unsupported_algorithm',
      description: ALG,
    })
  }
}
add({
  name: 'HS256 signed with the EC public key PEM, with the EC kid',
  make: () =>
    hs256WithKey(
      JSON.stringify({ alg: 'HS256', kid: 'ec-1' }),
      claimsJson,
      KeyObject.from(ecKey.publicKey).export({ type: 'spki', format: 'pem' }),
    ),
  reason: 'unsupported_algorithm',
  description: ALG,
})
add({
  name: 'HS256 without kid, signed with the RSA modulus',
  make: () => hs256WithKey('{"alg":"HS256"}', claimsJson, String(rsaKey.publicJwk.n)),
  reason: 'unsupported_algorithm',
  description: ALG,
})

// --- algorithms off a narrowed allow-list -------------------------------------------------
for (const [what, make] of [
  ['an RS256 token', () => mintToken()],
  ['a PS256 token', () => mintToken({ key: keys.ps })],
  ['an EdDSA token', () => mintToken({ key: keys.ed })],
  ['an ES384 token', () => mintToken({ key: keys.p384 })],
] as const) {
  add({
    name: `${what} when algorithms is ["ES256"]`,
    make,
    reason: 'unsupported_algorithm',
    description: ALG,
    validator: 'esOnly',
  })
}

// --- algorithm / key mismatch ---------------------------------------------------------------
for (const [what, make, reason, description] of [
  [
    'an ES256 header over the RSA kid',
    () => signRaw(JSON.stringify({ alg: 'ES256', kid: 'rsa-1' }), claimsJson, ecKey),
    'unknown_key',
    NO_KEY,
  ],
  [
    'an RS256 header over the EC kid',
    () => signRaw(JSON.stringify({ alg: 'RS256', kid: 'ec-1' }), claimsJson, rsaKey),
    'unknown_key',
    NO_KEY,
  ],
  [
    'a PS256 header over an RS256 key',
    () => signRaw(JSON.stringify({ alg: 'PS256', kid: 'rsa-1' }), claimsJson, rsaKey),
    'unknown_key',
    NO_KEY,
  ],
  [
    'an RS256 header over a PS256 key',
    () => signRaw(JSON.stringify({ alg: 'RS256', kid: 'ps-1' }), claimsJson, keys.ps),
    'unknown_key',
    NO_KEY,
  ],
  [
    'a PS256 header over an RSA key without alg, signed with PKCS#1 v1.5',
    () =>
      signRaw(JSON.stringify({ alg: 'PS256', kid: 'rsa-noalg' }), claimsJson, { ...otherRsaKey }),
    'bad_signature',
    SIG,
  ],
  [
    'an RS384 header over an RSA key without alg, signed with RS256',
    () =>
      signRaw(JSON.stringify({ alg: 'RS384', kid: 'rsa-noalg' }), claimsJson, { ...otherRsaKey }),
    'bad_signature',
    SIG,
  ],
  [
    'an ES384 header with the P-256 key (kid ec-1)',
    () => signRaw(JSON.stringify({ alg: 'ES384', kid: 'ec-1' }), claimsJson, ecKey),
    'unknown_key',
    NO_KEY,
  ],
  [
    'an ES384 header with a P-256 key published without alg',
    () => signRaw(JSON.stringify({ alg: 'ES384', kid: 'ec-noalg' }), claimsJson, keys.ecNoAlg),
    'unknown_key',
    NO_KEY,
  ],
  [
    'an ES256 header with the P-384 key',
    () => signRaw(JSON.stringify({ alg: 'ES256', kid: 'p384-1' }), claimsJson, keys.p384),
    'unknown_key',
    NO_KEY,
  ],
  [
    'an ES512 header with the P-256 key',
    () => signRaw(JSON.stringify({ alg: 'ES512', kid: 'ec-1' }), claimsJson, ecKey),
    'unknown_key',
    NO_KEY,
  ],
  [
    'an EdDSA header over the RSA kid',
    () => signRaw(JSON.stringify({ alg: 'EdDSA', kid: 'rsa-1' }), claimsJson, keys.ed),
    'unknown_key',
    NO_KEY,
  ],
  [
    'an RS256 token signed by an RSA-1024 key of the JWKS',
    () =>
      signKeyObject(
        JSON.stringify({ alg: 'RS256', kid: 'rsa-1024' }),
        claimsJson,
        keys.rsa1024.private,
        'sha256',
      ),
    'unknown_key',
    NO_KEY,
  ],
  [
    'an ES256 signature in DER form instead of r || s',
    () =>
      signKeyObject(
        JSON.stringify({ alg: 'ES256', kid: 'ec-1' }),
        claimsJson,
        { key: KeyObject.from(ecKey.privateKey), dsaEncoding: 'der' },
        'sha256',
      ),
    'bad_signature',
    SIG,
  ],
] as const) {
  add({ name: what, make, reason, description })
}

// --- keys the token brings along --------------------------------------------------------------
for (const [what, header, reason, description] of [
  [
    'an embedded jwk of the attacker with the real kid',
    () => ({ ...rsaHeader, jwk: attackerKey.publicJwk }),
    'bad_signature',
    SIG,
  ],
  [
    'an embedded jwk of the attacker with its own kid',
    () => ({ ...rsaHeader, kid: 'attacker', jwk: attackerKey.publicJwk }),
    'unknown_key',
    NO_KEY,
  ],
  [
    'an embedded symmetric jwk and HS256',
    () => ({ alg: 'HS256', kid: 'rsa-1', jwk: { kty: 'oct', k: 'c2VjcmV0' } }),
    'unsupported_algorithm',
    ALG,
  ],
  [
    'jku pointing at the attacker JWKS, with the real kid',
    () => ({ ...rsaHeader, jku: trap.url }),
    'bad_signature',
    SIG,
  ],
  [
    'jku pointing at the attacker JWKS, with an unknown kid',
    () => ({ ...rsaHeader, kid: 'attacker', jku: trap.url }),
    'unknown_key',
    NO_KEY,
  ],
  [
    'x5u pointing at the attacker server',
    () => ({ ...rsaHeader, x5u: trap.url }),
    'bad_signature',
    SIG,
  ],
  [
    'x5c with attacker certificate-like data',
    () => ({ ...rsaHeader, x5c: [b64url('attacker-cert').replace(/-/g, '+')] }),
    'bad_signature',
    SIG,
  ],
  [
    'x5c and no kid',
    () => ({ alg: 'RS256', x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] }),
    'unknown_key',
    SEVERAL,
  ],
  [
    'x5t#S256 of another certificate',
    () => ({ ...rsaHeader, 'x5t#S256': 'AAAA', x5t: 'AAAA' }),
    'bad_signature',
    SIG,
  ],
] as const) {
  add({
    name: what,
    make: () => signRaw(JSON.stringify(header()), claimsJson, attackerKey),
    reason,
    description,
  })
}

// --- odd kid values -----------------------------------------------------------------------------
for (const [what, kid] of [
  ['an empty kid', ''],
  ['a numeric kid', 42],
  ['a zero kid', 0],
  ['a kid object', { $ne: null }],
  ['a kid array', ['rsa-1']],
  ['a null kid', null],
  ['a boolean kid', true],
  ['a kid of 2,000 characters', 'k'.repeat(2_000)],
] as const) {
  add({
    name: what,
    make: () => mintToken({ header: { kid } }),
    reason: 'malformed_token',
    description: KID,
  })
}
for (const kid of [
  '../../../../etc/passwd',
  "' OR '1'='1",
  'rsa-1; DROP TABLE keys; --',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'RSA-1',
  'rsa-1 ',
  'rsa-1\u0000',
  '%2e%2e%2fkeys',
  'https://evil.example/keys#rsa-1',
  '\u202Erevoked-1',
  '<script>alert(1)</script>',
  'k'.repeat(1_024),
]) {
  add({
    name: `the kid ${JSON.stringify(kid.length > 40 ? `${kid.slice(0, 10)}...(${kid.length})` : kid)}`,
    make: () => mintToken({ header: { kid } }),
    reason: 'unknown_key',
    description: NO_KEY,
    markers: kid.length > 3 ? [kid] : [],
  })
}

// --- header extensions --------------------------------------------------------------------------
for (const [what, extra] of [
  ['crit ["exp"]', { crit: ['exp'], exp: NOW + 3600 }],
  ['crit ["b64"] with b64 false', { crit: ['b64'], b64: false }],
  ['an empty crit', { crit: [] }],
  ['crit as a string', { crit: 'urn:example:x' }],
  ['crit naming an unknown extension', { crit: ['urn:example:x'], 'urn:example:x': 1 }],
  ['b64 false without crit', { b64: false }],
  ['b64 true', { b64: true }],
  ['zip "DEF"', { zip: 'DEF' }],
  ['enc "A256GCM"', { enc: 'A256GCM' }],
] as const) {
  add({
    name: `a header with ${what}, signed by the real key`,
    make: () => signRaw(JSON.stringify({ ...rsaHeader, ...extra }), claimsJson, rsaKey),
    reason: 'unsupported_header',
    description: EXT,
  })
}

// --- not a compact JWS --------------------------------------------------------------------------
for (const [what, make, description] of [
  [
    'a JWE-shaped token of five segments',
    () =>
      `${H({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.${b64url('k'.repeat(32))}.${b64url('iv')}.${P()}.${b64url('tag')}`,
    COMPACT,
  ],
  ['a token of four segments', async () => `${await mintToken()}.c2ln`, COMPACT],
  [
    'a token of two segments',
    async () =>
      segments(await mintToken())
        .slice(0, 2)
        .join('.'),
    COMPACT,
  ],
  ['a token of one segment', () => P(), COMPACT],
  [
    'a token of six segments',
    async () => `${await mintToken()}.a.b.c`.replace('.a.b.c', '.YQ.Yg.Yw'),
    COMPACT,
  ],
  ['a token with a leading dot', async () => `.${await mintToken()}`, COMPACT],
  ['a token with a trailing dot', async () => `${await mintToken()}.`, COMPACT],
  ['three dots', () => '...', COMPACT],
  [
    'an empty header segment',
    async () =>
      `.${segments(await mintToken())
        .slice(1)
        .join('.')}`,
    SEG,
  ],
  [
    'an empty payload segment',
    async () => {
      const [h, , s] = segments(await mintToken())
      return `${h}..${s}`
    },
    SEG,
  ],
  [
    'an empty signature segment',
    async () => {
      const [h, p] = segments(await mintToken())
      return `${h}.${p}.`
    },
    UNSIGNED,
  ],
  ['two dots', () => '..', SEG],
] as const) {
  add({ name: what, make, reason: 'malformed_token', description })
}

// --- nested JWT -------------------------------------------------------------------------------
add({
  name: 'a nested JWT (cty JWT) signed by the attacker around a valid token',
  make: async () => {
    const inner = await mintToken()
    const input = `${H({ ...rsaHeader, cty: 'JWT' })}.${b64url(inner)}`
    const sig = sign('sha256', Buffer.from(input), KeyObject.from(attackerKey.privateKey))
    return `${input}.${b64url(sig)}`
  },
  reason: 'malformed_token',
  description: PAY_JSON,
})
add({
  name: 'a nested JWT (cty JWT) signed by the real key',
  make: async () => {
    const inner = await mintToken({ key: attackerKey })
    const input = `${H({ ...rsaHeader, cty: 'JWT' })}.${b64url(inner)}`
    return `${input}.${b64url(sign('sha256', Buffer.from(input), KeyObject.from(rsaKey.privateKey)))}`
  },
  reason: 'malformed_token',
  description: PAY_JSON,
})
add({
  name: 'a payload that is a JSON string holding a token',
  make: async () => signRaw(JSON.stringify(rsaHeader), JSON.stringify(await mintToken()), rsaKey),
  reason: 'malformed_token',
  description: PAY_OBJ,
})

// --- encodings a lenient decoder would accept ---------------------------------------------------
const validToken = () => mintToken({ claims: { jti: 'encoding' } })
for (const [what, make, verifyOnly] of [
  ['a padded signature ("=")', async () => `${await validToken()}=`, false],
  ['a padded signature ("==")', async () => `${await validToken()}==`, false],
  [
    'a padded header segment',
    async () => {
      const [h, p, s] = segments(await validToken())
      return `${h}==.${p}.${s}`
    },
    false,
  ],
  [
    'standard base64 "+" and "/" instead of "-" and "_"',
    async () => {
      for (let i = 0; ; i++) {
        const token = await mintToken({ claims: { jti: `std-${i}` } })
        if (/[-_]/.test(token)) return token.replace(/-/g, '+').replace(/_/g, '/')
      }
    },
    false,
  ],
  [
    'a space inside the payload',
    async () => {
      const t = await validToken()
      return `${t.slice(0, 60)} ${t.slice(60)}`
    },
    false,
  ],
  [
    'a tab inside the signature',
    async () => {
      const t = await validToken()
      return `${t.slice(0, -10)}\t${t.slice(-10)}`
    },
    false,
  ],
  [
    'a line feed inside the header',
    async () => {
      const t = await validToken()
      return `${t.slice(0, 5)}\n${t.slice(5)}`
    },
    false,
  ],
  ['a trailing line feed', async () => `${await validToken()}\n`, false],
  ['a trailing CRLF', async () => `${await validToken()}\r\n`, false],
  [
    'a NUL byte inside',
    async () => {
      const t = await validToken()
      return `${t.slice(0, 30)}\u0000${t.slice(30)}`
    },
    false,
  ],
  [
    'a non-ASCII letter inside',
    async () => {
      const t = await validToken()
      return `${t.slice(0, 30)}é${t.slice(30)}`
    },
    false,
  ],
  ['a full-width dot as separator', async () => (await validToken()).replace('.', '\uFF0E'), false],
  ['a leading space', async () => ` ${await validToken()}`, true],
  ['a trailing space', async () => `${await validToken()} `, true],
  ['a trailing tab', async () => `${await validToken()}\t`, true],
  [
    'unused bits set in the RS256 signature',
    async () => {
      const [h, p, s] = segments(await validToken())
      return `${h}.${p}.${nonCanonical(s)}`
    },
    false,
  ],
  [
    'unused bits set in the ES256 signature',
    async () => {
      const [h, p, s] = segments(await mintToken({ key: ecKey }))
      return `${h}.${p}.${nonCanonical(s)}`
    },
    false,
  ],
  [
    'unused bits set in the header',
    () => {
      const token = signRaw(withUnusedBits(JSON.stringify(rsaHeader)), claimsJson, rsaKey)
      const [h, p, s] = segments(token)
      return `${nonCanonical(h)}.${p}.${s}`
    },
    false,
  ],
  [
    'unused bits set in the payload',
    () => {
      const token = signRaw(JSON.stringify(rsaHeader), withUnusedBits(claimsJson), rsaKey)
      const [h, p, s] = segments(token)
      return `${h}.${nonCanonical(p)}.${s}`
    },
    false,
  ],
  ['a signature whose length is 1 modulo 4', async () => `${await validToken()}AAA`, false],
  ['percent-encoded dots', async () => (await validToken()).replace(/\./g, '%2E'), false],
] as const) {
  add({
    name: what,
    make,
    reason: 'malformed_token',
    description:
      what === 'percent-encoded dots' || what === 'a full-width dot as separator' ? COMPACT : SEG,
    ...(verifyOnly ? { verifyOnly: true as const } : {}),
  })
}

// --- signatures -----------------------------------------------------------------------------------
for (const [what, make] of [
  [
    'a modified payload with the original signature',
    async () => {
      const [h, , s] = segments(await mintToken())
      return `${h}.${P({ ...defaultClaims, sub: 'admin' })}.${s}`
    },
  ],
  [
    'a modified header with the original signature',
    async () => {
      const [, p, s] = segments(await mintToken())
      return `${H({ ...rsaHeader, typ: 'at+jwt' })}.${p}.${s}`
    },
  ],
  [
    'a payload with one more scope and the original signature',
    async () => {
      const [h, , s] = segments(await mintToken())
      return `${h}.${P({ ...defaultClaims, scp: `${defaultClaims.scp} Files.Delete` })}.${s}`
    },
  ],
  // The last character becomes "A", so the shortened segment stays canonical base64url.
  [
    'a signature truncated by 4 characters',
    async () => (await mintToken()).slice(0, -4).replace(/.$/, 'A'),
  ],
  ['a signature truncated by 2 characters', async () => (await mintToken()).slice(0, -2)],
  ['a signature with four more characters', async () => `${await mintToken()}AAAA`],
  [
    'the signature of another token',
    async () => {
      const [h, p] = segments(await mintToken({ claims: { sub: 'admin' } }))
      return `${h}.${p}.${segments(await mintToken())[2]}`
    },
  ],
  ['a signature made by the attacker key with the real kid', () => mintToken({ key: attackerKey })],
  ['a signature of all zero bits', async () => withSignature(await mintToken(), Buffer.alloc(256))],
  [
    'a signature with one bit flipped',
    async () => {
      const token = await mintToken()
      const signature = Buffer.from(segments(token)[2], 'base64url')
      signature[100] = (signature[100] as number) ^ 0x01
      return withSignature(token, signature)
    },
  ],
  [
    'an RSA signature equal to the modulus',
    async () =>
      withSignature(await mintToken(), Buffer.from(String(rsaKey.publicJwk.n), 'base64url')),
  ],
  [
    'an RSA signature of value 1',
    async () => {
      const one = Buffer.alloc(256)
      one[255] = 1
      return withSignature(await mintToken(), one)
    },
  ],
  [
    'an RS256 signature with its leading zero byte stripped',
    () => signatureWithLeadingZero(rsaKey, rsaHeader),
  ],
  [
    'an ES256 signature of 64 zero bytes (r = s = 0)',
    async () => withSignature(await mintToken({ key: ecKey }), Buffer.alloc(64)),
  ],
  [
    'an ES256 signature with r = s = n (the curve order)',
    async () => withSignature(await mintToken({ key: ecKey }), Buffer.concat([P256_N, P256_N])),
  ],
  [
    'an ES256 signature with r = 0 and a real s',
    async () => {
      const token = await mintToken({ key: ecKey })
      return withSignature(
        token,
        Buffer.concat([Buffer.alloc(32), esSignature(token).subarray(32)]),
      )
    },
  ],
  [
    'an ES256 signature with a real r and s = 0',
    async () => {
      const token = await mintToken({ key: ecKey })
      return withSignature(
        token,
        Buffer.concat([esSignature(token).subarray(0, 32), Buffer.alloc(32)]),
      )
    },
  ],
  [
    'an ES256 signature with r and s swapped',
    async () => {
      const token = await mintToken({ key: ecKey })
      const sig = esSignature(token)
      return withSignature(token, Buffer.concat([sig.subarray(32), sig.subarray(0, 32)]))
    },
  ],
  [
    'an ES256 signature with a zero byte prepended',
    async () => {
      const token = await mintToken({ key: ecKey })
      return withSignature(token, Buffer.concat([Buffer.alloc(1), esSignature(token)]))
    },
  ],
  [
    'an ES384 signature of 96 zero bytes',
    async () => withSignature(await mintToken({ key: keys.p384 }), Buffer.alloc(96)),
  ],
  [
    'an Ed25519 signature of 64 zero bytes',
    async () => withSignature(await mintToken({ key: keys.ed }), Buffer.alloc(64)),
  ],
  [
    'an Ed25519 signature with S + L (non-canonical scalar)',
    async () => {
      const token = await mintToken({ key: keys.ed })
      const sig = esSignature(token)
      const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString('hex')}`) + ED25519_L
      const bytes = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse()
      return withSignature(token, Buffer.concat([sig.subarray(0, 32), bytes]))
    },
  ],
] as const) {
  add({ name: what, make, reason: 'bad_signature', description: SIG })
}
// Found by this suite (fixed in feee1c0): OpenSSL let an RSASSA-PSS signature with its leading
// zero byte stripped verify, so one signature gave a second valid token string.
add({
  name: 'a PS256 signature with its leading zero byte stripped',
  make: () => signatureWithLeadingZero(keys.ps, { alg: 'PS256', kid: 'ps-1', typ: 'JWT' }),
  reason: 'bad_signature',
  description: SIG,
})

// --- header and payload that are not JSON objects ---------------------------------------------------
const bytes = (...values: number[]) => Buffer.from(values)
for (const [what, header, payload, description] of [
  ['a header that is not JSON', b64url('not json'), P(), HDR_JSON],
  ['a header that is a JSON array', b64url('["RS256"]'), P(), HDR_OBJ],
  ['a header that is JSON null', b64url('null'), P(), HDR_OBJ],
  ['a header that is a JSON number', b64url('42'), P(), HDR_OBJ],
  ['a header that is a JSON string', b64url('"RS256"'), P(), HDR_OBJ],
  [
    'a header with invalid UTF-8',
    b64url(bytes(0x7b, 0x22, 0x61, 0x6c, 0x67, 0xff, 0x22, 0x3a, 0x31, 0x7d)),
    P(),
    HDR_JSON,
  ],
  ['a payload that is not JSON', H(rsaHeader), b64url('not json'), PAY_JSON],
  ['a payload with trailing garbage', H(rsaHeader), b64url(`${claimsJson}x`), PAY_JSON],
  ['a payload that is a JSON array', H(rsaHeader), b64url('[{"iss":"x"}]'), PAY_OBJ],
  ['a payload that is JSON null', H(rsaHeader), b64url('null'), PAY_OBJ],
  ['a payload that is a JSON number', H(rsaHeader), b64url('42'), PAY_OBJ],
  ['a payload that is a JSON string', H(rsaHeader), b64url('"x"'), PAY_OBJ],
  ['a payload that is JSON true', H(rsaHeader), b64url('true'), PAY_OBJ],
  [
    'a payload with invalid UTF-8',
    H(rsaHeader),
    b64url(Buffer.concat([Buffer.from('{"sub":"'), bytes(0xff), Buffer.from('"}')])),
    PAY_JSON,
  ],
  [
    'a payload with an overlong UTF-8 quote',
    H(rsaHeader),
    b64url(Buffer.concat([Buffer.from('{"sub":"'), bytes(0xc0, 0xa2), Buffer.from('"}')])),
    PAY_JSON,
  ],
  [
    'a payload with a UTF-8-encoded surrogate',
    H(rsaHeader),
    b64url(Buffer.concat([Buffer.from('{"sub":"'), bytes(0xed, 0xa0, 0x80), Buffer.from('"}')])),
    PAY_JSON,
  ],
  ['a payload in UTF-16', H(rsaHeader), b64url(Buffer.from(claimsJson, 'utf16le')), PAY_JSON],
] as const) {
  add({
    name: what,
    make: () => `${header}.${payload}.${b64url('signature')}`,
    reason: 'malformed_token',
    description,
  })
}
add({
  name: 'a claim nested 5,000 levels deep, signed by the attacker',
  make: () =>
    signRaw(
      JSON.stringify(rsaHeader),
      `{"deep":${'['.repeat(5_000)}${']'.repeat(5_000)},${claimsJson.slice(1)}`,
      attackerKey,
    ),
  reason: 'bad_signature',
  description: SIG,
})
add({
  name: 'a __proto__ claim, signed by the attacker',
  make: () =>
    signRaw(
      JSON.stringify(rsaHeader),
      `{"__proto__":{"appOnly":true},${claimsJson.slice(1)}`,
      attackerKey,
    ),
  reason: 'bad_signature',
  description: SIG,
})
add({
  name: 'duplicate aud members, signed by the attacker',
  make: () =>
    signRaw(JSON.stringify(rsaHeader), `{"aud":"api://other",${claimsJson.slice(1)}`, attackerKey),
  reason: 'bad_signature',
  description: SIG,
})

// --- claims of the wrong type (validly signed) ----------------------------------------------------
for (const [claims, reason, description] of [
  [{ iss: 42 }, 'invalid_claim', ISS],
  [{ iss: null }, 'invalid_claim', ISS],
  [{ iss: [ISSUER] }, 'invalid_claim', ISS],
  [{ iss: { url: ISSUER } }, 'invalid_claim', ISS],
  [{ iss: true }, 'invalid_claim', ISS],
  [{ aud: 42 }, 'invalid_claim', AUD],
  [{ aud: [] }, 'invalid_claim', AUD],
  [{ aud: [1] }, 'invalid_claim', AUD],
  [{ aud: '' }, 'invalid_claim', AUD],
  [{ aud: [AUDIENCE, null] }, 'invalid_claim', AUD],
  [{ aud: { 0: AUDIENCE } }, 'invalid_claim', AUD],
  [{ aud: null }, 'invalid_claim', AUD],
  [{ exp: String(NOW + 3600) }, 'invalid_claim', EXP],
  [{ exp: null }, 'invalid_claim', EXP],
  [{ exp: true }, 'invalid_claim', EXP],
  [{ exp: [NOW + 3600] }, 'invalid_claim', EXP],
  [{ exp: { $gt: 0 } }, 'invalid_claim', EXP],
  [{ nbf: String(NOW) }, 'invalid_claim', NBF_TYPE],
  [{ nbf: null }, 'invalid_claim', NBF_TYPE],
  [{ nbf: [NOW] }, 'invalid_claim', NBF_TYPE],
  [{ iat: String(NOW) }, 'invalid_claim', IAT_TYPE],
  [{ iat: {} }, 'invalid_claim', IAT_TYPE],
  [{ iat: null }, 'invalid_claim', IAT_TYPE],
  [{ sub: 42 }, 'invalid_claim', SUB_TYPE],
  [{ sub: null }, 'invalid_claim', SUB_TYPE],
  [{ sub: { id: 1 } }, 'invalid_claim', SUB_TYPE],
  [{ scp: 42 }, 'invalid_claim', SCOPES_TYPE],
  [{ scp: { 'Files.Read': true } }, 'invalid_claim', SCOPES_TYPE],
  [{ scp: [1] }, 'invalid_claim', SCOPES_TYPE],
  [{ scp: null }, 'invalid_claim', SCOPES_TYPE],
  [{ scope: true }, 'invalid_claim', SCOPES_TYPE],
  [{ scope: ['a', ['b']] }, 'invalid_claim', SCOPES_TYPE],
  [{ roles: { admin: true } }, 'invalid_claim', SCOPES_TYPE],
  [{ roles: [{}] }, 'invalid_claim', SCOPES_TYPE],
  [{ roles: 1 }, 'invalid_claim', SCOPES_TYPE],
] as [Record<string, unknown>, RejectionReason, string][]) {
  add({
    name: `the claim ${JSON.stringify(claims)}`,
    make: () => mintToken({ claims }),
    reason,
    description,
  })
}
for (const [what, json, description] of [
  ['exp 1e400 (Infinity once parsed)', claimsJson.replace(/"exp":\d+/, '"exp":1e400'), EXP],
  ['exp -1e400', claimsJson.replace(/"exp":\d+/, '"exp":-1e400'), EXP],
  ['nbf 1e400', claimsJson.replace(/"nbf":\d+/, '"nbf":1e400'), NBF_TYPE],
  ['iat 1e400', claimsJson.replace(/"iat":\d+/, '"iat":1e400'), IAT_TYPE],
] as const) {
  add({
    name: `the claim ${what}`,
    make: () => signRaw(JSON.stringify(rsaHeader), json, rsaKey),
    reason: 'invalid_claim',
    description,
  })
}

// --- time -------------------------------------------------------------------------------------------
for (const [what, claims, reason, description, validator] of [
  ['exp = now - 60 (at the tolerance)', { exp: NOW - 60 }, 'expired', 'the token expired 60 s ago'],
  ['exp = now - 61', { exp: NOW - 61 }, 'expired', 'the token expired 61 s ago'],
  ['exp an hour ago', { exp: NOW - 3_600 }, 'expired', 'the token expired 60 min ago'],
  ['exp three days ago', { exp: NOW - 259_200 }, 'expired', 'the token expired 3 d ago'],
  ['exp = 0', { exp: 0 }, 'expired', `the token expired ${Math.round(NOW / 86_400)} d ago`],
  [
    'exp negative',
    { exp: -1 },
    'expired',
    `the token expired ${Math.round((NOW + 1) / 86_400)} d ago`,
  ],
  ['nbf = now + 61', { nbf: NOW + 61 }, 'not_yet_valid', NBF],
  ['nbf an hour ahead', { nbf: NOW + 3_600 }, 'not_yet_valid', NBF],
  ['nbf far in the future', { nbf: 1e15 }, 'not_yet_valid', NBF],
  ['iat = now + 61', { iat: NOW + 61 }, 'issued_in_future', IAT_FUTURE],
  ['iat a day ahead', { iat: NOW + 86_400 }, 'issued_in_future', IAT_FUTURE],
  ['iat older than maxTokenAge + tolerance', { iat: NOW - 661 }, 'too_old', TOO_OLD, 'maxAge'],
  ['iat a day old with maxTokenAge 600', { iat: NOW - 86_400 }, 'too_old', TOO_OLD, 'maxAge'],
  ['no iat when maxTokenAge is set', { iat: undefined }, 'missing_claim', NO_IAT, 'maxAge'],
  ['no jti when requiredClaims names it', {}, 'missing_claim', REQUIRED, 'required'],
] as [string, Record<string, unknown>, RejectionReason, string, ValidatorName?][]) {
  add({
    name: what,
    make: () => mintToken({ claims }),
    reason,
    description,
    ...(validator === undefined ? {} : { validator }),
  })
}

// --- issuer and audience near-misses, missing claims ---------------------------------------------
for (const iss of [
  'https://issuer.example',
  'https://issuer.example//',
  'https://ISSUER.example/',
  'HTTPS://issuer.example/',
  'https://Issuer.Example/',
  'https://issuer.example/ ',
  ' https://issuer.example/',
  'https://issuer.example/\n',
  'https://issuer.example/\u0000',
  'https://issuer.example.evil.com/',
  'https://evil.example/https://issuer.example/',
  'https://issuer.example/tenant/',
  'http://issuer.example/',
  'https://issuer.exampl/',
  'https://issuer.example:443/',
  '',
]) {
  add({
    name: `the issuer near-miss ${JSON.stringify(iss)}`,
    make: () => mintToken({ claims: { iss } }),
    reason: 'wrong_issuer',
    description: ISS_WRONG,
    markers: iss.includes('evil') ? ['evil'] : [],
  })
}
for (const aud of [
  'API://orders',
  'api://Orders',
  'api://order',
  'api://orders/',
  'api://orders ',
  ' api://orders',
  'api://orders.evil',
  'api://ordersx',
  'orders',
  'api://orders\u0000',
  ['api://other'],
  ['api://other', 'api://x'],
  ['API://ORDERS'],
  [''],
]) {
  add({
    name: `the audience near-miss ${JSON.stringify(aud)}`,
    make: () => mintToken({ claims: { aud } }),
    reason: 'wrong_audience',
    description: AUD_WRONG,
  })
}
for (const [what, claims, description] of [
  ['no iss', { iss: undefined }, ISS],
  ['no aud', { aud: undefined }, AUD],
  ['no exp', { exp: undefined }, EXP],
  ['no iss, aud or exp', { iss: undefined, aud: undefined, exp: undefined }, ISS],
] as const) {
  add({ name: what, make: () => mintToken({ claims }), reason: 'missing_claim', description })
}

// --- typ ----------------------------------------------------------------------------------------------
for (const typ of [
  'dpop+jwt',
  'logout+jwt',
  'secevent+jwt',
  'application/dpop+jwt',
  'token-introspection+jwt',
  'JWT ',
  ' JWT',
  'id_token',
  'JOSE',
  'JOSE+JSON',
  'jwt+at',
  'at+jwt;charset=utf-8',
  'application/',
  '',
  42,
  null,
  ['JWT'],
]) {
  add({
    name: `typ ${JSON.stringify(typ)}`,
    make: () => mintToken({ header: { typ } }),
    reason: 'unsupported_token_type',
    description: TYP,
  })
}
for (const [what, typ, description] of [
  ['no typ when tokenTypes requires at+jwt', undefined, TYP_REQUIRED],
  ['typ JWT when tokenTypes requires at+jwt', 'JWT', TYP],
  ['typ jwt when tokenTypes requires at+jwt', 'jwt', TYP],
] as const) {
  add({
    name: what,
    make: () => mintToken({ header: { typ } }),
    reason: 'unsupported_token_type',
    description,
    validator: 'atJwt',
  })
}

// --- size ------------------------------------------------------------------------------------------------
for (const [what, make] of [
  [
    'a token one character over maxTokenLength',
    () => `${H(rsaHeader)}.${P()}.${'A'.repeat(16_384 - H(rsaHeader).length - P().length - 1)}`,
  ],
  ['a token of a megabyte', () => `${H(rsaHeader)}.${'A'.repeat(1_048_576)}.c2ln`],
  [
    'a validly signed token with a 20 KB claim',
    () => mintToken({ claims: { blob: 'x'.repeat(20_000) } }),
  ],
] as const) {
  add({ name: what, make, reason: 'token_too_large', description: TOO_LARGE })
}

// --------------------------------------------------------------------------------------------------------
const tokens: string[] = []

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  const [ps, ed, p384, ecNoAlg] = await Promise.all([
    createTestKey('PS256', 'ps-1'),
    createTestKey('EdDSA', 'ed-1'),
    createTestKey('ES384', 'p384-1'),
    createTestKey('ES256', 'ec-noalg'),
  ])
  const weak = generateKeyPairSync('rsa', { modulusLength: 1_024 })
  const { alg: _alg, ...rsaNoAlgJwk } = { ...otherRsaKey.publicJwk, kid: 'rsa-noalg' }
  const { alg: _ecAlg, ...ecNoAlgJwk } = ecNoAlg.publicJwk
  keys = {
    ps,
    ed,
    p384,
    ecNoAlg,
    rsaNoAlgJwk,
    rsa1024: {
      private: weak.privateKey,
      jwk: {
        ...weak.publicKey.export({ format: 'jwk' }),
        kid: 'rsa-1024',
        alg: 'RS256',
        use: 'sig',
      },
    },
  }
  trap = await startCountingServer()
  server = await startJwksServer()
  server.setKeys({
    keys: [
      rsaKey.publicJwk,
      ecKey.publicJwk,
      ps.publicJwk,
      ed.publicJwk,
      p384.publicJwk,
      ecNoAlgJwk,
      rsaNoAlgJwk,
      keys.rsa1024.jwk,
    ],
  })
  const base: ValidatorOptions = {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: server.jwksUri,
    tokenCache: false,
  }
  validators.main = createValidator({ ...base, onEvent: (event) => events.push(event) })
  validators.esOnly = createValidator({ ...base, algorithms: ['ES256'] })
  validators.atJwt = createValidator({ ...base, tokenTypes: ['at+jwt'] })
  validators.maxAge = createValidator({ ...base, maxTokenAge: 600 })
  validators.required = createValidator({ ...base, requiredClaims: ['jti'] })
  await Promise.all(Object.values(validators).map((v) => v.warmUp()))
  for (const row of rows) tokens.push(await row.make())
})

afterAll(async () => {
  vi.useRealTimers()
  await trap?.close()
  await server?.close()
})

/** Everything a client sees of a rejection. */
function visible(error: BearerGuardError): string {
  return `${error.message}\n${error.headers['WWW-Authenticate']}\n${error.stack}\n${JSON.stringify(error)}`
}

function expectSafeRejection(error: BearerGuardError, row: Row, token: string): void {
  expect(error.status === 400 || error.status === 401).toBe(true)
  expect(error.expose).toBe(true)
  const text = visible(error)
  for (const segment of token.split(/[.\s]/)) {
    if (segment.length >= 8) expect(text).not.toContain(segment.slice(0, 40))
  }
  for (const marker of row.markers ?? []) expect(text).not.toContain(marker)
  expect(trap.hits).toBe(0)
}

const indexed = rows.map((row, index) => ({ ...row, index }))
const working = indexed.filter((row) => row.bug === undefined)
const buggy = indexed.filter((row) => row.bug !== undefined)

describe('hostile tokens', () => {
  it('has a table of at least 150 rows, with distinct names', () => {
    expect(rows.length).toBeGreaterThanOrEqual(150)
    expect(new Set(rows.map((row) => row.name)).size).toBe(rows.length)
  })

  describe('verify()', () => {
    for (const row of working) {
      it(`rejects ${row.name} with 401 invalid_token (${row.reason})`, async () => {
        const token = tokens[row.index] as string
        const error = await rejectionOf(validators[row.validator ?? 'main'].verify(token))
        expect({
          status: error.status,
          code: error.code,
          reason: error.reason,
          challenge: error.headers['WWW-Authenticate'],
        }).toEqual({
          status: 401,
          code: 'invalid_token',
          reason: row.reason,
          challenge: invalidToken(row.description),
        })
        expectSafeRejection(error, row, token)
      })
    }

    // Each of these rows documents a bug in src/ (see `bug` in the row): it should be rejected.
    for (const row of buggy) {
      it.fails(`rejects ${row.name} with 401 invalid_token (${row.reason}) [BUG]`, async () => {
        const token = tokens[row.index] as string
        const error = await rejectionOf(validators[row.validator ?? 'main'].verify(token))
        expect(error.status).toBe(401)
        expect(error.reason).toBe(row.reason)
      })
    }
  })

  describe('authenticate()', () => {
    const viaHeader = working.filter((row) => row.verifyOnly !== true)

    for (const row of viaHeader) {
      it(`rejects "Bearer " + ${row.name}`, async () => {
        const token = tokens[row.index] as string
        const error = await rejectionOf(
          validators[row.validator ?? 'main'].authenticate(`Bearer ${token}`),
        )
        const malformedHeader = !B64TOKEN.test(token)
        expect({
          status: error.status,
          code: error.code,
          reason: error.reason,
          challenge: error.headers['WWW-Authenticate'],
        }).toEqual(
          malformedHeader
            ? {
                status: 400,
                code: 'invalid_request',
                reason: 'malformed_authorization',
                challenge: invalidRequest(BAD_CHARS),
              }
            : {
                status: 401,
                code: 'invalid_token',
                reason: row.reason,
                challenge: invalidToken(row.description),
              },
        )
        expectSafeRejection(error, row, token)
      })
    }
  })

  it('never fetched a jku or x5u, nor refreshed the JWKS, and reported no token in any event', () => {
    expect(trap.hits).toBe(0)
    // One fetch per validator: no row caused a refresh (the faked clock never leaves the cooldown).
    expect(server.hits).toBe(Object.keys(validators).length)
    const text = JSON.stringify(events)
    expect(events.length).toBeGreaterThanOrEqual(working.length)
    for (const token of tokens) {
      for (const segment of token.split(/[.\s]/)) {
        if (segment.length >= 16) expect(text).not.toContain(segment.slice(0, 40))
      }
    }
  })
})

describe('hostile-table baseline: what the same validators accept', () => {
  it('accepts a valid token for each usable key of the JWKS', async () => {
    for (const key of [rsaKey, ecKey, keys.ps, keys.ed, keys.p384]) {
      await expect(validators.main.verify(await mintToken({ key }))).resolves.toBeDefined()
    }
    const { alg: _alg, ...noAlg } = { ...otherRsaKey, kid: 'rsa-noalg' }
    await expect(
      validators.main.verify(await mintToken({ key: { ...noAlg, alg: 'RS256' } })),
    ).resolves.toBeDefined()
    await expect(
      validators.main.verify(
        await mintToken({ key: { ...noAlg, alg: 'RS256' }, header: { alg: 'PS256' } }),
      ),
    ).rejects.toBeInstanceOf(BearerGuardError)
  })

  it.each([
    ['exp = now - 59', { exp: NOW - 59 }],
    ['nbf = now + 60', { nbf: NOW + 60 }],
    ['iat = now + 60', { iat: NOW + 60 }],
    ['an aud list that contains this API', { aud: ['api://other', AUDIENCE] }],
    ['no nbf and no iat', { nbf: undefined, iat: undefined }],
    [
      'a claim nested 100 levels deep',
      { deep: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) },
    ],
  ])('accepts %s', async (_, claims) => {
    await expect(validators.main.verify(await mintToken({ claims }))).resolves.toBeDefined()
  })

  it('accepts iat exactly maxTokenAge + tolerance old, and jti when required', async () => {
    await expect(
      validators.maxAge.verify(await mintToken({ claims: { iat: NOW - 660 } })),
    ).resolves.toBeDefined()
    await expect(
      validators.required.verify(await mintToken({ claims: { jti: 'id-1' } })),
    ).resolves.toBeDefined()
    await expect(validators.esOnly.verify(await mintToken({ key: ecKey }))).resolves.toBeDefined()
  })

  it.each([
    'JWT',
    'jwt',
    'at+jwt',
    'AT+JWT',
    'application/at+jwt',
    'application/AT+JWT',
    'application/jwt',
    undefined,
  ])('accepts typ %j by default', async (typ) => {
    await expect(
      validators.main.verify(await mintToken({ header: { typ } })),
    ).resolves.toBeDefined()
  })

  it.each(['at+jwt', 'application/at+jwt', 'AT+JWT'])(
    'accepts typ %j when tokenTypes is at+jwt',
    async (typ) => {
      await expect(
        validators.atJwt.verify(await mintToken({ header: { typ } })),
      ).resolves.toBeDefined()
    },
  )

  it('ignores jku, x5u, jwk and x5c on a token the real key signed, fetching nothing', async () => {
    const token = await mintToken({
      header: { jku: trap.url, x5u: trap.url, jwk: attackerKey.publicJwk, x5c: ['MIIB'] },
    })
    await expect(validators.main.verify(token)).resolves.toBeDefined()
    expect(trap.hits).toBe(0)
  })
})
