/**
 * Several issuers in one API: one validator over named issuer configurations (Entra ID workforce
 * plus Auth0, Entra plus a CIAM tenant...), each a full `createValidator` configuration with its
 * own key source, audience, clock and caller rules, key cache and events.
 *
 * The issuer is picked from the token's `iss` before any key work, and the picked configuration
 * then judges the request as it would alone (every check again, `iss` included): picking is a
 * choice of judge, never a verdict. An issuer no configuration owns is a 401 `invalid_token` that
 * costs no fetch. Which issuers a configuration owns:
 * - an `issuer` string or list: exactly those (one Map lookup);
 * - an `azureAd()` profile: the Entra ID issuers of its cloud for its tenant (any tenant when
 *   multi-tenant), decided from `iss` alone, once per distinct `iss`;
 * - any other predicate: whatever it accepts, asked per token (it may read the claims).
 *
 * Two configurations that own the same issuer are refused at creation, as far as can be told
 * then (a string or list, or the Entra ID profiles against each other and those); a predicate of
 * your own cannot be compared, and the first configuration that owns an issuer picks it.
 */
import {
  type AcceptedSchemes,
  type AuthorizationInput,
  checkTokenCharacters,
  missingCredentials,
  parseCredentialsUnchecked,
  peekCredentials,
} from './authorization.js'
import { type ChallengeContext, DEFAULT_CHALLENGE_CONTEXT } from './challenge.js'
import { ANONYMOUS, acceptedFor, type Decision, type Rejected } from './decision.js'
import { BearerGuardError, DEFAULT_REALM, InvalidTokenError } from './errors.js'
import { type BearerGuardEvent, emitEvent } from './events.js'
import type { ResolvedOptions, ValidatorOptions } from './options.js'
import { handOver } from './parsed-handover.js'
import { readHeader } from './request.js'
import { type ParsedToken, parseAccessToken } from './token.js'
import { tokenKeyOf } from './token-cache.js'
import type { AuthInfo, TokenClaims } from './types.js'
import {
  type AuthenticateOptions,
  cacheProbeOf,
  createValidator,
  type Validator,
} from './validator.js'

/**
 * How a configuration whose `issuer` is a predicate tells, from `iss` alone, which issuers are
 * its own. `matches` answers `undefined` while it cannot tell yet (an Entra ID domain tenant
 * before its id is known): `prepare()` then makes it able to, once (it may fetch; the overlap
 * check at creation never calls it). `examples` are issuers it owns, for that overlap check.
 */
export interface IssuerOwnership {
  /** Whether `iss` is this configuration's; `undefined` while it cannot tell yet. */
  readonly matches: (iss: string) => boolean | undefined
  /** Makes `matches` able to tell (once; it may fetch). */
  readonly prepare?: () => Promise<void>
  /** Issuers this configuration owns, for the overlap check at creation. */
  readonly examples: readonly string[]
  /**
   * Issuers of the shape this configuration may own once prepared (an Entra ID domain tenant's
   * issuers, with a stand-in tenant id): a configuration that owns these already owns every such
   * issuer, and would shadow this one, so the overlap check refuses the pair.
   */
  readonly possible?: readonly string[]
}

// A registered symbol, as the validator's own: a profile made by one build of bearer-guard is
// understood by the other.
const OWNERSHIP = Symbol.for('bearer-guard.issuer-ownership')

/**
 * Marks an issuer predicate with the issuers it owns from `iss` alone, so that a multi-issuer
 * validator picks its configuration once per distinct `iss` and can find overlaps at creation.
 * What `azureAd()` does. Returns `predicate` itself, marked.
 *
 * @typeParam F - the predicate's own type, kept.
 *
 * @example
 * ```ts
 * const issuer = withIssuerOwnership((iss) => iss.startsWith('https://id.example/'), {
 *   matches: (iss) => iss.startsWith('https://id.example/'),
 *   examples: ['https://id.example/t1'],
 * })
 * ```
 */
