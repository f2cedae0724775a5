/**
 * One table of DPoP requests (RFC 9449) and their exact answers, shared by every adapter: each
 * adapter serves `/{validator}/me` (GET and POST) for the validators of `createDpopValidators`,
 * answering `{ subject, jkt }`, and `test/adapters/dpop.test.ts` sends every case to each over
 * real HTTP. Proofs are built by hand (test/helpers/dpop.ts) at the real time.
 */
import { createHash } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { expect } from 'vitest'
import { createNonceSource } from '../../src/dpop-nonce.js'
import { createValidator, type Validator } from '../../src/index.js'
import { type Certificate, createCertificate } from '../../src/testing/certificate.js'
import {
  createDpopKey,
  type DpopKey,
  makeHmacProof,
  makeProof,
  makeRawProof,
  makeUnsignedProof,
  mintBoundToken,
  mintCurrentToken,
  nowSeconds,
  PUBLIC_ORIGIN,
} from './dpop.js'
import { rsaKey, toJwks } from './keys.js'
import { AUDIENCE, ISSUER } from './tokens.js'

/** The validators every adapter serves, each at `/{name}/me`. */
export const DPOP_VALIDATORS = ['dpop', 'nonce', 'required', 'proxy', 'mtls'] as const
export type DpopValidatorName = (typeof DPOP_VALIDATORS)[number]

/** The header the `mtls` validator's (pretended) TLS-terminating proxy sets. */
export const CERT_HEADER = 'X-Client-Cert'

/** The nonce secret of the `nonce` validator: tests make its nonces with their own source. */
export const NONCE_SECRET = 'a nonce secret of at least thirty-two bytes'
const NONCE_LIFETIME = 300

const ALGS = ['ES256', 'PS256'] as const

/**
 * `dpop`: Bearer and DPoP, origin {@link PUBLIC_ORIGIN}; `nonce`: the same with nonces;
 * `required`: DPoP only; `proxy`: origin from X-Forwarded-Proto and X-Forwarded-Host; `mtls`:
 * certificate-bound tokens (RFC 8705), the certificate from {@link CERT_HEADER}.
 */
export function createDpopValidators(): Record<DpopValidatorName, Validator> {
  const base = { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) }
  const dpop = { publicOrigin: PUBLIC_ORIGIN, algorithms: ALGS }
  return {
    dpop: createValidator({ ...base, dpop }),
    nonce: createValidator({
      ...base,
      dpop: { ...dpop, nonce: { secret: NONCE_SECRET, lifetime: NONCE_LIFETIME } },
    }),
    required: createValidator({ ...base, dpop: { ...dpop, required: true } }),
    proxy: createValidator({
      ...base,
      dpop: { trustedProxyHeaders: 'x-forwarded', algorithms: ALGS },
    }),
    mtls: createValidator({ ...base, certificateBinding: { certificateHeader: CERT_HEADER } }),
  }
}

/** Keys and tokens the cases use, made once per test file. */
export interface DpopCaseEnv {
  /** The client's proof key; `token` is bound to it. */
  readonly key: DpopKey
  /** Another client's key. */
  readonly otherKey: DpopKey
  /** Bound to `key` by `cnf.jkt`. */
  readonly token: string
  /** A plain Bearer token (no `cnf`). */
  readonly bearer: string
  /** The client's certificate; `certToken` is bound to it. */
  readonly certificate: Certificate
  /** Another client's certificate. */
  readonly otherCertificate: Certificate
  /** Bound to `certificate` by `cnf["x5t#S256"]`. */
  readonly certToken: string
}

export async function createDpopCaseEnv(): Promise<DpopCaseEnv> {
  const [key, otherKey, certificate, otherCertificate] = await Promise.all([
    createDpopKey(),
    createDpopKey(),
    createCertificate({ commonName: 'client', extendedKeyUsages: ['clientAuth'] }),
    createCertificate({ commonName: 'other client', extendedKeyUsages: ['clientAuth'] }),
  ])
  return {
    key,
    otherKey,
    token: await mintBoundToken(key),
    bearer: await mintCurrentToken(),
    certificate,
    otherCertificate,
    certToken: await mintCurrentToken({
      cnf: { 'x5t#S256': createHash('sha256').update(certificate.der).digest('base64url') },
    }),
  }
}

type Headers = Array<[name: string, value: string]>

