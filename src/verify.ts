/**
 * Signature verification. jose checks the JWS (its own parse, `crit`, the key's fitness for
 * `alg`, RSA key size) and the signature; its error codes become bearer-guard errors.
 */
import { type CryptoKey, compactVerify, errors } from 'jose'
import { InvalidTokenError } from './errors.js'

/**
 * Verifies the signature of a compact JWS with `key`, accepting only `alg`. A bad signature or
 * any JWS-level problem is a 401 `invalid_token`; the jose error is kept as `cause`.
 *
 * @example
 * ```ts
 * await verifySignature(token, key, 'RS256', 'api')
 * ```
 */
export async function verifySignature(
  token: string,
  key: CryptoKey,
  alg: string,
  realm: string,
): Promise<void> {
  try {
    await compactVerify(token, key, { algorithms: [alg] })
  } catch (cause) {
    if (cause instanceof errors.JWSSignatureVerificationFailed) {
      throw new InvalidTokenError('the token signature is invalid', {
        reason: 'bad_signature',
        realm,
        cause,
      })
    }
    if (cause instanceof errors.JOSEError) {
      throw new InvalidTokenError('the token cannot be verified with the issuer key', {
        reason: 'bad_signature',
        realm,
        cause,
      })
    }
    // jose's key checks throw TypeError (for example an RSA key shorter than 2048 bits).
    throw new InvalidTokenError('the token cannot be verified with the issuer key', {
      reason: 'bad_signature',
      realm,
      cause,
    })
  }
}