export function withIssuerOwnership<F extends (iss: string, claims: TokenClaims) => unknown>(
  predicate: F,
  ownership: IssuerOwnership,
): F {
  Object.defineProperty(predicate, OWNERSHIP, { value: Object.freeze({ ...ownership }) })
  return predicate
}

function ownershipOf(issuer: unknown): IssuerOwnership | undefined {
  return typeof issuer === 'function'
    ? (issuer as { [OWNERSHIP]?: IssuerOwnership })[OWNERSHIP]
    : undefined
}

/** Options of {@link createMultiIssuerValidator}. */
export interface MultiIssuerOptions {
  /**
   * One configuration per issuer, by a name of your choosing (reported as
   * `AuthInfo.issuerName`): plain options or `azureAd({...})`, each complete on its own.
   */
  issuers: Readonly<Record<string, ValidatorOptions>>
  /**
   * The realm of the challenges made before an issuer is picked (no credentials, malformed
   * credentials, an unknown issuer). Default: the configurations' realm when they all share one,
   * else `api`. Once picked, a configuration answers in its own terms.
   */
  realm?: string
  /** Receives `token_rejected` events for the rejections made before an issuer is picked. */
  onEvent?: (event: BearerGuardEvent) => void
}

/** A validator over several issuer configurations (see {@link createMultiIssuerValidator}). */
export interface MultiIssuerValidator extends Validator {
  /** The validator of each configuration, by name. */
  readonly issuers: ReadonlyMap<string, Validator>
}

interface Route {
  readonly name: string
  readonly validator: Validator
  /** Bearer tokens only (no DPoP, no certificate binding): a cache hit needs no request step. */
  readonly bearerOnly: boolean
  /** Whether the validator's verified-token cache holds a token (see cacheProbeOf). */
  readonly holds: (token: string) => boolean
}

/** A token accepted before, with its configuration and (Bearer only) the decision made. */
/**
 * A remembered acceptance. A class rather than an object literal: most are dropped young (one-off
 * tokens), some are kept, and V8 may allocate every later object of a literal that keeps some
 * straight in the old generation (see AuthRecord in caller-rules.ts).
 */
class Remembered {
  constructor(
    readonly token: string,
    readonly route: Route,
    readonly decision: Decision | undefined,
  ) {}
}

interface Matcher {
  readonly route: Route
  readonly ownership: IssuerOwnership
}

// Distinct issuers whose pick is remembered (an attacker can send any iss: bounded, emptied
// when full), and tokens remembered with the configuration that accepted them.
const MAX_REMEMBERED_ISSUERS = 1_000
const MAX_REMEMBERED_ISSUER_LENGTH = 512
const DEFAULT_REMEMBERED_TOKENS = 1_000
const MULTI_OPTION_NAMES = new Set(['issuers', 'realm', 'onEvent'])

function fail(message: string): never {
  throw new TypeError(message)
}

/** What each configuration owns, and the overlaps between them refused (see the file header). */
function compileRoutes(routes: readonly Route[]) {
  const exact = new Map<string, Route>()
  const matchers: Matcher[] = []
  const predicates: Route[] = []
  for (const route of routes) {
    const { issuers, issuerPredicate } = route.validator.options
    const ownership = ownershipOf(issuerPredicate)
    if (issuers !== undefined) {
      for (const iss of issuers) {
        const other = exact.get(iss)
        if (other !== undefined) {
          fail(`issuer "${iss}" is configured twice, by "${other.name}" and "${route.name}"`)
        }
        exact.set(iss, route)
      }
    } else if (ownership !== undefined) {
      matchers.push({ route, ownership })
    } else {
      predicates.push(route)
    }
  }
  for (const matcher of matchers) {
    const owned = [
      ...[...exact].map(([iss, route]) => ({ iss, route })),
      ...matchers.flatMap((other) =>
        other.ownership.examples.map((iss) => ({ iss, route: other.route })),
      ),
    ]
    for (const { iss, route } of owned) {
      if (route !== matcher.route && matcher.ownership.matches(iss) === true) {
        fail(`issuer "${iss}" is configured twice, by "${route.name}" and "${matcher.route.name}"`)
      }
    }
    for (const other of matchers) {
      if (other === matcher) continue
      for (const iss of other.ownership.possible ?? []) {
        if (matcher.ownership.matches(iss) === true) {
          fail(
            `"${matcher.route.name}" owns every issuer like "${iss}", so it would also take the tokens of "${other.route.name}" (a tenant named by its domain): narrow "${matcher.route.name}" (allowedTenants) or drop one`,
          )
        }
      }
    }
  }
  return { exact, matchers, predicates }
}

