/**
 * The plain alternatives to src/dpop.ts's memos, for bench/tricks.ts: `checkDpopProof` and the
 * pipeline's `dpop_proof` step again, with one memo at a time replaced by the work it saves.
 *
 * - `header`: every proof's header decoded and parsed, its `jwk` hashed (RFC 7638), imported and
 *   given a verifier, where the product keeps them by the header's text;
 * - `htu`: the request's URI and the proof's `htu` normalised for every request (no identity
 *   shortcut), where the product keeps recent normal forms.
 *
 * The rules are the product's, in its order: only the memo differs. The step is written for
 * `dpop.publicOrigin` without nonces, the options of the tricks' DPoP path.
 */
import {
  accessTokenHash,
  knownProofHeader,
  normalizeHtuCached,
  onlyProof,
  readProofKey,
  rememberProofHeader,
  type VerifiedProof,
} from '../../src/dpop.js'
import { InvalidDpopProofError, type RejectionReason } from '../../src/errors.js'
import { normalizeHtu } from '../../src/htu.js'
import type { ResolvedDpopOptions } from '../../src/options.js'
import type { Step, TokenState } from '../../src/pipeline.js'
import { readHeader, readRequestPath } from '../../src/request.js'
import { checkSignature, type ParsedToken, parseToken } from '../../src/token.js'

export type ProofMemo = 'header' | 'htu'

const MAX_JTI_LENGTH = 256
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

function fail(reason: RejectionReason, description: string, claim?: string): never {
  throw new InvalidDpopProofError(description, { reason, claim })
}

/** The `dpop_proof` step with `plain`'s memo replaced by its work. */
export function plainProofStep(plain: ProofMemo): Step['run'] {
  const normal = plain === 'htu' ? normalizeHtu : normalizeHtuCached

  function check(
    s: TokenState,
    request: NonNullable<TokenState['request']>['request'],
    uri: string | undefined,
  ): VerifiedProof {
    const dpop = s.options.dpop as ResolvedDpopOptions
    const proof = onlyProof(readHeader(request, 'dpop'))
    const headerText = proof.slice(0, Math.max(proof.indexOf('.'), 0))
    const known = plain === 'header' ? undefined : knownProofHeader(headerText)
    let parsed: ParsedToken
    try {
      parsed = parseToken(proof, s.options, known?.header)
    } catch {
      fail('malformed_proof', 'the DPoP proof is not a well-formed JWT')
    }
    const { header } = parsed
    const payload = parsed.claims as unknown as Record<string, unknown>
    if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'dpop+jwt') {
      fail('malformed_proof', 'the DPoP proof typ must be dpop+jwt', 'typ')
    }
    if (typeof header.alg !== 'string' || !dpop.algorithms.has(header.alg)) {
      fail('unsupported_proof_algorithm', 'the DPoP proof alg is not accepted', 'alg')
    }
    if (
      header.crit !== undefined ||
      header.b64 !== undefined ||
      header.zip !== undefined ||
      header.enc !== undefined
    ) {
      fail('malformed_proof', 'the DPoP proof header uses an extension this API does not process')
    }
    const jwk = header.jwk
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
      fail('bad_proof_key', 'the DPoP proof has no jwk header', 'jwk')
    }
    const members = jwk as Record<string, unknown>
    for (const name of PRIVATE_MEMBERS) {
      if (members[name] !== undefined)
        fail('bad_proof_key', 'the DPoP proof jwk must be a public key', 'jwk')
    }
    // Off: made for this proof and dropped. The other memos' sides keep the product's table.
    const { jkt, verifier } =
      known ??
      (plain === 'header'
        ? readProofKey(header, members)
        : rememberProofHeader(headerText, header, members))
    if (jkt === undefined || verifier === undefined) {
      fail('bad_proof_key', 'the DPoP proof jwk is not a usable key for its alg', 'jwk')
    }
    if (checkSignature(proof, parsed, verifier) !== true) {
      fail('bad_proof_signature', 'the DPoP proof signature is invalid')
    }
    const { jti, htm, htu, iat, ath } = payload
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
      fail('malformed_proof', 'the DPoP proof has no valid jti claim', 'jti')
    }
    if (typeof htm !== 'string' || htm !== request.method) {
      fail('wrong_proof_method', 'the DPoP proof htm is not the method of this request', 'htm')
    }
    if (uri === undefined)
      fail('unknown_origin', 'the URI of this request cannot be established', 'htu')
    if ((plain === 'htu' || htu !== uri) && normal(htu) !== uri) {
      fail('wrong_proof_uri', 'the DPoP proof htu is not the URI of this request', 'htu')
    }
    if (typeof iat !== 'number' || !Number.isFinite(iat)) {
      fail('malformed_proof', 'the DPoP proof has no valid iat claim', 'iat')
    }
    if (iat > s.now + s.options.clockTolerance) {
      fail('proof_in_future', 'the DPoP proof was issued in the future (iat)', 'iat')
    }
    if (iat < s.now - dpop.maxProofAge - s.options.clockTolerance) {
      fail('stale_proof', 'the DPoP proof is too old (iat)', 'iat')
    }
    if (typeof ath !== 'string' || ath !== accessTokenHash(s.token)) {
      fail('wrong_proof_token', 'the DPoP proof ath does not match the access token', 'ath')
    }
    if ((s.parsed.claims.cnf as { jkt?: unknown } | undefined)?.jkt !== jkt) {
      fail('wrong_proof_key', 'the DPoP proof key is not the key the token is bound to', 'jkt')
    }
    return { jkt, jti, iat, staleNonce: false }
  }

  return (s) => {
    if (s.scheme !== 'DPoP') return
    const context = s.request as NonNullable<TokenState['request']>
    const { request, target } = context
    const origin = (s.options.dpop as ResolvedDpopOptions).publicOrigin
    const path = readRequestPath(request, target)
    s.proof = check(
      s,
      request,
      origin === undefined || path === undefined ? undefined : normal(origin + path),
    )
  }
}
