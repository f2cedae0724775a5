/**
 * The verification pipeline: one list of named steps that `createValidator` runs, stopping at
 * the first failure, and that `inspectToken` runs one by one, collecting every result. There is
 * no second copy of any rule: a step is the rule.
 *
 *   parse (token.ts) → header rules → claim rules → caller rules → key → key issuer → signature
 *
 * Each step reads the state of the token (parsed header and claims, the time, what earlier steps
 * found) and throws its rejection; only waiting is asynchronous (a key fetch, an issuer predicate
 * that answers with a promise). Steps that cannot apply with the options (no `maxTokenAge`, no
 * `allowedClients`, ...) say why, so the validator leaves them out once, at creation, and
 * `inspectToken` reports them as skipped with that reason.
 */

import type { Scheme } from './authorization.js'
import {
  checkAllowedClient,
  checkClaimsRule,
  checkPermissions,
  readAuthInfo,
} from './caller-rules.js'
import { checkCertificateBinding } from './certificate-binding.js'
import type { ChallengeContext } from './challenge.js'
import { checkDpopProof, replayKey, type VerifiedProof } from './dpop.js'
import {
  BearerGuardError,
  InvalidDpopProofError,
  InvalidTokenError,
  ServiceUnavailableError,
} from './errors.js'
import type { KeySource, VerificationKey } from './jwks.js'
import type { ResolvedDpopOptions, ResolvedOptions } from './options.js'
import { type RequestLike, readHeader, readProxyOrigin, readRequestUri } from './request.js'
import {
  checkAlgorithm,
  checkAudience,
  checkConfirmation,
  checkCritical,
  checkExpiry,
  checkIssuedAt,
  checkIssuer,
  checkKeyId,
  checkMaxAge,
  checkNotBefore,
  checkRequiredClaims,
  checkSignature,
  checkSubject,
  checkTokenType,
  type ParsedToken,
} from './token.js'
import type { AuthInfo, TokenClaims } from './types.js'

/**
 * The steps of the pipeline, in the order the validator makes them:
 *
 * - `format`: strict compact JWS, canonical base64url, JSON objects (RFC 7515 §7.1), length;
 * - `alg`, `kid`, `typ`, `crit`: the protected header (RFC 7515 §4.1, RFC 8725 §3.1, §3.11);
 * - `iss`, `aud`, `exp`, `nbf`, `iat`, `max_age`, `sub`, `required_claims`: the claims
 *   (RFC 7519 §4.1, RFC 9068 §4), with the Entra ID tenant and version rules inside `iss`;
 *   `cnf`: a token bound to a key or certificate is never accepted as Bearer (RFC 9449 §7.2);
 * - `permission_claims`, `client`, `permissions`, `claims_rule`: `scp`/`scope`/`roles` shapes,
 *   `allowedClients`, `requirePermissions` and `validateClaims` (the Entra ID tenant allow-list);
 * - `key`, `key_issuer`, `signature`: a key of the key set found by `kid` and `alg`, its
 *   `issuer` member (Entra ID), and the signature itself.
 */
export type CheckName =
  | 'format'
  | 'alg'
  | 'kid'
  | 'typ'
  | 'crit'
  | 'iss'
  | 'aud'
  | 'exp'
  | 'nbf'
  | 'iat'
  | 'max_age'
  | 'sub'
  | 'cnf'
  | 'required_claims'
  | 'permission_claims'
  | 'client'
  | 'permissions'
  | 'claims_rule'
  | 'key'
  | 'key_issuer'
  | 'signature'
  | 'dpop_proof'
  | 'dpop_replay'
  | 'certificate'

/** The request a token came with, for the binding steps: read only when a step needs it. */
export interface RequestContext {
  readonly request: RequestLike
  /** The request target as the client sent it, when the adapter knows it better than the request. */
  readonly target: string | undefined
}

/** What the steps know about one token as they run. */
export interface TokenState {
  readonly token: string
  readonly parsed: ParsedToken
  /** Seconds since the epoch. */
  readonly now: number
  readonly options: ResolvedOptions
  readonly context: ChallengeContext
  readonly keys: KeySource
  /** Set by `permission_claims`. */
  auth: AuthInfo | undefined
  /** Set by `key`. */
  key: VerificationKey | undefined
  /** The answer of an issuer predicate that returned a promise, awaited before the caller rules. */
  pending: Promise<void> | undefined
  /** The scheme the token came with: `DPoP` needs a proof. */
  readonly scheme: Scheme
  /** The request, for the binding steps; `undefined` when a token is verified on its own. */
  readonly request: RequestContext | undefined
  /** Set by `dpop_proof`. */
  proof: VerifiedProof | undefined
  /** Response headers the decision carries (`DPoP-Nonce`). */
  headers: Record<string, string> | undefined
}

/** The groups of steps: where the validator may have to wait, and which rejections `describeRejection` words. */
export type StepGroup = 'header' | 'claims' | 'caller' | 'key' | 'binding'