/** The challenge context of rejections made before an issuer is picked. */
function routerContext(realm: unknown, validators: readonly Validator[]): ChallengeContext {
  if (realm !== undefined) {
    if (typeof realm !== 'string' || realm === '' || !/^[\x20-\x7e]*$/.test(realm)) {
      fail('"realm" option must be a non-empty string of printable ASCII characters')
    }
    return realm === DEFAULT_REALM
      ? DEFAULT_CHALLENGE_CONTEXT
      : Object.freeze({ realm, schemes: DEFAULT_CHALLENGE_CONTEXT.schemes })
  }
  const first = (validators[0] as Validator).challengeContext
  const same = validators.every(
    (validator) => JSON.stringify(validator.challengeContext) === JSON.stringify(first),
  )
  return same ? first : DEFAULT_CHALLENGE_CONTEXT
}

/** A configuration's answer as a decision: its rejection is rendered and reported already. */
function asDecision(answer: Promise<AuthInfo | undefined>): Promise<Decision> {
  return answer.then(
    (auth) => (auth === undefined ? ANONYMOUS : acceptedFor(auth)),
    (error: unknown) => {
      if (!(error instanceof BearerGuardError)) throw error
      return { auth: undefined, error, headers: undefined }
    },
  )
}

/**
 * Creates one validator for an API that accepts tokens of several issuers, each with a complete
 * configuration of its own (plain options or `azureAd()`), by name. Every adapter, guard and
 * `warmUp()` takes it as it takes a `createValidator` result. The issuer is picked from the
 * token's `iss` before any key work (an unknown issuer is a 401 `invalid_token` without a fetch),
 * the picked configuration judges the request as it would alone, and `AuthInfo.issuerName` names
 * it. A repeated token finds its configuration again with one lookup. Two configurations that own
 * the same issuer are a `TypeError` (see the file header for what can be compared).
 *
 * @example
 * ```ts
 * const validator = createMultiIssuerValidator({
 *   issuers: {
 *     workforce: azureAd({ tenant: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId }),
 *     partners: { issuer: 'https://partners.eu.auth0.com/', audience: 'https://api.example.com/' },
 *   },
 * })
 * app.use(authenticate(validator)) // req.auth.issuerName: 'workforce' or 'partners'
 * ```
 */