/** What a case's headers are built from: the env, the path and the socket's host. */
export interface CaseRequest {
  readonly env: DpopCaseEnv
  readonly path: string
  /** `127.0.0.1:port`, what a client sends as Host. */
  readonly host: string
}

/** One request (or two, for a replay) and the exact answer every adapter must give. */
export interface DpopCase {
  name: string
  validator: DpopValidatorName
  method?: 'GET' | 'POST'
  headers(request: CaseRequest): Promise<Headers> | Headers
  /** Send the same headers twice: the first must pass, the second is the case. */
  twice?: true
  /** A good request first, which must pass (the token is then cached): `true` with the DPoP token and a fresh proof, `certificate` with the certificate-bound token and its certificate. */
  warm?: true | 'certificate'
  status: number
  /** The exact `WWW-Authenticate`, or `undefined` when none may be sent. */
  wwwAuthenticate: string | undefined
  /** Whether the answer carries a `DPoP-Nonce` header (checked only when set). */
  nonce?: boolean
  /** The JSON body of a 200: `KEY` and `CERT` stand for the thumbprints of the env's key and certificate. */
  body?: { subject: string | null; jkt: string | null; x5t?: 'CERT' }
}

const ALGS_PARAM = `algs="${ALGS.join(' ')}"`
const BOTH_BARE = `Bearer realm="api", DPoP realm="api", ${ALGS_PARAM}`
const DPOP_BARE = `DPoP realm="api", ${ALGS_PARAM}`
const proofError = (description: string) =>
  `Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="${description}", ${ALGS_PARAM}`
const nonceError = (description: string) =>
  `Bearer realm="api", DPoP realm="api", error="use_dpop_nonce", error_description="${description}", ${ALGS_PARAM}`
const dpopTokenError = (description: string) =>
  `Bearer realm="api", DPoP realm="api", error="invalid_token", error_description="${description}", ${ALGS_PARAM}`
const bearerTokenError = (description: string) =>
  `Bearer realm="api", error="invalid_token", error_description="${description}", DPoP realm="api", ${ALGS_PARAM}`

const WRONG_URI = 'the DPoP proof htu is not the URI of this request'
const AS_BEARER =
  'the token is bound to a key or certificate (cnf) and cannot be used as a Bearer token'

/** `Authorization: DPoP <token>` and one proof made by `build`. */
async function withProof(
  r: CaseRequest,
  build: (r: CaseRequest) => Promise<string> | string,
  token = r.env.token,
): Promise<Headers> {
  return [
    ['Authorization', `DPoP ${token}`],
    ['DPoP', await build(r)],
  ]
}

const htu = (r: CaseRequest) => `${PUBLIC_ORIGIN}${r.path}`
const good = (r: CaseRequest, extra: Parameters<typeof makeProof>[1] = {}) =>
  makeProof(r.env.key, { token: r.env.token, htu: htu(r), ...extra })
const nonces = createNonceSource(Buffer.from(NONCE_SECRET), NONCE_LIFETIME)
const SUBJECT = 'user-123'

/** The certificate of `c` as RFC 9440's `Client-Cert` sends it: `:base64 DER:`. */
const clientCert = (c: Certificate) => `:${c.der.toString('base64')}:`
const MISSING_CERT = 'the token is bound to a client certificate, and the request came without one'
const WRONG_CERT = 'the token is bound to another client certificate than the one of this request'
const bearerOnlyError = (description: string) =>
  `Bearer realm="api", error="invalid_token", error_description="${description}"`

