/**
 * Token inspection: the answer to "why is my token rejected?". `inspectToken()` runs the
 * validator's own pipeline (pipeline.ts), every step in the validator's order, but without
 * stopping at the first failure: each step checks one thing, so one report shows everything that
 * is wrong. A step that cannot apply says why (a setting not made, an earlier step it needs that
 * failed). The token itself is never sent anywhere: only the configured JWKS or discovery URL is
 * fetched.
 */

import { decodeBase64url, decodeUtf8 } from '#crypto'
import { hasClientCapability } from './auth-contexts.js'
import { certificateThumbprint, parseCertificateHeader } from './certificate-binding.js'
import type { ChallengeContext } from './challenge.js'
import type { BearerGuardError } from './errors.js'
import type { BearerGuardEvent } from './events.js'
import {
  createMultiIssuerValidator,
  type MultiIssuerOptions,
  pickConfiguration,
} from './issuers.js'
import { createKeySourceFor, type KeySource } from './jwks.js'
import { type ResolvedOptions, resolveOptions, type ValidatorOptions } from './options.js'
import {
  BINDING_STEPS,
  type CheckName,
  explainRejection,
  isExplained,
  STEPS,
  type Step,
  type TokenState,
} from './pipeline.js'
import { type NodeRequestLike, readClientCertificate, readHeader } from './request.js'
import { parseScopes } from './scopes.js'
import { formatAge, type ParsedToken, parseToken } from './token.js'
import type { Guard, TokenClaims } from './types.js'
import { challengeContextOf } from './validator.js'

export type { CheckName } from './pipeline.js'

/** The outcome of one check: it passed, it failed, or it could not run (and why is said). */
export type CheckStatus = 'pass' | 'fail' | 'skip'

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
   * validator options were given, or because the token is bound to a client certificate and
   * none was given.
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
  /** What the token says of the user's authentication and the client, for step-up and claims challenges. */
  readonly authentication: AuthenticationSummary
  /** What the route of `settings.guards` answers; `undefined` when no guards were given. */
  readonly route: RouteAnswer | undefined
  /** With multi-issuer options: the configuration the token's `iss` picked, if any. */
  readonly issuerName?: string
}

/**
 * What a token says of the user's authentication and of its client: Entra ID's `xms_cc` (client
 * capabilities) and `acrs` (Conditional Access authentication contexts), and `acr` and
 * `auth_time` (RFC 9470).
 */
export interface AuthenticationSummary {
  /** `xms_cc`: the capabilities the client declared (a string or an array in the token). */
  readonly clientCapabilities: readonly string[]
  /** Whether `xms_cc` holds `cp1`: the client can answer a claims challenge. */
  readonly handlesClaimsChallenges: boolean
  /** `acrs`: the authentication contexts the user satisfied. */
  readonly authContexts: readonly string[]
  /** `acr`, when it is a string. */
  readonly acr: string | undefined
  /** `auth_time` in seconds since the epoch, when it is a number. */
  readonly authTime: number | undefined
}

/** What a route's guards answer a token with (the validator having accepted it). */
export interface RouteAnswer {
  /** `pass` when every guard lets the token through, `skip` when the validator rejects it first. */
  readonly status: CheckStatus
  readonly detail: string
  /** The rejection of the first guard that fails: a 403, or a 401 with a step-up or claims challenge. */
  readonly error?: BearerGuardError
}