export function createMultiIssuerValidator(options: MultiIssuerOptions): MultiIssuerValidator {
  if (typeof options !== 'object' || options === null) fail('options must be an object')
  for (const name of Object.keys(options)) {
    if (!MULTI_OPTION_NAMES.has(name)) fail(`unknown option "${name}"`)
  }
  const { issuers, onEvent } = options
  if (typeof issuers !== 'object' || issuers === null || Object.keys(issuers).length === 0) {
    fail('"issuers" option must be an object of issuer configurations by name')
  }
  if (onEvent !== undefined && typeof onEvent !== 'function') {
    fail('"onEvent" option must be a function')
  }
  const routes: Route[] = Object.entries(issuers).map(([name, entry]) => {
    if (typeof entry !== 'object' || entry === null) {
      fail(`"issuers.${name}" must be validator options`)
    }
    if (entry.name !== undefined && entry.name !== name) {
      fail(`"issuers.${name}" has the name "${entry.name}": leave it out, the key names it`)
    }
    try {
      const validator = createValidator({ ...entry, name })
      const { dpop, certificateBinding } = validator.options
      return {
        name,
        validator,
        bearerOnly: dpop === undefined && certificateBinding === undefined,
        holds: cacheProbeOf(validator),
      }
    } catch (error) {
      if (error instanceof TypeError) fail(`"issuers.${name}": ${error.message}`)
      throw error
    }
  })
  const validators = routes.map((route) => route.validator)
  const { exact, matchers, predicates } = compileRoutes(routes)
  const context = routerContext(options.realm, validators)
  const realm = context.realm
  const schemes: AcceptedSchemes = {
    dpop: validators.some((validator) => validator.options.dpop !== undefined),
    mtlsPop: validators.some((validator) => validator.options.certificateBinding !== undefined),
  }
  // Read the token for its iss: as long as the longest any configuration takes.
  const parsing = {
    maxTokenLength: Math.max(...validators.map((validator) => validator.options.maxTokenLength)),
  } as ResolvedOptions

  // Issuers picked through an ownership matcher: the route, or null for none of them.
  const picked = new Map<string, Route | null>()
  // Accepted tokens and their route: a repeated token is routed with one lookup.
  const rememberedLimit = Math.max(
    DEFAULT_REMEMBERED_TOKENS,
    ...validators.map((validator) => validator.options.tokenCacheEntries),
  )
  const remembered = new Map<number, Remembered>()

  function remember(token: string, route: Route, decision: Decision): void {
    const reusable = route.bearerOnly && decision.headers === undefined
    // A decision serves a repeated token only while its configuration's cache holds the token
    // (a hit asks that cache again): one the cache did not take, a one-off token while its
    // doorkeeper is closed, would only keep an AuthInfo alive for the collector to copy.
    if (reusable && !route.holds(token)) return
    const id = tokenKeyOf(token)
    if (!remembered.delete(id) && remembered.size >= rememberedLimit) {
      const oldest = remembered.keys().next()
      if (oldest.done !== true) remembered.delete(oldest.value)
    }
    remembered.set(id, new Remembered(token, route, reusable ? decision : undefined))
  }

  function recall(token: string): Remembered | undefined {
    const entry = remembered.get(tokenKeyOf(token))
    return entry !== undefined && entry.token === token ? entry : undefined
  }

  /** The route an ownership matcher gives `iss`, remembered per distinct issuer. */
  function matchIssuer(iss: string, from = 0): Route | null | Promise<Route | null> {
    // Nothing to remember without matchers: an unknown iss (read before any signature check)
    // costs no memory.
    if (matchers.length === 0) return null
    for (let i = from; i < matchers.length; i++) {
      const { route, ownership } = matchers[i] as Matcher
      const verdict = ownership.matches(iss)
      if (verdict === true) return pick(iss, route)
      if (verdict === undefined && ownership.prepare !== undefined) {
        return ownership
          .prepare()
          .then(() =>
            ownership.matches(iss) === true ? pick(iss, route) : matchIssuer(iss, i + 1),
          )
      }
    }
    return pick(iss, null)
  }

  function pick(iss: string, route: Route | null): Route | null {
    // Bounded in number and in size: an issuer is a short URL (Entra ID's, about 60 characters).
    if (iss.length > MAX_REMEMBERED_ISSUER_LENGTH) return route
    if (picked.size >= MAX_REMEMBERED_ISSUERS) picked.clear()
    picked.set(iss, route)
    return route
  }

  /** The first predicate configuration that accepts the token, asked per token. */
  function askPredicates(
    iss: string,
    claims: TokenClaims,
    from = 0,
  ): Route | undefined | Promise<Route | undefined> {
    for (let i = from; i < predicates.length; i++) {
      const route = predicates[i] as Route
      const accept = route.validator.options.issuerPredicate as NonNullable<
        Validator['options']['issuerPredicate']
      >
      const verdict = accept(iss, claims)
      if (verdict === true) return route
      if (verdict !== false && typeof verdict === 'object' && verdict !== null) {
        return Promise.resolve(verdict).then((owns) =>
          owns === true ? route : askPredicates(iss, claims, i + 1),
        )
      }
    }
    return undefined
  }

  /** The configuration of a token's issuer, or a rejection for a token no configuration owns. */
  function routeOf(claims: TokenClaims): Route | Promise<Route> {
    const { iss } = claims
    if (typeof iss !== 'string') {
      throw new InvalidTokenError('the token has no valid issuer (iss) claim', {
        reason: iss === undefined ? 'missing_claim' : 'invalid_claim',
        claim: 'iss',
      })
    }
    const route = exact.get(iss) ?? (picked.has(iss) ? picked.get(iss) : matchIssuer(iss))
    if (route instanceof Promise) {
      return route.then((found) => found ?? orPredicates(iss, claims))
    }
    return route ?? orPredicates(iss, claims)
  }

  function orPredicates(iss: string, claims: TokenClaims): Route | Promise<Route> {
    const route = askPredicates(iss, claims)
    if (route instanceof Promise) return route.then((found) => found ?? unknownIssuer())
    return route ?? unknownIssuer()
  }

  /** Where a rejection made before an issuer is picked leaves the core, as a validator's does. */
  function rejected(error: unknown, report = true): Rejected {
    if (!(error instanceof BearerGuardError)) throw error
    if (context !== DEFAULT_CHALLENGE_CONTEXT) error.render(context)
    if (report) {
      emitEvent(onEvent, {
        type: 'token_rejected',
        status: error.status,
        reason: error.reason,
        description: error.message,
      })
    }
    return { auth: undefined, error, headers: undefined }
  }

  /**
   * Hands the request to the configuration of its token's issuer, with the token's parse when
   * that configuration decides at once (see parsed-handover.ts), and remembers an acceptance.
   */
  function delegate(
    token: string,
    parsed: ParsedToken | undefined,
    route: Route | Promise<Route>,
    run: (validator: Validator) => Decision | Promise<Decision>,
  ): Decision | Promise<Decision> {
    if (route instanceof Promise) {
      return route.then(
        (found) => delegate(token, undefined, found, run),
        (error) => rejected(error),
      )
    }
    const decision =
      parsed === undefined
        ? run(route.validator)
        : handOver(token, parsed, () => run(route.validator))
    if (decision instanceof Promise) {
      return decision.then((settled) => {
        if (settled.auth !== undefined) remember(token, route, settled)
        return settled
      })
    }
    if (decision.auth !== undefined) remember(token, route, decision)
    return decision
  }

  function decideAuthorization(
    authorization: AuthorizationInput,
    authOptions: AuthenticateOptions | undefined,
    run: (validator: Validator) => Decision | Promise<Decision>,
  ): Decision | Promise<Decision> {
    const peeked = peekCredentials(authorization, schemes)
    const known = peeked === undefined ? undefined : recall(peeked.token)
    if (known !== undefined) {
      // Still in its configuration's cache (not expired, its key not retired): the same
      // decision, without reading the request again.
      const { decision, route } = known
      if (decision !== undefined && route.validator.lookup(authorization) === decision.auth) {
        return decision
      }
      return run(route.validator)
    }
    let token: string | undefined
    let parsed: ParsedToken
    let route: Route | Promise<Route>
    try {
      const credentials = parseCredentialsUnchecked(authorization, schemes, realm)
      if (credentials === undefined) {
        return authOptions?.credentialsRequired === false
          ? ANONYMOUS
          : rejected(missingCredentials(realm), false)
      }
      token = credentials.token
      try {
        parsed = parseAccessToken(token, parsing)
      } catch (error) {
        // As a validator does: characters outside b64token are the header's fault (400).
        checkTokenCharacters(token, credentials.scheme, realm)
        throw error
      }
      route = routeOf(parsed.claims)
    } catch (error) {
      // Never a synchronous throw: an error that is not a rejection (a throwing issuer
      // predicate) rejects the promise, as a validator's decide does.
      return error instanceof BearerGuardError ? rejected(error) : Promise.reject(error)
    }
    return delegate(token, parsed, route, run)
  }

  const settle = (decision: Decision | Promise<Decision>): Promise<AuthInfo> =>
    Promise.resolve(decision).then((settled) => {
      if (settled.error !== undefined) throw settled.error
      return settled.auth as AuthInfo
    })

  const validator: MultiIssuerValidator = {
    realm,
    challengeContext: context,
    // The first configuration's: a multi-issuer validator has no options of its own.
    options: (validators[0] as Validator).options,
    issuers: new Map(routes.map((route) => [route.name, route.validator])),
    decide(request, authOptions, target) {
      return decideAuthorization(readHeader(request, 'authorization'), authOptions, (chosen) =>
        chosen.decide(request, authOptions, target),
      )
    },
    authenticate(authorization: AuthorizationInput, authOptions?: AuthenticateOptions) {
      return settle(
        decideAuthorization(authorization, authOptions, (chosen) =>
          asDecision(chosen.authenticate(authorization, authOptions ?? {})),
        ),
      ) as Promise<AuthInfo>
    },
    verify(token: string) {
      const known = typeof token === 'string' ? recall(token) : undefined
      if (known !== undefined) return known.route.validator.verify(token)
      let parsed: ParsedToken
      let route: Route | Promise<Route>
      try {
        parsed = parseAccessToken(token, parsing)
        route = routeOf(parsed.claims)
      } catch (error) {
        return error instanceof BearerGuardError ? settle(rejected(error)) : Promise.reject(error)
      }
      return settle(delegate(token, parsed, route, (chosen) => asDecision(chosen.verify(token))))
    },
    lookup(authorization: AuthorizationInput) {
      const peeked = peekCredentials(authorization, schemes)
      const known = peeked === undefined ? undefined : recall(peeked.token)
      return known?.route.validator.lookup(authorization)
    },
    async warmUp() {
      await Promise.all(validators.map((each) => each.warmUp()))
    },
  } as MultiIssuerValidator
  // Recognised by isValidator, so every adapter takes it (see validator.ts).
  Object.defineProperty(validator, Symbol.for('bearer-guard.validator'), { value: true })
  Object.defineProperty(validator, PICK, {
    async value(token: string): Promise<Picked> {
      try {
        return { name: (await routeOf(parseAccessToken(token, parsing).claims)).name }
      } catch (error) {
        if (!(error instanceof BearerGuardError)) throw error
        if (context !== DEFAULT_CHALLENGE_CONTEXT) error.render(context)
        return { error }
      }
    },
  })
  return Object.freeze(validator)
}

/** Which configuration would judge a token, or the rejection made before any would. */
type Picked = { readonly name: string } | { readonly error: BearerGuardError }

const PICK = Symbol('bearer-guard.pick')

/**
 * The name of the configuration of `validator` that would judge `token` (picked by its `iss`, as
 * a request's), or the rejection made before any would (unreadable, no `iss`, an unknown issuer),
 * rendered in the validator's realm. No key work. What `inspectToken` uses with multi-issuer options.
 *
 * @example
 * ```ts
 * const picked = await pickConfiguration(createMultiIssuerValidator(options), token)
 * ```
 */
export function pickConfiguration(validator: MultiIssuerValidator, token: string): Promise<Picked> {
  return (validator as unknown as { [PICK]: (token: string) => Promise<Picked> })[PICK](token)
}

function unknownIssuer(): never {
  throw new InvalidTokenError('the token issuer (iss) is not one this API accepts', {
    reason: 'wrong_issuer',
    claim: 'iss',
  })
}