/** The DPoP rows: RFC 9449 §4.3, §7, §8, §11.1, and the hostile variants of each. */
export const DPOP_CASES: readonly DpopCase[] = [
  {
    name: 'accepts a DPoP-bound token with its proof and says which key it was bound to',
    validator: 'dpop',
    headers: (r) => withProof(r, good),
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'accepts a repeated (cached) token with a fresh proof',
    validator: 'dpop',
    warm: true,
    headers: (r) => withProof(r, good),
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'accepts a DPoP proof for POST',
    validator: 'dpop',
    method: 'POST',
    headers: (r) => withProof(r, (q) => good(q, { htm: 'POST' })),
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'accepts a plain Bearer token alongside DPoP',
    validator: 'dpop',
    headers: (r) => [['Authorization', `Bearer ${r.env.bearer}`]],
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: SUBJECT, jkt: null },
  },
  {
    name: 'answers a request without credentials with a Bearer and a DPoP challenge',
    validator: 'dpop',
    headers: () => [],
    status: 401,
    wwwAuthenticate: BOTH_BARE,
  },
  {
    name: 'refuses a replayed proof (same jti, same key), even with the token cached',
    validator: 'dpop',
    twice: true,
    headers: (r) => withProof(r, good),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof was used before'),
  },
  {
    name: 'compares htu without its query',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { htu: `${htu(q)}?x=1` })),
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'compares htu without its fragment',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { htu: `${htu(q)}#top` })),
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'refuses an htu with another port',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { htu: `https://api.example:8443${q.path}` })),
    status: 401,
    wwwAuthenticate: proofError(WRONG_URI),
  },
  {
    name: 'accepts an htu with the default port written out',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { htu: `https://api.example:443${q.path}` })),
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'accepts an htu whose scheme and host differ only in case',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { htu: `HTTPS://API.Example${q.path}` })),
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'refuses an htu whose path differs in case',
    validator: 'dpop',
    headers: (r) =>
      withProof(r, (q) => good(q, { htu: `${PUBLIC_ORIGIN}${q.path.toUpperCase()}` })),
    status: 401,
    wwwAuthenticate: proofError(WRONG_URI),
  },
  {
    name: 'refuses an htu with a trailing slash',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { htu: `${htu(q)}/` })),
    status: 401,
    wwwAuthenticate: proofError(WRONG_URI),
  },
  {
    name: 'accepts an htu with percent-encoded unreserved characters',
    validator: 'dpop',
    headers: (r) =>
      withProof(r, (q) => good(q, { htu: `${PUBLIC_ORIGIN}${q.path.replace('/me', '/%6d%65')}` })),
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'refuses an htu with an encoded slash in the path',
    validator: 'dpop',
    headers: (r) =>
      withProof(r, (q) => good(q, { htu: `${PUBLIC_ORIGIN}${q.path.replace('/me', '%2Fme')}` })),
    status: 401,
    wwwAuthenticate: proofError(WRONG_URI),
  },
  {
    name: 'refuses an htu with http instead of https',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { htu: `http://api.example${q.path}` })),
    status: 401,
    wwwAuthenticate: proofError(WRONG_URI),
  },
  {
    name: 'refuses an htu naming the Host the request was sent to (the origin is configured)',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { htu: `http://${q.host}${q.path}` })),
    status: 401,
    wwwAuthenticate: proofError(WRONG_URI),
  },
  {
    name: 'ignores a spoofed X-Forwarded-Host when no proxy header is trusted',
    validator: 'dpop',
    headers: async (r) => [
      ...(await withProof(r, (q) => good(q, { htu: `https://evil.example${q.path}` }))),
      ['X-Forwarded-Host', 'evil.example'],
      ['X-Forwarded-Proto', 'https'],
      ['Forwarded', 'proto=https;host=evil.example'],
    ],
    status: 401,
    wwwAuthenticate: proofError(WRONG_URI),
  },
  {
    name: 'takes the origin from the trusted proxy headers when configured',
    validator: 'proxy',
    headers: async (r) => [
      ...(await withProof(r, (q) => good(q, { htu: `https://public.example${q.path}` }))),
      ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-Host', 'public.example'],
    ],
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'reads the last X-Forwarded-Host value, the one the nearest proxy wrote',
    validator: 'proxy',
    headers: async (r) => [
      ...(await withProof(r, (q) => good(q, { htu: `https://evil.example${q.path}` }))),
      ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-Host', 'evil.example, public.example'],
    ],
    status: 401,
    wwwAuthenticate: proofError(WRONG_URI),
  },
  {
    name: 'refuses a proof when the trusted proxy headers are missing',
    validator: 'proxy',
    headers: (r) => withProof(r, good),
    status: 401,
    wwwAuthenticate: proofError('the URI of this request cannot be established'),
  },
  {
    name: 'refuses a proof whose ath is of another token',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { token: q.env.bearer })),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof ath does not match the access token'),
  },
  {
    name: 'refuses a proof without ath',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { token: undefined })),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof ath does not match the access token'),
  },
  {
    name: 'refuses a proof signed by another key than its jwk',
    validator: 'dpop',
    headers: (r) =>
      withProof(r, (q) =>
        makeRawProof(q.env.key, { token: q.env.token, htu: htu(q) }, q.env.otherKey),
      ),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof signature is invalid'),
  },
  {
    name: 'refuses a proof whose jwk is a private key',
    validator: 'dpop',
    headers: (r) =>
      withProof(r, (q) =>
        makeRawProof(q.env.key, {
          token: q.env.token,
          htu: htu(q),
          header: { jwk: q.env.key.privateJwk },
        }),
      ),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof jwk must be a public key'),
  },
  {
    name: 'refuses an unsigned proof (alg none)',
    validator: 'dpop',
    headers: (r) =>
      withProof(r, (q) => makeUnsignedProof(q.env.key, { token: q.env.token, htu: htu(q) })),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof alg is not accepted'),
  },
  {
    name: 'refuses an HMAC proof (HS256)',
    validator: 'dpop',
    headers: (r) =>
      withProof(r, (q) => makeHmacProof(q.env.key, { token: q.env.token, htu: htu(q) })),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof alg is not accepted'),
  },
  {
    name: 'refuses a proof whose iat is too old',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { iat: nowSeconds() - 600 })),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof is too old (iat)'),
  },
  {
    name: 'refuses a proof whose iat is in the future',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { iat: nowSeconds() + 600 })),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof was issued in the future (iat)'),
  },
  {
    name: 'refuses a proof made for another method',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { htm: 'POST' })),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof htm is not the method of this request'),
  },
  {
    name: 'asks for a nonce (use_dpop_nonce) when the proof has none, and provides it',
    validator: 'nonce',
    headers: (r) => withProof(r, good),
    status: 401,
    wwwAuthenticate: nonceError('a DPoP nonce is required'),
    nonce: true,
  },
  {
    name: 'refuses a stale nonce with use_dpop_nonce and a fresh one',
    validator: 'nonce',
    headers: (r) =>
      withProof(r, (q) => good(q, { nonce: nonces.current(nowSeconds() - 3 * NONCE_LIFETIME) })),
    status: 401,
    wwwAuthenticate: nonceError('the DPoP nonce is not valid or no longer valid'),
    nonce: true,
  },
  {
    name: 'refuses a nonce made with another secret',
    validator: 'nonce',
    headers: (r) =>
      withProof(r, (q) =>
        good(q, {
          nonce: createNonceSource(Buffer.alloc(32, 7), NONCE_LIFETIME).current(nowSeconds()),
        }),
      ),
    status: 401,
    wwwAuthenticate: nonceError('the DPoP nonce is not valid or no longer valid'),
    nonce: true,
  },
  {
    name: 'accepts the current nonce',
    validator: 'nonce',
    headers: (r) => withProof(r, (q) => good(q, { nonce: nonces.current(nowSeconds()) })),
    status: 200,
    wwwAuthenticate: undefined,
    nonce: false,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'accepts the previous nonce and sends the new one (rotation)',
    validator: 'nonce',
    headers: (r) =>
      withProof(r, (q) => good(q, { nonce: nonces.current(nowSeconds() - NONCE_LIFETIME) })),
    status: 200,
    wwwAuthenticate: undefined,
    nonce: true,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'refuses a DPoP-bound token presented as Bearer',
    validator: 'dpop',
    headers: (r) => [['Authorization', `Bearer ${r.env.token}`]],
    status: 401,
    wwwAuthenticate: bearerTokenError(AS_BEARER),
  },
  {
    name: 'refuses a DPoP-bound token presented as Bearer even with a good proof, cached or not',
    validator: 'dpop',
    warm: true,
    headers: async (r) => [
      ['Authorization', `Bearer ${r.env.token}`],
      ['DPoP', await good(r)],
    ],
    status: 401,
    wwwAuthenticate: bearerTokenError(AS_BEARER),
  },
  {
    name: 'treats a proof without a token as no credentials',
    validator: 'dpop',
    headers: async (r) => [['DPoP', await good(r)]],
    status: 401,
    wwwAuthenticate: BOTH_BARE,
  },
  {
    name: 'refuses a DPoP token without a proof',
    validator: 'dpop',
    headers: (r) => [['Authorization', `DPoP ${r.env.token}`]],
    status: 401,
    wwwAuthenticate: proofError('the request carries no DPoP proof'),
  },
  {
    name: 'refuses a cached DPoP token without a proof',
    validator: 'dpop',
    warm: true,
    headers: (r) => [['Authorization', `DPoP ${r.env.token}`]],
    status: 401,
    wwwAuthenticate: proofError('the request carries no DPoP proof'),
  },
  {
    name: 'refuses two DPoP headers',
    validator: 'dpop',
    headers: async (r) => [...(await withProof(r, good)), ['DPoP', await good(r)]],
    status: 401,
    wwwAuthenticate: proofError('the request carries more than one DPoP header'),
  },
  {
    name: 'refuses an access token sent as the proof',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => q.env.token),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof typ must be dpop+jwt'),
  },
  {
    name: 'refuses a proof typed as an access token',
    validator: 'dpop',
    headers: (r) => withProof(r, (q) => good(q, { header: { typ: 'at+jwt' } })),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof typ must be dpop+jwt'),
  },
  {
    name: 'refuses a proof made with another key than the token is bound to',
    validator: 'dpop',
    headers: (r) =>
      withProof(r, (q) => makeProof(q.env.otherKey, { token: q.env.token, htu: htu(q) })),
    status: 401,
    wwwAuthenticate: proofError('the DPoP proof key is not the key the token is bound to'),
  },
  {
    name: 'refuses an unbound token with the DPoP scheme',
    validator: 'dpop',
    headers: (r) =>
      withProof(r, (q) => makeProof(q.env.key, { token: q.env.bearer, htu: htu(q) }), r.env.bearer),
    status: 401,
    wwwAuthenticate: dpopTokenError(
      'the token is not bound to a DPoP key (cnf.jkt) and cannot be used with the DPoP scheme',
    ),
  },
  {
    name: 'accepts DPoP when it is required',
    validator: 'required',
    headers: (r) => withProof(r, good),
    status: 200,
    wwwAuthenticate: undefined,
    body: { subject: SUBJECT, jkt: 'KEY' },
  },
  {
    name: 'treats Bearer credentials as none when DPoP is required',
    validator: 'required',
    headers: (r) => [['Authorization', `Bearer ${r.env.bearer}`]],
    status: 401,
    wwwAuthenticate: DPOP_BARE,
  },
  ...MTLS_CASES(),
]

