/**
 * Entra-sized access tokens: the claim set of a v1.0 delegated token as Microsoft documents it
 * (about 1.5 KB once signed with RS256), each made distinct by its `uti` and `aio`.
 */
import { randomBytes, sign } from 'node:crypto'
import type { BenchKey } from './keys.js'

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
/** The protected API. */
export const CLIENT_ID = '6e74172b-be56-4843-9ff4-e66a39bb12e3'
const CALLER_ID = '2d4d11a2-f814-46a7-890a-274a72a7309e'
const USER_OID = '690222be-ff1a-4d56-abd1-7e4f7d38e474'

export const ISSUER = `https://sts.windows.net/${TENANT}/`
export const AUDIENCE = `api://${CLIENT_ID}`

/** Tokens stay valid this long (s): a full run, however slow, never sees one expire. */
const LIFETIME = 4 * 3600

/** A string V8 stores flat, as an HTTP parser would hand it over (not a rope of concatenations). */
export function flat(value: string): string {
  return Buffer.from(value, 'latin1').toString('latin1')
}

function b64url(value: string | Buffer): string {
  return (typeof value === 'string' ? Buffer.from(value) : value).toString('base64url')
}

/** The claims of one token; `unique` makes `uti` and `aio` distinct. */
export function entraClaims(now: number, unique: Buffer): Record<string, unknown> {
  return {
    aud: AUDIENCE,
    iss: ISSUER,
    iat: now - 60,
    nbf: now - 60,
    exp: now + LIFETIME,
    acr: '1',
    aio: `AWQAm/8TAAAA${unique.toString('base64')}`,
    amr: ['pwd', 'mfa'],
    appid: CALLER_ID,
    appidacr: '1',
    ipaddr: '192.0.2.10',
    name: 'Abe Lincoln',
    oid: USER_OID,
    rh: '0.AXEAv4j5cvGGr0GRqy180BHbRyUXdG4rvkNIn-_mOjm7EuNxAAA.',
    scp: 'Files.Read Files.ReadWrite Data.Read User.Read',
    sub: 'l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA',
    tid: TENANT,
    unique_name: 'abeli@contoso.example',
    upn: 'abeli@contoso.example',
    uti: unique.subarray(0, 16).toString('base64url'),
    ver: '1.0',
    wids: ['b79fbf4d-3ef9-4689-8143-76b194e85509'],
    xms_tcdt: 1289241547,
  }
}

/** Signs the claims with `key` as a compact JWS with an Entra-style header (`typ`, `x5t`, `kid`). */
export function mintToken(key: BenchKey, claims: Record<string, unknown>, kid = key.kid): string {
  const header = { typ: 'JWT', alg: key.alg, x5t: key.x5t, kid }
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), key.privateKey)
  return flat(`${input}.${b64url(signature)}`)
}

/** `count` distinct valid tokens signed by `key`. */
export function mintPool(
  key: BenchKey,
  count: number,
  now = Math.floor(Date.now() / 1000),
): string[] {
  const pool: string[] = []
  for (let i = 0; i < count; i++) pool.push(mintToken(key, entraClaims(now, randomBytes(24))))
  return pool
}
