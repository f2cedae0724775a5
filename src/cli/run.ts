/**
 * `bearer-guard inspect`: the command line over {@link inspectToken}. Reads the options, prints
 * the decoded token and one PASS / FAIL / SKIP line per check, and answers with an exit code:
 * 0 when the token would be accepted, 1 when it would be rejected (or could not be fully
 * checked), 2 for a usage error. The token goes nowhere: only the configured JWKS or discovery
 * URL is fetched.
 */
import { open } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'
import { requireAuthContext } from '../auth-contexts.js'
import { extractBearerToken } from '../authorization.js'
import { azureAd } from '../azure.js'
import {
  describeTime,
  inspectToken,
  isUnprovenCertificate,
  type TokenInspection,
} from '../inspect.js'
import type { ValidatorOptions } from '../options.js'
import { requireStepUp } from '../step-up.js'
import type { Guard } from '../types.js'

/** Where the command reads and writes; the process streams, or buffers in tests. */
export interface CliIO {
  /** Writes to standard output. */
  stdout(text: string): void
  /** Writes to standard error. */
  stderr(text: string): void
  /** Reads all of standard input (for the token `-`). */
  stdin(): Promise<string>
}

/**
 * Exit codes: accepted, rejected (or not fully checked), usage error.
 *
 * @example
 * ```ts
 * if ((await runCli(args, io)) === EXIT.usage) process.stderr.write('see --help\n')
 * ```
 */
export const EXIT = { accepted: 0, rejected: 1, usage: 2 } as const

/**
 * The text of `bearer-guard --help`, also printed after a usage error.
 *
 * @example
 * ```ts
 * process.stdout.write(USAGE)
 * ```
 */
export const USAGE = `Usage: bearer-guard inspect <token | -> [options]

Decodes a JWT access token and makes every check bearer-guard's validator makes, printing
PASS, FAIL or SKIP for each, and why. "-" reads the token from standard input. The token is
never sent anywhere: only the JWKS or discovery URL given is fetched.

Any issuer:
  --issuer <iss>            an accepted issuer (repeat for several)
  --audience <aud>          an accepted audience (repeat for several)
  --jwks <url>              the issuer's JWKS URL
  --discovery <url>         or its OpenID Connect discovery document
                            (neither: one https --issuer's own discovery document)

Entra ID (Azure AD):
  --azure-tenant <tenant>   tenant id, verified domain, organizations or common
  --client-id <guid>        the API's application (client) id (or --audience)
  --allowed-tenants <list>  multi-tenant: comma-separated tenant ids, or *
  --cloud <name>            public (default), usgovernment or china
  --instance <url>          another login instance (an emulator, say)
  --jwks <url>              overrides the tenant's JWKS URL

Rules:
  --clock-tolerance <s>     leeway for exp, nbf and iat (default 60)
  --max-token-age <s>       refuse tokens issued longer ago than this
  --certificate <file>      the client certificate (PEM) the token came with: checks a
                            certificate-bound token's cnf x5t#S256 (RFC 8705) against it

What a route asks (its answer is printed, and a refusal exits 1):
  --auth-context <id>       the route needs this Entra ID authentication context (c1...)
  --acr-values <list>       step-up (RFC 9470): comma-separated acr values the route accepts
  --max-age <s>             step-up: the user authenticated at most this long ago

Output:
  --json                    print the report as JSON
  --now <epoch>             check times as of this moment, in seconds since the epoch
                            (a debugging aid, for a token captured earlier)
  -h, --help                show this help
  -v, --version             show bearer-guard's version

Without --issuer, --audience and a key source, or --azure-tenant, the token is decoded and
checked only where no configuration is needed.

Exit code: 0 accepted, 1 rejected or not fully checked, 2 usage error.
`

class UsageError extends Error {}

const ARGS = {
  issuer: { type: 'string', multiple: true },
  audience: { type: 'string', multiple: true },
  jwks: { type: 'string' },
  discovery: { type: 'string' },
  'azure-tenant': { type: 'string' },
  'client-id': { type: 'string' },
  'allowed-tenants': { type: 'string' },
  cloud: { type: 'string' },
  instance: { type: 'string' },
  'clock-tolerance': { type: 'string' },
  'max-token-age': { type: 'string' },
  certificate: { type: 'string' },
  'auth-context': { type: 'string' },
  'acr-values': { type: 'string' },
  'max-age': { type: 'string' },
  json: { type: 'boolean' },
  now: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const

// The flag of each option the flags set: an option error names the flag the user typed.
const FLAG_OF: Readonly<Record<string, string>> = {
  issuer: '--issuer',
  audience: '--audience',
  certificate: '--certificate',
  jwksUri: '--jwks',
  discoveryUrl: '--discovery',
  tenant: '--azure-tenant',
  clientId: '--client-id',
  allowedTenants: '--allowed-tenants',
  cloud: '--cloud',
  instance: '--instance',
  clockTolerance: '--clock-tolerance',
  maxTokenAge: '--max-token-age',
}

/** An option error in the words of the command line: `"clockTolerance" option` becomes `--clock-tolerance`. */
function inFlags(message: string): string {
  return message.replace(
    /"(\w+)" (?:options?|settings?)/g,
    (whole, name: string) => FLAG_OF[name] ?? whole,
  )
}

/** bearer-guard's version, from the package.json above this file (src/cli or dist). */
function packageVersion(): string {
  const require = createRequire(import.meta.url)
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const manifest = require(path) as { name?: unknown; version?: unknown }
      if (manifest.name === 'bearer-guard' && typeof manifest.version === 'string') {
        return manifest.version
      }
    } catch {
      // Not there: try the next level up.
    }
  }
  return 'unknown'
}