/** The certificate-bound rows (RFC 8705 §3), the certificate from a trusted proxy's header. */
function MTLS_CASES(): DpopCase[] {
  const ok = { subject: SUBJECT, jkt: null, x5t: 'CERT' } as const
  return [
    {
      name: 'accepts a certificate-bound token as Bearer with its certificate (RFC 9440 form)',
      validator: 'mtls',
      headers: (r) => [
        ['Authorization', `Bearer ${r.env.certToken}`],
        [CERT_HEADER, clientCert(r.env.certificate)],
      ],
      status: 200,
      wwwAuthenticate: undefined,
      body: ok,
    },
    {
      name: 'accepts the certificate as a URL-encoded PEM (nginx, AWS ALB)',
      validator: 'mtls',
      headers: (r) => [
        ['Authorization', `Bearer ${r.env.certToken}`],
        [CERT_HEADER, encodeURIComponent(r.env.certificate.certificate)],
      ],
      status: 200,
      wwwAuthenticate: undefined,
      body: ok,
    },
    {
      name: 'accepts Entra ID’s MTLS_POP presentation with the certificate',
      validator: 'mtls',
      headers: (r) => [
        ['Authorization', `MTLS_POP ${r.env.certToken}`],
        [CERT_HEADER, clientCert(r.env.certificate)],
      ],
      status: 200,
      wwwAuthenticate: undefined,
      body: ok,
    },
    {
      name: 'refuses a certificate-bound token without a client certificate',
      validator: 'mtls',
      headers: (r) => [['Authorization', `Bearer ${r.env.certToken}`]],
      status: 401,
      wwwAuthenticate: bearerOnlyError(MISSING_CERT),
    },
    {
      name: 'refuses a certificate-bound token with another client certificate',
      validator: 'mtls',
      headers: (r) => [
        ['Authorization', `Bearer ${r.env.certToken}`],
        [CERT_HEADER, clientCert(r.env.otherCertificate)],
      ],
      status: 401,
      wwwAuthenticate: bearerOnlyError(WRONG_CERT),
    },
    {
      name: 'refuses a cached certificate-bound token with another client certificate',
      validator: 'mtls',
      warm: 'certificate',
      headers: (r) => [
        ['Authorization', `MTLS_POP ${r.env.certToken}`],
        [CERT_HEADER, clientCert(r.env.otherCertificate)],
      ],
      status: 401,
      wwwAuthenticate: bearerOnlyError(WRONG_CERT),
    },
    {
      name: 'refuses a certificate header sent twice',
      validator: 'mtls',
      headers: (r) => [
        ['Authorization', `Bearer ${r.env.certToken}`],
        [CERT_HEADER, clientCert(r.env.certificate)],
        [CERT_HEADER, clientCert(r.env.certificate)],
      ],
      status: 401,
      wwwAuthenticate: bearerOnlyError(MISSING_CERT),
    },
    {
      name: 'refuses an unbound token with the MTLS_POP scheme',
      validator: 'mtls',
      headers: (r) => [
        ['Authorization', `MTLS_POP ${r.env.bearer}`],
        [CERT_HEADER, clientCert(r.env.certificate)],
      ],
      status: 401,
      wwwAuthenticate: bearerOnlyError(
        'the token is not bound to a client certificate (cnf x5t#S256) and cannot be used with the MTLS_POP scheme',
      ),
    },
    {
      name: 'refuses a DPoP-bound token where only certificates bind',
      validator: 'mtls',
      headers: (r) => [
        ['Authorization', `Bearer ${r.env.token}`],
        [CERT_HEADER, clientCert(r.env.certificate)],
      ],
      status: 401,
      wwwAuthenticate: bearerOnlyError(AS_BEARER),
    },
    {
      name: 'refuses a certificate-bound token where certificate binding is off',
      validator: 'dpop',
      headers: (r) => [
        ['Authorization', `Bearer ${r.env.certToken}`],
        [CERT_HEADER, clientCert(r.env.certificate)],
      ],
      status: 401,
      wwwAuthenticate: bearerTokenError(AS_BEARER),
    },
  ]
}