/** Settings of {@link inspectToken}. */
export interface InspectSettings {
  /**
   * The time to check `exp`, `nbf`, `iat` and `maxTokenAge` at, in seconds since the epoch.
   * Default: the current time. A debugging aid, as for a token captured in a log.
   */
  now?: number
  /**
   * The guards of a route (`requireScopes`, `requireAuthContext`, `requireStepUp`...), run in
   * order on an accepted token: the report's `route` says what the route would answer, such as
   * the claims or step-up challenge it would ask with.
   */
  guards?: readonly Guard[]
  /**
   * The request a DPoP-bound token came with, to explain its proof (RFC 9449 §4.3): the
   * `DPoP` header, the method and the URL (its path is compared with the options'
   * `dpop.publicOrigin`). Adds the `dpop_proof` check; `dpop_replay` is reported as skipped, as
   * an inspection records no proof. Needs options with `dpop`.
   */
  proof?: { dpop: string; method: string; url: string }
  /**
   * The client certificate the request came with, to explain a certificate-bound token
   * (RFC 8705): PEM, or base64 / base64url DER. Adds the `certificate` check (the TLS socket's
   * certificate, or the `certificateHeader` of the options' `certificateBinding` carrying this
   * value). Needs options with `certificateBinding`; with them and without a certificate, the
   * check of a certificate-bound token is reported as skipped.
   */
  certificate?: string
}

const NEUTRAL = 'urn:bearer-guard:inspect'
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
      const bytes = decodeBase64url(segment)
      const value: unknown = JSON.parse(decodeUtf8([bytes], bytes.length))
      return isPlainObject(value) ? value : undefined
    } catch {
      return undefined
    }
  })
  return { header, claims }
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

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((item) => item !== '')
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string')
  return []
}

function summarize(claims: Readonly<Record<string, unknown>> | undefined): AuthenticationSummary {
  const values = claims ?? {}
  const { acr, auth_time: authTime } = values
  return {
    clientCapabilities: strings(values.xms_cc),
    handlesClaimsChallenges: hasClientCapability({ claims: values as TokenClaims }),
    authContexts: strings(values.acrs),
    acr: typeof acr === 'string' ? acr : undefined,
    authTime: typeof authTime === 'number' && Number.isFinite(authTime) ? authTime : undefined,
  }
}

