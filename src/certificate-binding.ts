/**
 * Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf["x5t#S256"]` names a client
 * certificate is accepted only from a request made with that certificate. The thumbprint is the
 * base64url SHA-256 of the certificate's DER, compared exactly.
 *
 * The certificate comes from the TLS connection (`getPeerCertificate().raw` on Node), or, when
 * the application names one, from a header a TLS-terminating proxy sets. The header may hold:
 *
 * - an RFC 9440 `Client-Cert` value: the DER as a structured-field byte sequence, `:base64:`;
 * - a PEM certificate, URL-encoded or not (nginx's `$ssl_client_escaped_cert`, AWS ALB's
 *   `X-Amzn-Mtls-Clientcert`, Envoy's `cert=` aside);
 * - the DER in base64 (standard or base64url).
 */
import { decodeBase64url, sha256Base64url } from '#crypto'
import { InvalidTokenError } from './errors.js'
import { type RequestLike, readClientCertificate, readHeader } from './request.js'
import type { TokenClaims } from './types.js'

const PEM_BODY = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/
// A certificate is a few KB; a header far longer is not one.
const MAX_HEADER_LENGTH = 65_536

/**
 * The DER of the certificate in a proxy's header value (see the module comment for the forms),
 * or `undefined` when there is none or it is not in one of those forms.
 *
 * @example
 * ```ts
 * parseCertificateHeader(`:${der.toString('base64')}:`) // der
 * ```
 */
export function parseCertificateHeader(value: string | undefined): Uint8Array | undefined {
  if (value === undefined || value.length === 0 || value.length > MAX_HEADER_LENGTH)
    return undefined
  let text = value.trim()
  if (text.length > 2 && text.startsWith(':') && text.endsWith(':')) text = text.slice(1, -1)
  else if (text.includes('%')) {
    try {
      text = decodeURIComponent(text)
    } catch {
      return undefined
    }
  }
  const pem = PEM_BODY.exec(text)
  const base64 = pem === null ? text : (pem[1] as string).replace(/\s+/g, '')
  if (!BASE64.test(base64)) return undefined
  // BASE64 admits both alphabets; the decoder reads either.
  const der = decodeBase64url(base64)
  // A DER certificate is a SEQUENCE (0x30).
  return der.length > 0 && der[0] === 0x30 ? der : undefined
}

/** base64url(SHA-256(DER)): a certificate's `x5t#S256` (RFC 8705 §3.1). */
export function certificateThumbprint(der: Uint8Array): string {
  return sha256Base64url(der)
}

/**
 * Checks a certificate-bound token against the request's client certificate: from the TLS
 * socket, or from `header` when set (a trusted proxy's). No certificate, or another one: 401
 * `invalid_token`.
 */
export function checkCertificateBinding(
  claims: TokenClaims,
  request: RequestLike | undefined,
  header: string | undefined,
): void {
  const cnf = claims.cnf as Record<string, unknown> | undefined
  const expected = cnf?.['x5t#S256']
  if (typeof expected !== 'string') return
  let der: Uint8Array | undefined
  if (request !== undefined) {
    if (header === undefined) der = readClientCertificate(request)
    else {
      const value = readHeader(request, header)
      // A header sent twice is not a proxy's single statement.
      der = typeof value === 'string' ? parseCertificateHeader(value) : undefined
    }
  }
  if (der === undefined) {
    throw new InvalidTokenError(
      'the token is bound to a client certificate, and the request came without one',
      { reason: 'missing_certificate', claim: 'cnf' },
    )
  }
  if (certificateThumbprint(der) !== expected) {
    throw new InvalidTokenError(
      'the token is bound to another client certificate than the one of this request',
      { reason: 'wrong_certificate', claim: 'cnf' },
    )
  }
}