type Values = ReturnType<
  typeof parseArgs<{ options: typeof ARGS; allowPositionals: true }>
>['values']

// The last second a JavaScript Date can hold.
const MAX_SECONDS = 8_640_000_000_000

function seconds(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (value.trim() === '' || !(number >= 0 && number <= MAX_SECONDS)) {
    throw new UsageError(`--${name} must be a number of seconds`)
  }
  return number
}

/** The validator options the flags describe, or `undefined` to decode only. */
function toOptions(values: Values): ValidatorOptions | undefined {
  const rules = {
    ...(values['clock-tolerance'] === undefined
      ? {}
      : { clockTolerance: seconds('clock-tolerance', values['clock-tolerance']) }),
    ...(values['max-token-age'] === undefined
      ? {}
      : { maxTokenAge: seconds('max-token-age', values['max-token-age']) }),
    // One token, checked once: nothing to cache.
    tokenCache: false as const,
    ...(values.certificate === undefined ? {} : { certificateBinding: true }),
  }
  const audience = values.audience
  if (values['azure-tenant'] !== undefined) {
    if (values.issuer !== undefined || values.discovery !== undefined) {
      throw new UsageError(
        '--azure-tenant sets the issuers and keys: drop --issuer and --discovery',
      )
    }
    const allowed = values['allowed-tenants']
    return azureAd({
      tenant: values['azure-tenant'],
      ...(values['client-id'] === undefined ? {} : { clientId: values['client-id'] }),
      ...(audience === undefined ? {} : { audience }),
      ...(allowed === undefined
        ? {}
        : { allowedTenants: allowed === '*' ? '*' : allowed.split(',').map((id) => id.trim()) }),
      ...(values.jwks === undefined ? {} : { jwksUri: values.jwks }),
      ...(values.cloud === undefined ? {} : { cloud: values.cloud as 'public' }),
      ...(values.instance === undefined ? {} : { instance: values.instance }),
      ...rules,
    })
  }
  for (const name of ['client-id', 'allowed-tenants', 'cloud', 'instance'] as const) {
    if (values[name] !== undefined) throw new UsageError(`--${name} needs --azure-tenant`)
  }
  const keySource = values.jwks ?? values.discovery
  const given = [values.issuer, audience, keySource]
  if (given.every((value) => value === undefined)) return undefined
  // One issuer and no key source: the validator reads the issuer's discovery document.
  const discovers = keySource === undefined && values.issuer?.length === 1
  if (
    values.issuer === undefined ||
    audience === undefined ||
    (keySource === undefined && !discovers)
  ) {
    throw new UsageError(
      'give --issuer and --audience, with --jwks or --discovery (or one https --issuer alone, whose discovery document names its keys), or none of them to decode only',
    )
  }
  if (values.jwks !== undefined && values.discovery !== undefined) {
    throw new UsageError('give --jwks or --discovery, not both')
  }
  return {
    issuer: discovers ? (values.issuer[0] as string) : values.issuer,
    audience,
    ...(values.jwks !== undefined
      ? { jwksUri: values.jwks }
      : values.discovery !== undefined
        ? { discoveryUrl: values.discovery }
        : {}),
    ...rules,
  }
}

/** The guards of the route the flags describe, or `undefined` when they describe none. */
function toGuards(values: Values): Guard[] | undefined {
  const guards: Guard[] = []
  if (values['auth-context'] !== undefined) guards.push(requireAuthContext(values['auth-context']))
  const acrValues = values['acr-values']?.split(',').map((value) => value.trim())
  const maxAge = seconds('max-age', values['max-age'])
  if (acrValues !== undefined || maxAge !== undefined) {
    guards.push(
      requireStepUp({
        ...(acrValues === undefined ? {} : { acrValues }),
        ...(maxAge === undefined ? {} : { maxAge: Math.floor(maxAge) }),
      }),
    )
  }
  return guards.length === 0 ? undefined : guards
}