/** An answer as the table checks it. */
export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

/**
 * Sends one request with raw header lines (a repeated name is sent as separate lines) over
 * node:http, so no client joins or rewrites them.
 */
export function sendRaw(url: string, method: string, headers: Headers): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // With raw header lines, Node adds no Host of its own.
    const lines = headers.some(([name]) => name.toLowerCase() === 'host')
      ? [...headers]
      : [['Host', new URL(url).host] as [string, string], ...headers]
    // A request without a body says so (Node would send a chunked POST otherwise).
    if (method !== 'GET') lines.push(['Content-Length', '0'])
    const req = httpRequest(url, { method, headers: lines.flat(), timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      )
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    req.end()
  })
}

/**
 * Runs one case against a server whose `/{validator}/me` is at `baseUrl(validator)`: the warm-up
 * or first request when the case has one, then the request whose answer is checked.
 */
export async function runDpopCase(
  baseUrl: (validator: DpopValidatorName) => string,
  env: DpopCaseEnv,
  testCase: DpopCase,
): Promise<void> {
  const base = baseUrl(testCase.validator)
  const path = `/${testCase.validator}/me`
  const request: CaseRequest = { env, path, host: new URL(base).host }
  const method = testCase.method ?? 'GET'
  if (testCase.warm !== undefined) {
    const first = await sendRaw(
      `${base}${path}`,
      'GET',
      testCase.warm === true
        ? [
            ['Authorization', `DPoP ${env.token}`],
            [
              'DPoP',
              await makeProof(env.key, { token: env.token, htu: `${PUBLIC_ORIGIN}${path}` }),
            ],
          ]
        : [
            ['Authorization', `Bearer ${env.certToken}`],
            [CERT_HEADER, clientCert(env.certificate)],
          ],
    )
    expect(first.status).toBe(200)
  }
  const headers = await testCase.headers(request)
  if (testCase.twice === true) {
    const first = await sendRaw(`${base}${path}`, method, headers)
    expect(first.status).toBe(200)
  }
  const res = await sendRaw(`${base}${path}`, method, headers)
  expect({ status: res.status, wwwAuthenticate: res.headers['www-authenticate'] }).toEqual({
    status: testCase.status,
    wwwAuthenticate: testCase.wwwAuthenticate,
  })
  if (testCase.nonce !== undefined) {
    expect(res.headers['dpop-nonce'] !== undefined).toBe(testCase.nonce)
    if (testCase.nonce) {
      expect(nonces.check(res.headers['dpop-nonce'] as string, nowSeconds())).toBe('current')
    }
  }
  if (testCase.body !== undefined) {
    const { jkt } = testCase.body
    expect(JSON.parse(res.text)).toEqual({
      ...testCase.body,
      jkt: jkt === 'KEY' ? env.key.jkt : jkt,
      x5t:
        testCase.body.x5t === 'CERT'
          ? createHash('sha256').update(env.certificate.der).digest('base64url')
          : null,
    })
  }
  expect(res.text).not.toContain(env.token)
  expect(res.text).not.toContain(env.certToken)
}
