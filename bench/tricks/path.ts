/**
 * The synchronous request path of `createValidator` (src/validator.ts: `decide` → cache probe →
 * `parseAccessToken` → the pipeline's steps → the cache), rebuilt from the same internal modules so
 * that one part at a time can be swapped for a trick's plain alternative. Only what the tricks'
 * paths use is here: keys already loaded, no issuer predicate, no events, the default realm;
 * with `dpop`, the path of a validator that accepts DPoP (a bound token verified before is found
 * in the bound-token cache, and its proof checked by the binding steps again).
 * bench/tricks.ts times this path against the product's own `validator.decide` to show the two
 * cost the same.
 */
import {
  type AuthorizationInput,
  parseCredentialsUnchecked,
  peekBearerToken,
  peekCredentials,
} from '../../src/authorization.js'
import { DEFAULT_CHALLENGE_CONTEXT } from '../../src/challenge.js'
import { type Accepted, acceptedFor, type Decision, type Rejected } from '../../src/decision.js'
import { BearerGuardError } from '../../src/errors.js'
import { createKeySourceFor, type VerificationKey } from '../../src/jwks.js'
import { type ResolvedOptions, resolveOptions } from '../../src/options.js'
import {
  activeSteps,
  type CheckName,
  explainRejection,
  isExplained,
  type RequestContext,
  type Step,
  type TokenState,
} from '../../src/pipeline.js'
import { type RequestLike, readHeader } from '../../src/request.js'
import { checkConfirmation, type ParsedToken, parseAccessToken } from '../../src/token.js'
import { createTokenCache, type TokenCache } from '../../src/token-cache.js'
import type { AuthInfo } from '../../src/types.js'
import { type BenchKey, toJwks } from '../lib/keys.js'
import { AUDIENCE, ISSUER } from '../lib/tokens.js'

/** The parts a trick's plain alternative replaces; anything left out is the product's own. */
export interface PathParts {
  parse?: (token: unknown, options: ResolvedOptions) => ParsedToken
  /** Steps run in place of the pipeline's step of the same name. */
  steps?: Partial<Record<CheckName, Step['run']>>
  cache?: (maxEntries: number) => TokenCache
  /** Probe the cache with the strictly parsed token instead of `peekBearerToken`'s guess. */
  strictProbe?: boolean
  /** Makes the accepted decision in place of the product's `acceptedFor`. */
  accepted?: (auth: AuthInfo | undefined) => Accepted
  /** DPoP accepted (`dpop.publicOrigin`), Bearer too: requests take the validator's DPoP path. */
  dpop?: { publicOrigin: string }
}

/** `validator.decide(request)` of a validator with default options and static keys. */
export type DecidePath = (request: RequestLike) => Decision

const nowSeconds = () => Math.floor(Date.now() / 1000)