/** A value from the token, printable whatever it holds (control characters escaped). */
function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value)
}

function showName(name: string): string {
  return /^[\w.:-]{1,40}$/.test(name) ? name : show(name)
}

const TIME_CLAIMS = new Set(['exp', 'nbf', 'iat', 'auth_time'])

function section(
  title: string,
  values: Readonly<Record<string, unknown>>,
  now: number | undefined,
): string[] {
  const names = Object.keys(values)
  const width = Math.min(Math.max(...names.map((name) => showName(name).length), 3), 24)
  const lines = [title]
  for (const name of names) {
    const value = values[name]
    const time =
      now !== undefined && TIME_CLAIMS.has(name) && typeof value === 'number'
        ? `  ${describeTime(value, now)}`
        : ''
    lines.push(`  ${showName(name).padEnd(width)}  ${show(value)}${time}`)
  }
  return lines
}

/**
 * The report as text: header, claims (times as ISO dates and relative), one line per check,
 * and the verdict with the response the API would give.
 *
 * @example
 * ```ts
 * process.stdout.write(formatInspection(await inspectToken(token, options)))
 * ```
 */
export function formatInspection(report: TokenInspection): string {
  const lines: string[] = []
  if (report.decodedLeniently) {
    lines.push('(decoded leniently, for display only: the validator refuses the token unread)', '')
  }
  if (report.header !== undefined) lines.push(...section('Header', report.header, undefined), '')
  if (report.claims !== undefined) lines.push(...section('Claims', report.claims, report.now), '')
  lines.push(`Checks at ${new Date(report.now * 1000).toISOString()}`)
  const width = Math.max(...report.checks.map((check) => check.name.length))
  const unreadable = report.checks[0]?.name === 'format' && report.checks[0].status === 'fail'
  // A token that cannot be read: its one failure, not a list of checks that could not run.
  for (const check of unreadable ? report.checks.slice(0, 1) : report.checks) {
    lines.push(`  ${check.status.toUpperCase()}  ${check.name.padEnd(width)}  ${check.detail}`)
  }
  if (unreadable)
    lines.push(`  (the other ${report.checks.length - 1} checks need a readable token)`)
  lines.push('')
  const auth = report.authentication
  // Only for tokens that say something of it, so other reports stay as they were.
  const said =
    auth.clientCapabilities.length > 0 ||
    auth.authContexts.length > 0 ||
    auth.acr !== undefined ||
    auth.authTime !== undefined
  if (said) {
    lines.push(
      'Authentication',
      `  xms_cc     ${show(auth.clientCapabilities)} (${auth.handlesClaimsChallenges ? 'cp1: the client handles claims challenges' : 'no cp1: the client cannot answer a claims challenge'})`,
      `  acrs       ${show(auth.authContexts)}`,
      `  acr        ${auth.acr === undefined ? 'none' : show(auth.acr)}`,
      `  auth_time  ${auth.authTime === undefined ? 'none' : describeTime(auth.authTime, report.now)}`,
      '',
    )
  }
  const { error } = report
  if (report.verdict === 'accepted') lines.push('Verdict: ACCEPTED')
  else if (report.verdict === 'incomplete' && report.checks.some(isUnprovenCertificate)) {
    lines.push(
      'Verdict: NOT FULLY CHECKED: the token is bound to a client certificate (cnf x5t#S256):',
      '  give --certificate <file> with the PEM of the client certificate to check the binding',
    )
  } else if (report.verdict === 'incomplete') {
    lines.push(
      'Verdict: NOT FULLY CHECKED: give --issuer, --audience and --jwks or --discovery (or',
      '--azure-tenant) to check the issuer, audience, key and signature',
    )
  } else if (error !== undefined) {
    lines.push(`Verdict: REJECTED (${error.reason}). The API answers ${error.status}`)
    for (const [name, value] of Object.entries(error.headers)) lines.push(`  ${name}: ${value}`)
  }
  const { route } = report
  if (route !== undefined) {
    lines.push(`Route: ${route.status.toUpperCase()}  ${route.detail}`)
    if (route.error !== undefined) {
      lines.push(`  The route answers ${route.error.status}`)
      for (const [name, value] of Object.entries(route.error.headers)) {
        lines.push(`  ${name}: ${value}`)
      }
    }
  }
  return `${lines.join('\n')}\n`
}

