/**
 * What the core decides about a request: it may proceed (as a verified caller, or anonymously
 * when credentials are optional), or it is rejected with an error that carries everything needed
 * to answer (status, challenges, headers). Adapters only translate a decision into their
 * framework's flow.
 */
import type { BearerGuardError } from './errors.js'
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
  /** An http-errors error with `status`, `expose` and `headers` (`WWW-Authenticate`, `Retry-After`). */
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