export async function createPath(key: BenchKey, parts: PathParts = {}): Promise<DecidePath> {
  const resolved = resolveOptions({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: toJwks(key),
    ...(parts.dpop === undefined ? {} : { dpop: parts.dpop }),
  })
  const { clockTolerance } = resolved
  const keys = createKeySourceFor(resolved)
  await keys.warmUp()
  const parse = parts.parse ?? parseAccessToken
  const makeAccepted = parts.accepted ?? acceptedFor
  const cache = (parts.cache ?? createTokenCache)(resolved.tokenCacheEntries)
  const boundCache = createTokenCache(resolved.tokenCacheEntries)
  const steps = activeSteps(resolved).map((step) => {
    const run = parts.steps?.[step.name]
    return run === undefined ? step : { ...step, run }
  })

  const bindingStart = steps.findIndex((step) => step.group === 'binding')

  function accept(state: TokenState): Accepted {
    const accepted = makeAccepted(state.auth as AuthInfo)
    const { nbf, iat, exp, cnf } = state.parsed.claims
    const notBefore = Math.max(nbf ?? Number.NEGATIVE_INFINITY, iat ?? Number.NEGATIVE_INFINITY)
    const entry = (state.key as VerificationKey).entry
    const into = cnf === undefined ? cache : boundCache
    into.set(state.token, accepted, entry, notBefore - clockTolerance, exp)
    return accepted
  }

  function runSteps(state: TokenState, from: number): void {
    for (let i = from; i < steps.length; i++) {
      const step = steps[i] as Step
      let waiting: void | Promise<void>
      try {
        waiting = step.run(state)
      } catch (error) {
        throw isExplained(step.group)
          ? explainRejection(error, state.parsed.claims, resolved)
          : error
      }
      if (waiting !== undefined) throw new Error('a step had to wait')
    }
  }

  function verifyToken(
    token: string,
    now: number,
    scheme: TokenState['scheme'] = 'Bearer',
    request?: RequestContext,
  ): Accepted {
    const state: TokenState = {
      token,
      parsed: parse(token, resolved) as ParsedToken,
      now,
      options: resolved,
      context: DEFAULT_CHALLENGE_CONTEXT,
      keys,
      auth: undefined,
      key: undefined,
      pending: undefined,
      scheme,
      request,
      proof: undefined,
      headers: undefined,
    }
    runSteps(state, 0)
    return accept(state)
  }

  /** A bound token from the cache: its binding proved again, its decision as it was. */
  function verifyBinding(
    cached: Accepted,
    token: string,
    now: number,
    scheme: TokenState['scheme'],
    request: RequestContext,
  ): Accepted {
    const auth = cached.auth as AuthInfo
    checkConfirmation(auth.claims, scheme, false)
    runSteps(
      {
        token,
        parsed: { header: auth.header, claims: auth.claims, signingInputEnd: -1 },
        now,
        options: resolved,
        context: DEFAULT_CHALLENGE_CONTEXT,
        keys,
        auth,
        key: undefined,
        pending: undefined,
        scheme,
        request,
        proof: undefined,
        headers: undefined,
      },
      bindingStart,
    )
    return cached
  }

  function decideToken(token: string, now: number): Decision {
    try {
      return verifyToken(token, now)
    } catch (error) {
      if (!(error instanceof BearerGuardError)) throw error
      return { auth: undefined, error, headers: undefined } satisfies Rejected
    }
  }

  function rejectedRequest(error: unknown): Rejected {
    if (!(error instanceof BearerGuardError)) throw error
    return { auth: undefined, error, headers: undefined }
  }

  function decidePeek(authorization: AuthorizationInput, now: number): Decision {
    const candidate = peekBearerToken(authorization)
    const hit = candidate === undefined ? undefined : cache.get(candidate, now)
    if (hit !== undefined) return hit
    let token: string | undefined
    try {
      token = parseCredentialsUnchecked(authorization, false)?.token
    } catch (error) {
      return rejectedRequest(error)
    }
    if (token === undefined) throw new Error('no credentials')
    return decideToken(token, now)
  }

  // The plain alternative to the peek: parse the header strictly, then probe the cache.
  function decideStrict(authorization: AuthorizationInput, now: number): Decision {
    let token: string | undefined
    try {
      token = parseCredentialsUnchecked(authorization, false)?.token
    } catch (error) {
      return rejectedRequest(error)
    }
    if (token === undefined) throw new Error('no credentials')
    return cache.get(token, now) ?? decideToken(token, now)
  }

  const schemes = { dpop: true, mtlsPop: false }

  // The DPoP path: the Bearer cache probed first (Bearer is accepted too), then the bound one.
  function decideBound(request: RequestLike, now: number): Decision {
    const authorization = readHeader(request, 'authorization')
    const candidate = peekBearerToken(authorization)
    const bearerHit = candidate === undefined ? undefined : cache.get(candidate, now)
    if (bearerHit !== undefined) return bearerHit
    const context: RequestContext = { request, target: undefined }
    try {
      const peeked = peekCredentials(authorization, schemes)
      const hit = peeked === undefined ? undefined : boundCache.get(peeked.token, now)
      if (peeked !== undefined && hit !== undefined) {
        return verifyBinding(hit, peeked.token, now, peeked.scheme, context)
      }
      const credentials = parseCredentialsUnchecked(authorization, schemes)
      if (credentials === undefined) throw new Error('no credentials')
      return verifyToken(credentials.token, now, credentials.scheme, context)
    } catch (error) {
      return rejectedRequest(error)
    }
  }

  if (parts.dpop !== undefined) return (request) => decideBound(request, nowSeconds())
  const decide = parts.strictProbe === true ? decideStrict : decidePeek
  return (request) => decide(readHeader(request, 'authorization'), nowSeconds())
}