/** One named step of the pipeline. */
export interface Step {
  readonly name: CheckName
  readonly group: StepGroup
  /** Why the step does not apply with these options; `undefined` when it does. */
  readonly skip?: (options: ResolvedOptions) => string | undefined
  /** Throws the rejection; returns a promise only when it has to wait. */
  readonly run: (state: TokenState) => void | Promise<void>
}

const KEY_ISSUER_MISMATCH = 'the signing key of the token belongs to another issuer'

function badSignature(): InvalidTokenError {
  return new InvalidTokenError('the token signature is invalid', { reason: 'bad_signature' })
}

/** Every step after parsing, in the validator's order. */
export const STEPS: readonly Step[] = Object.freeze([
  { name: 'alg', group: 'header', run: (s) => checkAlgorithm(s.parsed.header, s.options) },
  { name: 'kid', group: 'header', run: (s) => checkKeyId(s.parsed.header) },
  { name: 'typ', group: 'header', run: (s) => checkTokenType(s.parsed.header, s.options) },
  { name: 'crit', group: 'header', run: (s) => checkCritical(s.parsed.header) },
  {
    name: 'iss',
    group: 'claims',
    run: (s) => {
      s.pending = checkIssuer(s.parsed.claims, s.options)
    },
  },
  { name: 'aud', group: 'claims', run: (s) => checkAudience(s.parsed.claims, s.options) },
  { name: 'exp', group: 'claims', run: (s) => checkExpiry(s.parsed.claims, s.options, s.now) },
  { name: 'nbf', group: 'claims', run: (s) => checkNotBefore(s.parsed.claims, s.options, s.now) },
  { name: 'iat', group: 'claims', run: (s) => checkIssuedAt(s.parsed.claims, s.options, s.now) },
  {
    name: 'max_age',
    group: 'claims',
    skip: (options) => (options.maxTokenAge === undefined ? 'no maxTokenAge set' : undefined),
    run: (s) => checkMaxAge(s.parsed.claims, s.options, s.now),
  },
  { name: 'sub', group: 'claims', run: (s) => checkSubject(s.parsed.claims) },
  {
    name: 'cnf',
    group: 'claims',
    run: (s) =>
      checkConfirmation(s.parsed.claims, s.scheme, s.options.certificateBinding !== undefined),
  },
  {
    name: 'required_claims',
    group: 'claims',
    skip: (options) => (options.requiredClaims.length === 0 ? 'none set' : undefined),
    run: (s) => checkRequiredClaims(s.parsed.claims, s.options),
  },
  {
    name: 'permission_claims',
    group: 'caller',
    run: (s) => {
      s.auth = readAuthInfo(s.token, s.parsed.header, s.parsed.claims, s.context, s.options.name)
    },
  },
  {
    name: 'client',
    group: 'caller',
    skip: (options) => (options.allowedClients === undefined ? 'no allowedClients set' : undefined),
    run: (s) => checkAllowedClient(s.auth as AuthInfo, s.options),
  },
  {
    name: 'permissions',
    group: 'caller',
    skip: (options) => (options.requirePermissions ? undefined : 'requirePermissions is off'),
    run: (s) => checkPermissions(s.auth as AuthInfo, s.options),
  },
  {
    name: 'claims_rule',
    group: 'caller',
    skip: (options) =>
      options.validateClaims === undefined ? 'no validateClaims rule set' : undefined,
    run: (s) => checkClaimsRule(s.auth as AuthInfo, s.options),
  },
  {
    name: 'key',
    group: 'key',
    run: (s) => {
      const found = s.keys.peek(s.parsed.header)
      if (found !== undefined) {
        s.key = found
        return undefined
      }
      return s.keys.getKey(s.parsed.header).then((key) => {
        s.key = key
      })
    },
  },
  {
    name: 'key_issuer',
    group: 'key',
    skip: (options) =>
      options.signingKeyIssuer === undefined ? 'no signingKeyIssuer rule set' : undefined,
    run: (s) => {
      const { issuer } = (s.key as VerificationKey).entry.jwk
      if (typeof issuer !== 'string') return
      const fits = s.options.signingKeyIssuer as NonNullable<ResolvedOptions['signingKeyIssuer']>
      if (!fits(issuer, s.parsed.claims)) {
        throw new InvalidTokenError(KEY_ISSUER_MISMATCH, { reason: 'wrong_issuer', claim: 'iss' })
      }
    },
  },
  {
    name: 'signature',
    group: 'key',
    run: (s) => {
      const valid = checkSignature(s.token, s.parsed, (s.key as VerificationKey).verifier)
      if (valid === true) return undefined
      // WebCrypto (crypto-web.ts) answers with a promise.
      if (valid === false) throw badSignature()
      return valid.then((answer) => {
        if (answer !== true) throw badSignature()
      })
    },
  },
] satisfies Step[])

/** The current nonce, when nonces are on, for the answer to a DPoP request. */
function nonceHeader(dpop: ResolvedDpopOptions, now: number): Record<string, string> | undefined {
  return dpop.nonce === undefined ? undefined : { 'DPoP-Nonce': dpop.nonce.current(now) }
}

