/**
 * Token inspection: the answer to "why is my token rejected?". `inspectToken()` decodes a token
 * and makes every check the validator makes, in the validator's order, but without stopping at
 * the first failure: each check runs on its own, so one report shows everything that is wrong.
 *
 * Every verdict comes from the validator's own rules: `parseToken`, `checkHeader` and
 * `checkClaims` (token.ts), the key source and key selection (jwks.ts), the options' issuer,
 * signing-key issuer and claim predicates. A check is isolated by handing the rule a header or
 * claims in which every other field holds a value that passes, so the rule can only fail on the
 * field under test. The token itself is never sent anywhere: only the configured JWKS or
 * discovery URL is fetched.
 */

import type { ChallengeContext } from './challenge.js'
import { type BearerGuardError, InvalidTokenError } from './errors.js'
import type { BearerGuardEvent } from './events.js'
import {
  createRemoteKeySource,
  createStaticKeySource,
  type KeySource,
  type VerificationKey,
} from './jwks.js'
import { type ResolvedOptions, resolveOptions, type ValidatorOptions } from './options.js'
import { parseScopes } from './scopes.js'
import {
  checkClaims,
  checkHeader,
  checkSignature,
  formatAge,
  type ParsedToken,
  parseToken,
} from './token.js'
import type { AuthInfo, TokenClaims, TokenHeader } from './types.js'
import {
  challengeContextOf,
  checkAllowedClient,
  checkClaimsRule,
  checkPermissions,
  readAuthInfo,
} from './validator.js'

/** The outcome of one check: it passed, it failed, or it could not run (and why is said). */
export type CheckStatus = 'pass' | 'fail' | 'skip'

/**
 * The checks of {@link inspectToken}, in the order the validator makes them:
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

/** One check of an inspection. */
export interface InspectionCheck {
  readonly name: CheckName
  readonly status: CheckStatus
  /** Why: what the check found when it passed or was skipped, the public description when it failed. */
  readonly detail: string
  /** The error the validator rejects the token with for this check, when it failed. */
  readonly error?: BearerGuardError
}

/**
 * The result of {@link inspectToken}.
 *
 * @example
 * ```ts
 * const { verdict, error, checks } = await inspectToken(token, options)
 * for (const check of checks) console.log(check.status, check.name, check.detail)
 * ```
 */
export interface TokenInspection {
  /**
   * `accepted` when every check ran and passed (the validator accepts the token), `rejected`
   * when a check failed, `incomplete` when none failed but some could not run because no
   * validator options were given.
   */
  readonly verdict: 'accepted' | 'rejected' | 'incomplete'
  /**
   * The error the validator answers with: that of the first failed check in the validator's
   * order, with its `status`, `code`, `reason` and `headers` (`WWW-Authenticate`, `Retry-After`).
   */
  readonly error: BearerGuardError | undefined
  /** The protected header, when it could be decoded. */
  readonly header: Readonly<Record<string, unknown>> | undefined
  /** The claims, when they could be decoded. */
  readonly claims: Readonly<Record<string, unknown>> | undefined
  /**
   * True when the token failed `format` and `header`/`claims` were decoded leniently, for
   * display only: the validator refuses the token before reading them.
   */
  readonly decodedLeniently: boolean
  /** Key ids of the key set, once it was loaded (empty when no key source was used). */
  readonly keyIds: readonly string[]
  /** Every check, in the validator's order. */
  readonly checks: readonly InspectionCheck[]
  /** The time the checks were made at, in seconds since the epoch. */
  readonly now: number
}

/** Settings of {@link inspectToken}. */
export interface InspectSettings {
  /**
   * The time to check `exp`, `nbf`, `iat` and `maxTokenAge` at, in seconds since the epoch.
   * Default: the current time. A debugging aid, as for a token captured in a log.
   */
  now?: number
}

const NEUTRAL = 'urn:bearer-guard:inspect'
const KEY_CHECKS: readonly CheckName[] = ['key', 'key_issuer', 'signature']
const CLAIM_CHECKS: readonly CheckName[] = [
  'iss',
  'aud',
  'exp',
  'nbf',
  'iat',
  'max_age',
  'sub',
  'cnf',
  'required_claims',
  'permission_claims',
  'client',
  'permissions',
  'claims_rule',
]
const HEADER_CHECKS: readonly CheckName[] = ['alg', 'kid', 'typ', 'crit']
// Used only to read the token when no options are given: never fetched.
const DECODE_ONLY: ValidatorOptions = {
  issuer: NEUTRAL,
  audience: NEUTRAL,
  jwksUri: 'https://key-source.invalid/',
}