/** Runs the route's guards on the token's AuthInfo, at the inspection's time. */
function answerOfRoute(
  guards: readonly Guard[],
  auth: TokenState['auth'],
  accepted: boolean,
  now: number,
): RouteAnswer {
  if (!accepted || auth === undefined) {
    return { status: 'skip', detail: 'the validator rejects the token before the route is reached' }
  }
  // Guards that read the clock (requireStepUp's max_age) judge as of the inspection's time.
  try {
    for (const guard of guards) guard(auth, now)
  } catch (error) {
    if (!isBearerGuardError(error)) throw error
    return { status: 'fail', detail: error.message, error }
  }
  return { status: 'pass', detail: 'every guard of the route lets the token through' }
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

/** The DPoP steps an inspection with a proof runs (the replay check is reported as skipped). */
const PROOF_STEPS = BINDING_STEPS.filter((step) => step.name.startsWith('dpop_'))

/** The certificate step, which runs whenever the options bind tokens to certificates. */
const CERTIFICATE_STEPS = BINDING_STEPS.filter((step) => step.name === 'certificate')

/**
 * The request an inspection judges the binding of: a Node-shaped one carrying the DPoP proof
 * as a header line and the client certificate on its socket (or in the proxy header the
 * options name).
 */
function inspectionRequest(
  proof: InspectSettings['proof'],
  certificate: { text: string; der: Uint8Array } | undefined,
  options: ResolvedOptions,
): NodeRequestLike {
  const header = options.certificateBinding?.header
  const rawHeaders: string[] = []
  if (proof !== undefined) rawHeaders.push('DPoP', proof.dpop)
  if (certificate !== undefined && header !== undefined) rawHeaders.push(header, certificate.text)
  const peer = certificate === undefined || header !== undefined ? undefined : certificate.der
  return {
    method: proof?.method ?? 'GET',
    url: proof?.url ?? '/',
    rawHeaders,
    socket: { getPeerCertificate: () => (peer === undefined ? {} : { raw: peer }) },
  }
}

const NO_CERTIFICATE = 'no client certificate given (the "certificate" setting, --certificate)'

/** Whether a check is the certificate check of a bound token, skipped for want of the certificate. */
export function isUnprovenCertificate(check: InspectionCheck): boolean {
  return check.name === 'certificate' && check.status === 'skip' && check.detail === NO_CERTIFICATE
}

/** The `certificate` setting, read: its text and DER, or `undefined` when not given. */
function readCertificateSetting(
  value: unknown,
  options: ResolvedOptions,
  configured: boolean,
): { text: string; der: Uint8Array } | undefined {
  if (value === undefined) return undefined
  if (!configured || options.certificateBinding === undefined) {
    throw new TypeError('"certificate" setting needs validator options with "certificateBinding"')
  }
  const der = typeof value === 'string' ? parseCertificateHeader(value) : undefined
  if (der === undefined) {
    throw new TypeError('"certificate" setting must be a PEM or base64 DER certificate')
  }
  return { text: value as string, der }
}

/** Why a step does not run in this inspection; `undefined` when it runs. */
function reasonToSkip(
  step: Step,
  state: TokenState,
  report: Report,
  configured: boolean,
): string | undefined {
  const { claims } = state.parsed
  const { name, group } = step
  if (!configured) {
    if (name === 'iss' || name === 'aud') {
      const what = name === 'iss' ? 'issuer' : 'audience'
      return `${claimText(name, claims[name], state.now)}: no ${what} to compare with`
    }
    if (group === 'key') return 'no key source given'
    if (group === 'caller' && name !== 'permission_claims') return 'no validator options given'
  }
  const unused = step.skip?.(state.options)
  if (unused !== undefined) return unused
  if (name === 'dpop_replay') return 'an inspection records no proof, so a replay cannot be told'
  if (name === 'dpop_proof' && report.failed('cnf')) return 'the token is not bound to a DPoP key'
  if (name === 'certificate' && state.request === undefined) {
    return typeof (claims.cnf as Record<string, unknown> | undefined)?.['x5t#S256'] === 'string'
      ? NO_CERTIFICATE
      : 'the token is not bound to a certificate'
  }
  if (name === 'max_age' && report.failed('iat')) return 'the iat claim is not valid'
  if (group === 'caller' && name !== 'permission_claims' && state.auth === undefined) {
    return 'the scp, scope or roles claim is malformed'
  }
  // The validator runs the rule only on claims that passed every check above, and rules (the
  // Entra ID tenant allow-list among them) may rely on that.
  if (name === 'claims_rule' && report.checks.some((check) => check.status === 'fail')) {
    return 'runs only once the checks above pass'
  }
  if (name === 'key' && (report.failed('alg') || report.failed('kid'))) {
    return 'the alg or kid of the token cannot select a key'
  }
  if ((name === 'key_issuer' || name === 'signature') && state.key === undefined) {
    return 'no key to check with'
  }
  if (name === 'key_issuer' && typeof state.key?.entry.jwk.issuer !== 'string') {
    return 'the key has no issuer member'
  }
  return undefined
}

/** Runs one step of the validator's pipeline and records what it found. */
async function runStep(report: Report, step: Step, state: TokenState): Promise<void> {
  try {
    await step.run(state)
    const pending = state.pending
    state.pending = undefined
    await pending
  } catch (error) {
    const explained = isExplained(step.group)
      ? explainRejection(error, state.parsed.claims, state.options)
      : error
    report.fail(step.name, explained, contextOf(step.name, state))
    return
  }
  report.pass(step.name, detailOf(step.name, state))
}

/** What a failed `iss` or `aud` check adds: what the token has, what would be accepted. */
function contextOf(
  name: CheckName,
  { parsed: { claims }, options, request }: TokenState,
): string | undefined {
  if (name === 'iss') {
    const accepted = options.issuers === undefined ? '' : `; accepted: ${listOf(options.issuers)}`
    return `the token has ${quote(claims.iss)}${accepted}`
  }
  if (name === 'aud')
    return `the token has ${quote(claims.aud)}; accepted: ${listOf(options.audiences)}`
  if (name === 'certificate' && request !== undefined) {
    const header = options.certificateBinding?.header
    const value = header === undefined ? undefined : readHeader(request.request, header)
    const der =
      header === undefined
        ? readClientCertificate(request.request)
        : parseCertificateHeader(typeof value === 'string' ? value : undefined)
    const bound = (claims.cnf as Record<string, unknown> | undefined)?.['x5t#S256']
    if (der !== undefined) {
      return `the certificate's x5t#S256 is ${quote(certificateThumbprint(der))}; cnf names ${quote(bound)}`
    }
  }
  return undefined
}

/** What a passed check found. */
function detailOf(name: CheckName, state: TokenState): string {
  const { header, claims } = state.parsed
  const { options, now } = state
  switch (name) {
    case 'alg':
      return `${quote(header.alg)} is an accepted algorithm`
    case 'kid':
      return header.kid === undefined
        ? 'no kid: the one key that fits alg must be found'
        : `kid ${quote(header.kid)}`
    case 'typ':
      return header.typ === undefined
        ? 'no typ, which this API allows'
        : `${quote(header.typ)} is an access token type`
    case 'crit':
      return 'no crit, b64, zip or enc parameter'
    case 'iss':
      return `${quote(claims.iss)} is accepted`
    case 'aud':
      return `${quote(claims.aud)} names this API`
    case 'max_age':
      return `issued within the last ${options.maxTokenAge} s`
    case 'cnf':
      return claims.cnf === undefined
        ? 'no cnf: not bound to a key or certificate'
        : `bound by cnf ${quote(claims.cnf)}`
    case 'dpop_proof': {
      const found = state.proof
      return found === undefined
        ? 'no proof checked'
        : `proof by key ${quote(found.jkt)}, jti ${quote(found.jti)}, iat ${describeTime(found.iat, now)}: typ, alg, jwk, signature, htm, htu, iat, ath, key${options.dpop?.nonce === undefined ? '' : ', nonce'} all fit`
    }
    case 'certificate': {
      const bound = (claims.cnf as Record<string, unknown> | undefined)?.['x5t#S256']
      return typeof bound === 'string'
        ? `the client certificate's x5t#S256 ${quote(bound)} is the one cnf names`
        : 'the token is not bound to a certificate'
    }
    case 'required_claims':
      return `present: ${options.requiredClaims.join(', ')}`
    case 'permission_claims':
      return `scopes: ${listOrNone(scopesOf(claims))}; roles: ${listOrNone(parseScopes(claims.roles ?? []))}`
    case 'client':
      return `${quote(state.auth?.clientId)} is an allowed client`
    case 'permissions':
      return 'the token carries scopes or roles'
    case 'claims_rule':
      return 'the validateClaims rule accepts the claims'
    case 'key': {
      const where = options.keySource.kind === 'static' ? 'the configured keys' : 'the JWKS'
      const which = header.kid === undefined ? 'the one key that fits' : `kid ${quote(header.kid)}`
      return `${which} found in ${where} (${String(state.key?.entry.jwk.kty)} key, ${header.alg})`
    }
    case 'key_issuer':
      return `the key issuer ${quote(state.key?.entry.jwk.issuer)} fits the token`
    case 'signature':
      return `${header.alg} signature verified`
    default:
      return claimText(name, claims[name], now)
  }
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
  options?: ValidatorOptions | MultiIssuerOptions,
  settings: InspectSettings = {},
): Promise<TokenInspection> {
  if (options !== undefined && 'issuers' in options) {
    return inspectAcrossIssuers(token, options, settings)
  }
  const configured = options !== undefined
  const resolved = resolveOptions(options ?? DECODE_ONLY)
  const now = settings.now ?? Math.floor(Date.now() / 1000)
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new TypeError('"now" setting must be a number of seconds since the epoch')
  }
  const guards = settings.guards
  if (
    guards !== undefined &&
    (!Array.isArray(guards) || !guards.every((guard) => typeof guard === 'function'))
  ) {
    throw new TypeError('"guards" setting must be an array of guards')
  }
  const { proof } = settings
  if (proof !== undefined && (resolved.dpop === undefined || !configured)) {
    throw new TypeError('"proof" setting needs validator options with "dpop"')
  }
  const certificate = readCertificateSetting(settings.certificate, resolved, configured)
  const steps = [
    ...STEPS,
    ...(proof === undefined ? [] : PROOF_STEPS),
    ...(configured && resolved.certificateBinding !== undefined ? CERTIFICATE_STEPS : []),
  ]
  const report = new Report(challengeContextOf(resolved))
  const keyIds: string[] = []
  let parsed: ParsedToken | undefined
  let auth: TokenState['auth']
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
    report.skip(
      steps.map((step) => step.name),
      'the token could not be read',
    )
  } else {
    header = parsed.header
    claims = parsed.claims
    const events: BearerGuardEvent[] = []
    const keys = configured
      ? createKeySourceFor({ ...resolved, onEvent: (event) => events.push(event) })
      : undefined
    const source = resolved.keySource
    if (configured && source.kind === 'static') {
      for (const jwk of source.jwks.keys) if (typeof jwk.kid === 'string') keyIds.push(jwk.kid)
    }
    const state: TokenState = {
      token,
      parsed,
      now,
      options: resolved,
      context: challengeContextOf(resolved),
      keys: keys as KeySource,
      auth: undefined,
      key: undefined,
      pending: undefined,
      scheme: proof === undefined ? 'Bearer' : 'DPoP',
      request:
        proof === undefined && certificate === undefined
          ? undefined
          : { request: inspectionRequest(proof, certificate, resolved), target: undefined },
      proof: undefined,
      headers: undefined,
    }
    for (const step of steps) {
      const reason = reasonToSkip(step, state, report, configured)
      if (reason !== undefined) report.skip([step.name], reason)
      else await runStep(report, step, state)
    }
    for (const event of events) if (event.type === 'keys_refreshed') keyIds.push(...event.keyIds)
    auth = state.auth
  }
  const error = report.checks.find((check) => check.status === 'fail')?.error
  // A certificate-bound token without the certificate: the validator's answer depends on it.
  const complete = configured && !report.checks.some(isUnprovenCertificate)
  const accepted = error === undefined && complete
  return {
    verdict: error !== undefined ? 'rejected' : complete ? 'accepted' : 'incomplete',
    error,
    header,
    claims,
    decodedLeniently: parsed === undefined && (header !== undefined || claims !== undefined),
    keyIds: [...new Set(keyIds)],
    checks: report.checks,
    now,
    authentication: summarize(claims),
    route: guards === undefined ? undefined : answerOfRoute(guards, auth, accepted, now),
  }
}

/**
 * `inspectToken` with the options of `createMultiIssuerValidator`: the configuration the token's
 * `iss` picks is inspected as a validator of its own (and named in `issuerName`); a token no
 * configuration would judge is decoded only, its `iss` check failed with the validator's answer.
 */
async function inspectAcrossIssuers(
  token: string,
  options: MultiIssuerOptions,
  settings: InspectSettings,
): Promise<TokenInspection> {
  const picked = await pickConfiguration(createMultiIssuerValidator(options), token)
  if ('name' in picked) {
    const entry = options.issuers[picked.name] as ValidatorOptions
    const report = await inspectToken(token, { ...entry, name: picked.name }, settings)
    return { ...report, issuerName: picked.name }
  }
  const report = await inspectToken(token, undefined, settings)
  if (report.verdict === 'rejected') return report
  const { error } = picked
  return {
    ...report,
    verdict: 'rejected',
    error,
    checks: report.checks.map((check) =>
      check.name === 'iss' ? { name: 'iss', status: 'fail', detail: error.message, error } : check,
    ),
  }
}