/** The report as a JSON-ready object: the error reduced to what a client sees. */
function toJson(report: TokenInspection): object {
  const { error } = report
  return {
    verdict: report.verdict,
    response:
      error === undefined
        ? null
        : {
            status: error.status,
            code: error.code ?? null,
            reason: error.reason,
            description: error.message,
            headers: { ...error.headers },
          },
    now: report.now,
    header: report.header ?? null,
    claims: report.claims ?? null,
    decodedLeniently: report.decodedLeniently,
    keyIds: report.keyIds,
    checks: report.checks.map(({ name, status, detail }) => ({ name, status, detail })),
    authentication: report.authentication,
    route:
      report.route === undefined
        ? null
        : {
            status: report.route.status,
            detail: report.route.detail,
            response:
              report.route.error === undefined
                ? null
                : {
                    status: report.route.error.status,
                    code: report.route.error.code ?? null,
                    reason: report.route.error.reason,
                    headers: { ...report.route.error.headers },
                  },
          },
  }
}

/** What to do next for a certificate-bound token inspected without --certificate. */
function certificateHint(report: TokenInspection, certificate: string | undefined): string {
  const cnf = report.claims?.cnf as Record<string, unknown> | undefined
  if (certificate !== undefined || typeof cnf?.['x5t#S256'] !== 'string') return ''
  return 'Hint: the token is bound to a client certificate (cnf x5t#S256): give --certificate <file>\nwith the PEM of the certificate the client presents to check the binding\n'
}

/** The PEM of --certificate, read from its file (bounded: a certificate is a few KB). */
async function readCertificate(
  path: string | undefined,
  options: ValidatorOptions | undefined,
): Promise<string | undefined> {
  if (path === undefined) return undefined
  if (options === undefined) {
    throw new UsageError('--certificate needs the options to check the token with (--issuer...)')
  }
  // At most 64 KB + 1 byte is read, whatever the file is (/dev/zero, a disk image...).
  const limit = 64 * 1024
  let text: string
  try {
    const file = await open(path, 'r')
    try {
      const buffer = Buffer.alloc(limit + 1)
      const { bytesRead } = await file.read(buffer, 0, limit + 1, null)
      if (bytesRead > limit) throw new UsageError('--certificate: the file is over 64 KB')
      text = buffer.toString('utf8', 0, bytesRead)
    } finally {
      await file.close()
    }
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError(
      `--certificate: cannot read ${show(path)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    )
  }
  return text
}

async function readToken(argument: string, io: CliIO): Promise<string> {
  // A trailing newline is how a token arrives on standard input; it is not part of it.
  const raw = argument === '-' ? (await io.stdin()).replace(/\s+$/, '') : argument
  if (raw === '') throw new UsageError('the token is empty')
  // A whole Authorization value pasted in: take the token the way the API would.
  if (/^bearer /i.test(raw)) {
    try {
      return extractBearerToken(raw) ?? raw
    } catch (error) {
      throw new UsageError(`the Authorization value is malformed: ${(error as Error).message}`)
    }
  }
  return raw
}

/**
 * Runs `bearer-guard` with its arguments (without `node` and the script) and resolves with the
 * exit code: 0 accepted, 1 rejected or not fully checked, 2 usage error.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), io)
 * ```
 */
export async function runCli(args: readonly string[], io: CliIO): Promise<number> {
  let values: Values
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({
      args: [...args],
      options: ARGS,
      allowPositionals: true,
      strict: true,
    }))
  } catch (error) {
    io.stderr(`bearer-guard: ${(error as Error).message}\n\n${USAGE}`)
    return EXIT.usage
  }
  if (values.help === true) {
    io.stdout(USAGE)
    return EXIT.accepted
  }
  if (values.version === true) {
    io.stdout(`bearer-guard ${packageVersion()}\n`)
    return EXIT.accepted
  }
  const [command, tokenArgument, ...extra] = positionals
  try {
    if (command !== 'inspect') {
      throw new UsageError(
        command === undefined ? 'no command' : `unknown command ${show(command)}`,
      )
    }
    if (tokenArgument === undefined) throw new UsageError('no token: give it, or - for stdin')
    if (extra.length > 0) throw new UsageError('give one token only')
    const options = toOptions(values)
    const now = seconds('now', values.now)
    const token = await readToken(tokenArgument, io)
    const guards = toGuards(values)
    const certificate = await readCertificate(values.certificate, options)
    const report = await inspectToken(token, options, {
      ...(now === undefined ? {} : { now: Math.floor(now) }),
      ...(guards === undefined ? {} : { guards }),
      ...(certificate === undefined ? {} : { certificate }),
    })
    io.stdout(
      values.json === true
        ? `${JSON.stringify(toJson(report), null, 2)}\n`
        : formatInspection(report) + certificateHint(report, certificate),
    )
    return report.verdict === 'accepted' && report.route?.status !== 'fail'
      ? EXIT.accepted
      : EXIT.rejected
  } catch (error) {
    // A TypeError comes from the options (createValidator's own checks name the option).
    if (error instanceof UsageError || error instanceof TypeError) {
      io.stderr(`bearer-guard: ${inFlags(error.message)}\n\n${USAGE}`)
      return EXIT.usage
    }
    throw error
  }
}