/**
 * "2020-11-03T15:07:18.000Z (in 5 min)" or "(3 h ago)": a NumericDate (RFC 7519 §2) as an ISO
 * date and relative to `now`, both in seconds since the epoch.
 *
 * @example
 * ```ts
 * describeTime(1604419638, 1604416038) // '2020-11-03T16:07:18.000Z (in 60 min)'
 * ```
 */
export function describeTime(seconds: number, now: number): string {
  const date = new Date(seconds * 1000)
  const iso = Number.isNaN(date.getTime()) ? 'not a valid date' : date.toISOString()
  const delta = seconds - now
  const relative =
    delta === 0 ? 'now' : delta > 0 ? `in ${formatAge(delta)}` : `${formatAge(-delta)} ago`
  return `${iso} (${relative})`
}

function quote(value: unknown): string {
  return JSON.stringify(value) ?? String(value)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Header and claims as a lenient decoder reads them, for display when `format` fails. */
function decodeLeniently(
  token: string,
  options: ResolvedOptions,
): { header?: Record<string, unknown>; claims?: Record<string, unknown> } {
  if (token.length > options.maxTokenLength) return {}
  const [header, claims] = token.split('.').map((segment) => {
    try {
      const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
      return isPlainObject(value) ? value : undefined
    } catch {
      return undefined
    }
  })
  return { header, claims }
}

/** Claims in which every registered claim except `keep` holds a value the rules accept at `now`. */
function isolateClaims(claims: TokenClaims, keep: CheckName, now: number): TokenClaims {
  const isolated: Record<string, unknown> = { ...claims }
  if (keep !== 'iss') isolated.iss = NEUTRAL
  if (keep !== 'aud') isolated.aud = NEUTRAL
  if (keep !== 'exp') isolated.exp = now + 3600
  // Present claims stay present, so that requiredClaims sees what the token has.
  if (keep !== 'nbf' && isolated.nbf !== undefined) isolated.nbf = now
  if (keep !== 'iat' && keep !== 'max_age' && isolated.iat !== undefined) isolated.iat = now
  if (keep !== 'sub' && isolated.sub !== undefined) isolated.sub = NEUTRAL
  if (keep !== 'cnf') delete isolated.cnf
  return isolated as unknown as TokenClaims
}

/** The options with every claim rule except `keep`'s made to accept the isolated values. */
function isolateOptions(options: ResolvedOptions, keep: CheckName): ResolvedOptions {
  return {
    ...options,
    ...(keep === 'iss' ? {} : { issuers: new Set([NEUTRAL]), issuerPredicate: undefined }),
    ...(keep === 'aud' ? {} : { audiences: new Set([NEUTRAL]) }),
    maxTokenAge: keep === 'max_age' ? options.maxTokenAge : undefined,
    requiredClaims: keep === 'required_claims' ? options.requiredClaims : [],
  }
}

/** A rejection as the validator words it: `describeRejection` may give a more helpful text. */
function explain(error: unknown, claims: TokenClaims, options: ResolvedOptions): unknown {
  if (!(error instanceof InvalidTokenError) || options.describeRejection === undefined) return error
  const description = options.describeRejection(error.reason, claims)
  if (description === undefined || description === error.message) return error
  return new InvalidTokenError(description, {
    reason: error.reason,
    claim: error.claim,
    cause: error.cause ?? error,
  })
}

function claimText(name: string, value: unknown, now: number): string {
  if (value === undefined) return `no ${name} claim`
  return typeof value === 'number' && Number.isFinite(value)
    ? `${name} ${describeTime(value, now)}`
    : `${name} ${quote(value)}`
}

function listOf(values: Iterable<string>): string {
  return [...values].map(quote).join(', ')
}

function scopesOf(claims: TokenClaims): string[] | undefined {
  const scp = parseScopes(claims.scp ?? [])
  const scope = parseScopes(claims.scope ?? [])
  return scp === undefined || scope === undefined ? undefined : [...new Set([...scp, ...scope])]
}

function listOrNone(values: readonly string[] | undefined): string {
  return values === undefined || values.length === 0 ? 'none' : values.join(' ')
}

class Report {
  readonly checks: InspectionCheck[] = []

  /** The validator's challenge context: a failed check's error answers as the validator would. */
  constructor(private readonly context: ChallengeContext) {}

  pass(name: CheckName, detail: string): void {
    this.checks.push({ name, status: 'pass', detail })
  }

  skip(names: readonly CheckName[], detail: string): void {
    for (const name of names) this.checks.push({ name, status: 'skip', detail })
  }

  /** Runs one rule: a rule that returns passes with `detail`, one that throws fails with its error. */
  run(name: CheckName, rule: () => void, detail: string): boolean {
    try {
      rule()
    } catch (error) {
      this.fail(name, error)
      return false
    }
    this.pass(name, detail)
    return true
  }

  /**
   * {@link Report.run} for a rule that may answer with a promise (an issuer predicate may);
   * `context` is added to the detail of a failure.
   */
  async runAsync(
    name: CheckName,
    rule: () => Promise<void>,
    detail: string,
    context?: string,
  ): Promise<boolean> {
    try {
      await rule()
    } catch (error) {
      this.fail(name, error, context)
      return false
    }
    this.pass(name, detail)
    return true
  }

  fail(name: CheckName, error: unknown, context?: string): void {
    if (!isBearerGuardError(error)) throw error
    error.render(this.context)
    const cause =
      error.status === 503 && error.cause instanceof Error ? `: ${error.cause.message}` : ''
    const detail = `${error.message}${cause}${context === undefined ? '' : ` (${context})`}`
    this.checks.push({ name, status: 'fail', detail, error })
  }

  failed(name: CheckName): boolean {
    return this.checks.some((check) => check.name === name && check.status === 'fail')
  }
}

function isBearerGuardError(error: unknown): error is BearerGuardError {
  return (
    error instanceof Error &&
    typeof (error as { status?: unknown }).status === 'number' &&
    typeof (error as { reason?: unknown }).reason === 'string'
  )
}

function checkHeaderRules(report: Report, header: TokenHeader, options: ResolvedOptions): void {
  // Any accepted algorithm, so that only the parameter under test can fail.
  const alg = options.algorithms.values().next().value as string
  const untyped = { ...options, typRequired: false }
  const { kid, typ } = header
  const rules: Array<[CheckName, TokenHeader, ResolvedOptions, string]> = [
    ['alg', { alg: header.alg }, untyped, `${quote(header.alg)} is an accepted algorithm`],
    [
      'kid',
      { alg, kid },
      untyped,
      kid === undefined ? 'no kid: the one key that fits alg must be found' : `kid ${quote(kid)}`,
    ],
    [
      'typ',
      { alg, typ },
      options,
      typ === undefined ? 'no typ, which this API allows' : `${quote(typ)} is an access token type`,
    ],
    [
      'crit',
      { alg, crit: header.crit, b64: header.b64, zip: header.zip, enc: header.enc },
      untyped,
      'no crit, b64, zip or enc parameter',
    ],
  ]
  for (const [name, isolated, ruleOptions, detail] of rules) {
    report.run(name, () => checkHeader(isolated, ruleOptions), detail)
  }
}

async function checkClaimRules(
  report: Report,
  parsed: ParsedToken,
  options: ResolvedOptions,
  configured: boolean,
  now: number,
): Promise<void> {
  const { claims } = parsed
  const isolated = (name: CheckName, detail: string, context?: string) =>
    report.runAsync(
      name,
      async () => {
        try {
          await checkClaims(isolateClaims(claims, name, now), isolateOptions(options, name), now)
        } catch (error) {
          throw explain(error, claims, options)
        }
      },
      detail,
      context,
    )
  if (configured) {
    const accepted = options.issuers === undefined ? '' : `; accepted: ${listOf(options.issuers)}`
    await isolated(
      'iss',
      `${quote(claims.iss)} is accepted`,
      `the token has ${quote(claims.iss)}${accepted}`,
    )
    await isolated(
      'aud',
      `${quote(claims.aud)} names this API`,
      `the token has ${quote(claims.aud)}; accepted: ${listOf(options.audiences)}`,
    )
  } else {
    report.skip(['iss'], `${claimText('iss', claims.iss, now)}: no issuer to compare with`)
    report.skip(['aud'], `${claimText('aud', claims.aud, now)}: no audience to compare with`)
  }
  await isolated('exp', claimText('exp', claims.exp, now))
  await isolated('nbf', claimText('nbf', claims.nbf, now))
  const iatValid = await isolated('iat', claimText('iat', claims.iat, now))
  if (options.maxTokenAge === undefined) report.skip(['max_age'], 'no maxTokenAge set')
  else if (!iatValid) report.skip(['max_age'], 'the iat claim is not valid')
  else await isolated('max_age', `issued within the last ${options.maxTokenAge} s`)
  await isolated('sub', claimText('sub', claims.sub, now))
  await isolated(
    'cnf',
    claims.cnf === undefined ? 'no cnf: not bound to a key or certificate' : 'bound (cnf)',
  )
  if (options.requiredClaims.length === 0) report.skip(['required_claims'], 'none set')
  else await isolated('required_claims', `present: ${options.requiredClaims.join(', ')}`)
  checkCallerRules(report, parsed, options, configured)
}

/** The caller checks, each on its own, through the validator's own functions. */
function checkCallerRules(
  report: Report,
  { header, claims }: ParsedToken,
  options: ResolvedOptions,
  configured: boolean,
): void {
  let auth: AuthInfo | undefined
  report.run(
    'permission_claims',
    () => {
      try {
        auth = readAuthInfo('', header, claims)
      } catch (error) {
        throw explain(error, claims, options)
      }
    },
    `scopes: ${listOrNone(scopesOf(claims))}; roles: ${listOrNone(parseScopes(claims.roles ?? []))}`,
  )
  if (!configured) {
    report.skip(['client', 'permissions', 'claims_rule'], 'no validator options given')
    return
  }
  if (auth === undefined) {
    report.skip(
      ['client', 'permissions', 'claims_rule'],
      'the scp, scope or roles claim is malformed',
    )
    return
  }
  const checked = auth
  const step = (
    name: CheckName,
    check: (auth: AuthInfo, options: ResolvedOptions) => void,
    text: string,
  ) =>
    report.run(
      name,
      () => {
        try {
          check(checked, options)
        } catch (error) {
          throw explain(error, claims, options)
        }
      },
      text,
    )
  if (options.allowedClients === undefined) report.skip(['client'], 'no allowedClients set')
  else step('client', checkAllowedClient, `${quote(checked.clientId)} is an allowed client`)
  if (!options.requirePermissions) report.skip(['permissions'], 'requirePermissions is off')
  else step('permissions', checkPermissions, 'the token carries scopes or roles')
  if (options.validateClaims === undefined)
    report.skip(['claims_rule'], 'no validateClaims rule set')
  else if (report.checks.some((check) => check.status === 'fail')) {
    // The validator runs the rule only on claims that passed every check above, and rules
    // (the Entra ID tenant allow-list among them) may rely on that.
    report.skip(['claims_rule'], 'runs only once the checks above pass')
  } else step('claims_rule', checkClaimsRule, 'the validateClaims rule accepts the claims')
}

function createKeySource(options: ResolvedOptions): KeySource {
  const source = options.keySource
  return source.kind === 'static'
    ? createStaticKeySource(options, source.jwks)
    : createRemoteKeySource(options, source)
}

async function checkKey(
  report: Report,
  token: string,
  parsed: ParsedToken,
  options: ResolvedOptions,
  keyIds: string[],
): Promise<void> {
  const { header, claims } = parsed
  const events: BearerGuardEvent[] = []
  const source = options.keySource
  if (source.kind === 'static') {
    for (const jwk of source.jwks.keys) if (typeof jwk.kid === 'string') keyIds.push(jwk.kid)
  }
  const keys = createKeySource({ ...options, onEvent: (event) => events.push(event) })
  let key: VerificationKey | undefined
  try {
    key = keys.peek(header) ?? (await keys.getKey(header))
  } catch (error) {
    report.fail('key', error)
  }
  for (const event of events) if (event.type === 'keys_refreshed') keyIds.push(...event.keyIds)
  if (key === undefined) {
    report.skip(['key_issuer', 'signature'], 'no key to check with')
    return
  }
  const where = source.kind === 'static' ? 'the configured keys' : 'the JWKS'
  report.pass(
    'key',
    `${header.kid === undefined ? 'the one key that fits' : `kid ${quote(header.kid)}`} found in ${where} (${String(key.entry.jwk.kty)} key, ${header.alg})`,
  )
  const keyIssuer = key.entry.jwk.issuer
  const fits = options.signingKeyIssuer
  if (fits === undefined) report.skip(['key_issuer'], 'no signingKeyIssuer rule set')
  else if (typeof keyIssuer !== 'string')
    report.skip(['key_issuer'], 'the key has no issuer member')
  else {
    report.run(
      'key_issuer',
      () => {
        if (!fits(keyIssuer, claims)) {
          throw new InvalidTokenError('the signing key of the token belongs to another issuer', {
            reason: 'wrong_issuer',
            claim: 'iss',
          })
        }
      },
      `the key issuer ${quote(keyIssuer)} fits the token`,
    )
  }
  const verifier = key.verifier
  report.run(
    'signature',
    () => {
      if (!checkSignature(token, parsed, verifier)) {
        throw new InvalidTokenError('the token signature is invalid', { reason: 'bad_signature' })
      }
    },
    `${header.alg} signature verified`,
  )
}

/**
 * Decodes a token and makes every check the validator would make, without stopping at the
 * first failure: a report of what passes, what fails and why. With `options`, the verdict is the
 * validator's (`accepted` exactly when `createValidator(options).verify(token)` resolves); without,
 * only the checks that need no configuration run (format, header, times at the default 60 s
 * tolerance, claim shapes) and the verdict is at best `incomplete`. Fetches only the configured
 * JWKS or discovery URL, and never sends the token.
 *
 * Throws a `TypeError` for bad options, as `createValidator` does.
 *
 * @example
 * ```ts
 * const report = await inspectToken(token, { issuer, audience, jwksUri })
 * if (report.verdict === 'rejected') console.log(report.error?.headers['WWW-Authenticate'])
 * // Times as of a moment in the past (a debugging aid):
 * await inspectToken(token, options, { now: 1604416038 })
 * ```
 */
export async function inspectToken(
  token: string,
  options?: ValidatorOptions,
  settings: InspectSettings = {},
): Promise<TokenInspection> {
  const configured = options !== undefined
  const resolved = resolveOptions(options ?? DECODE_ONLY)
  const now = settings.now ?? Math.floor(Date.now() / 1000)
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new TypeError('"now" setting must be a number of seconds since the epoch')
  }
  const report = new Report(challengeContextOf(resolved))
  const keyIds: string[] = []
  let parsed: ParsedToken | undefined
  report.run(
    'format',
    () => {
      parsed = parseToken(token, resolved)
    },
    'compact JWS: three canonical base64url segments, header and payload JSON objects',
  )
  let header: Record<string, unknown> | undefined
  let claims: Record<string, unknown> | undefined
  if (parsed === undefined) {
    ;({ header, claims } = decodeLeniently(token, resolved))
    report.skip([...HEADER_CHECKS, ...CLAIM_CHECKS, ...KEY_CHECKS], 'the token could not be read')
  } else {
    header = parsed.header
    claims = parsed.claims
    checkHeaderRules(report, parsed.header, resolved)
    await checkClaimRules(report, parsed, resolved, configured, now)
    if (!configured) report.skip(KEY_CHECKS, 'no key source given')
    else if (report.failed('alg') || report.failed('kid')) {
      report.skip(KEY_CHECKS, 'the alg or kid of the token cannot select a key')
    } else await checkKey(report, token, parsed, resolved, keyIds)
  }
  const error = report.checks.find((check) => check.status === 'fail')?.error
  return {
    verdict: error !== undefined ? 'rejected' : configured ? 'accepted' : 'incomplete',
    error,
    header,
    claims,
    decodedLeniently: parsed === undefined && (header !== undefined || claims !== undefined),
    keyIds: [...new Set(keyIds)],
    checks: report.checks,
    now,
  }
}