/** The error, with the current nonce in its headers when nonces are on. */
function withNonce(error: unknown, dpop: ResolvedDpopOptions, now: number): unknown {
  if (dpop.nonce !== undefined && error instanceof BearerGuardError) {
    error.headers['DPoP-Nonce'] = dpop.nonce.current(now)
  }
  return error
}

/** A proof's `jti` seen before (RFC 9449 §11.1). */
function replayedProof(dpop: ResolvedDpopOptions, now: number): unknown {
  const error = new InvalidDpopProofError('the DPoP proof was used before', {
    reason: 'replayed_proof',
    claim: 'jti',
  })
  return withNonce(error, dpop, now)
}

/** The replay store threw or rejected: the proof can be neither accepted nor refused. */
function replayStoreUnavailable(cause: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError('the DPoP replay store cannot be asked now', 1, {
    reason: 'replay_store_unavailable',
    cause,
  })
}

/**
 * The per-request steps that prove a bound token's binding (RFC 9449 §4.3, §11.1): they run
 * after the signature, and again for every request that repeats a token from the
 * verified-token cache, which may skip the token's signature but never its proof.
 */
export const BINDING_STEPS: readonly Step[] = Object.freeze([
  {
    name: 'dpop_proof',
    group: 'binding',
    skip: (options) => (options.dpop === undefined ? 'DPoP is off' : undefined),
    run: (s) => {
      if (s.scheme !== 'DPoP') return
      const dpop = s.options.dpop as ResolvedDpopOptions
      const context = s.request
      if (context === undefined) {
        throw new InvalidDpopProofError('a DPoP token needs the request its proof was made for', {
          reason: 'missing_proof',
        })
      }
      const { request, target } = context
      const origin =
        dpop.trustedProxyHeaders === undefined
          ? dpop.publicOrigin
          : readProxyOrigin(request, dpop.trustedProxyHeaders)
      try {
        s.proof = checkDpopProof(
          readHeader(request, 'dpop'),
          s.token,
          s.parsed.claims,
          { method: request.method, uri: readRequestUri(request, origin, target) },
          s.options,
          s.now,
        )
      } catch (error) {
        // Every DPoP rejection carries the current nonce, so the client's retry can use it.
        throw withNonce(error, dpop, s.now)
      }
      if (s.proof.staleNonce) s.headers = nonceHeader(dpop, s.now)
    },
  },
  {
    name: 'dpop_replay',
    group: 'binding',
    skip: (options) => (options.dpop === undefined ? 'DPoP is off' : undefined),
    run: (s) => {
      const proof = s.proof
      if (proof === undefined) return undefined
      const dpop = s.options.dpop as ResolvedDpopOptions
      // Acceptable from iat - tolerance (future) to iat + maxProofAge + tolerance.
      const ttl = dpop.maxProofAge + 2 * s.options.clockTolerance
      let fresh: boolean | Promise<boolean>
      try {
        fresh = dpop.replayStore.add(replayKey(proof), ttl)
      } catch (cause) {
        throw replayStoreUnavailable(cause)
      }
      if (fresh === true) return undefined
      if (fresh === false) throw replayedProof(dpop, s.now)
      const now = s.now
      return Promise.resolve(fresh).then(
        (answer) => {
          if (answer !== true) throw replayedProof(dpop, now)
        },
        (cause) => {
          throw replayStoreUnavailable(cause)
        },
      )
    },
  },
  {
    name: 'certificate',
    group: 'binding',
    skip: (options) =>
      options.certificateBinding === undefined ? 'certificateBinding is off' : undefined,
    run: (s) =>
      checkCertificateBinding(
        s.parsed.claims,
        s.request?.request,
        s.options.certificateBinding?.header,
      ),
  },
] satisfies Step[])

/**
 * A claim or caller rejection in the words of `describeRejection` (the Entra ID profile's hints),
 * when it has better words; any other error as it is.
 */
export function explainRejection(
  error: unknown,
  claims: TokenClaims,
  options: ResolvedOptions,
): unknown {
  if (!(error instanceof InvalidTokenError) || options.describeRejection === undefined) return error
  const description = options.describeRejection(error.reason, claims)
  if (description === undefined || description === error.message) return error
  return new InvalidTokenError(description, {
    reason: error.reason,
    claim: error.claim,
    cause: error.cause ?? error,
  })
}

/**
 * The rejection as a caller whose signature has not been verified may read it: the same error
 * when its description holds no clock offset, else one that says only what failed, keeping the
 * full description as `detail` (for `onEvent`) and the original as `cause`.
 */
export function withoutSecrets(error: InvalidTokenError): InvalidTokenError {
  if (error.reason !== 'expired') return error
  return new InvalidTokenError('the token has expired', {
    reason: error.reason,
    claim: error.claim,
    cause: error,
    detail: error.message,
  })
}

/** Whether `describeRejection` words the rejections of a group (the claim and caller rules). */
export function isExplained(group: StepGroup): boolean {
  return group === 'claims' || group === 'caller'
}

/** The steps that apply with `options`, in order: what a validator runs for every token. */
export function activeSteps(options: ResolvedOptions): readonly Step[] {
  return STEPS.concat(BINDING_STEPS).filter((step) => step.skip?.(options) === undefined)
}
