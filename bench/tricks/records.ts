/**
 * The plain alternative to src's records: the AuthInfo and the accepted decision as object
 * literals, as they were from 2a4f41f to this trick's return. `new AuthRecordOf(...)`
 * (caller-rules.ts) and `acceptedFor` (decision.ts) make them with function constructors, which
 * V8's allocation-site pretenuring does not count: with literals, once the token cache has kept
 * enough of them, V8 may allocate every later one in the old generation.
 *
 * The literal AuthInfo is copied from the product's, field by field (a few tens of ns more than
 * the product's own work, on a path of about 30 µs): the literal is what matters here, and
 * everything else stays the product's.
 */
import type { Accepted } from '../../src/decision.js'
import type { AuthInfo } from '../../src/types.js'

/** `auth` again, as an object literal (frozen, as the product's is). */
export function authInfoLiteral(auth: AuthInfo): AuthInfo {
  return Object.freeze({
    token: auth.token,
    header: auth.header,
    claims: auth.claims,
    subject: auth.subject,
    issuer: auth.issuer,
    audience: auth.audience,
    scopes: auth.scopes,
    roles: auth.roles,
    clientId: auth.clientId,
    tenantId: auth.tenantId,
    appOnly: auth.appOnly,
    expiresAt: auth.expiresAt,
    issuedAt: auth.issuedAt,
    binding: auth.binding,
    issuerName: auth.issuerName,
  })
}

/** The accepted decision as an object literal. */
export function acceptedLiteral(auth: AuthInfo | undefined): Accepted {
  return { auth, error: undefined, headers: undefined }
}
