/**
 * What the core decides about a request: it may proceed (as a verified caller, or anonymously
 * when credentials are optional), or it is rejected with an error that carries everything needed
 * to answer (status, challenges, headers). Adapters only translate a decision into their
 * framework's flow.
 */
import { BearerGuardError } from './errors.js'
import type { AuthInfo } from './types.js'

/** The decision to let a request proceed. */
export interface Accepted {
  /** The verified caller; `undefined` for an anonymous request when credentials are optional. */
  readonly auth: AuthInfo | undefined
  readonly error: undefined
  /** Response headers to send with the answer (none yet; a `DPoP-Nonce` will travel here). */
  readonly headers: Readonly<Record<string, string>> | undefined
}

/** The decision to reject a request: the error carries its status and rendered headers. */
export interface Rejected {
  readonly auth: undefined
  /** An http-errors compatible error with `status`, `expose` and `headers` (`WWW-Authenticate`, `Retry-After`). */
  readonly error: BearerGuardError
  /** Response headers to send with the answer besides the error's own. */
  readonly headers: Readonly<Record<string, string>> | undefined
}

/**
 * What the core decides about a request (`Validator.decide`): `auth` when it may proceed, `error`
 * when it is rejected; `headers` to send whatever the answer.
 *
 * @example
 * ```ts
 * const { auth, error, headers } = await validator.decide(request)
 * ```
 */
export type Decision = Accepted | Rejected

/**
 * An accepted decision for `auth`, made with `new` rather than an object literal, for the reason
 * AuthRecord in caller-rules.ts gives: the token cache keeps some, and V8 would then allocate
 * every later one from a literal straight in the old generation. A plain object to anyone who
 * looks (its prototype is Object.prototype).
 */
function AcceptedRecord(this: Record<string, unknown>, auth: AuthInfo) {
  this.auth = auth
  this.error = undefined
  this.headers = undefined
}
AcceptedRecord.prototype = Object.prototype
const AcceptedOf = AcceptedRecord as unknown as new (auth: AuthInfo) => Accepted

/** The decision to let the caller `auth` proceed, with no headers. */
export function acceptedFor(auth: AuthInfo): Accepted {
  return new AcceptedOf(auth)
}

/** The decision for a request without credentials when they are optional. */
export const ANONYMOUS: Accepted = Object.freeze({
  auth: undefined,
  error: undefined,
  headers: undefined,
})

/**
 * Runs `apply` on a decision as soon as it is made: at once when it was synchronous, else when
 * the promise settles (`fail` gets an error that is not a rejection). What every adapter does.
 *
 * @example
 * ```ts
 * whenDecided(validator.decide(req), (decision) => apply(decision), next)
 * ```
 */
export function whenDecided(
  decision: Decision | Promise<Decision>,
  apply: (decision: Decision) => void,
  fail: (error: unknown) => void,
): void {
  if (decision instanceof Promise) decision.then(apply, fail)
  else apply(decision)
}

/** What an error handler sends for a rejection: its status, its headers and a small JSON body. */
export interface ErrorAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /**
   * `{ error, error_description }`: the RFC 6750 code (or the status text for a 401 without
   * credentials or a 503) and, for a 4xx, the public description. Never a stack or the token.
   */
  readonly body: { readonly error: string; readonly error_description?: string }
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  401: 'unauthorized',
  503: 'temporarily_unavailable',
}

/**
 * The answer to send for a bearer-guard rejection (from any build of bearer-guard), or
 * `undefined` for any other error, which the application's own handler should see. What the
 * frameworks' ready error handlers send.
 *
 * @example
 * ```ts
 * const answer = errorAnswer(err)
 * if (answer) res.status(answer.status).set(answer.headers).json(answer.body)
 * ```
 */
export function errorAnswer(error: unknown): ErrorAnswer | undefined {
  if (!(error instanceof BearerGuardError)) return undefined
  const headers: Record<string, string> = {}
  for (const name of Object.keys(error.headers)) headers[name] = error.headers[name] as string
  const code = error.code ?? STATUS_TEXT[error.status] ?? 'error'
  return {
    status: error.status,
    headers,
    body: error.expose ? { error: code, error_description: error.message } : { error: code },
  }
}
