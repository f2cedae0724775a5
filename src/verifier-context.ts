/**
 * The challenge context (realm, schemes) of the validator that verified an `AuthInfo`, so that
 * a guard's rejection answers in that validator's terms. Recorded once per verified token, only
 * when the validator's context is not the default one.
 */
import { type ChallengeContext, DEFAULT_CHALLENGE_CONTEXT } from './challenge.js'
import type { BearerGuardError } from './errors.js'
import type { AuthInfo } from './types.js'

const contexts = new WeakMap<AuthInfo, ChallengeContext>()

/** Records the challenge context of the validator that produced `auth`. */
export function attachContext(auth: AuthInfo, context: ChallengeContext): void {
  if (context !== DEFAULT_CHALLENGE_CONTEXT) contexts.set(auth, context)
}

/** The challenge context of the validator that produced `auth` (the default when unknown). */
export function challengeContextOf(auth: AuthInfo | undefined): ChallengeContext {
  return (auth === undefined ? undefined : contexts.get(auth)) ?? DEFAULT_CHALLENGE_CONTEXT
}

/** A guard's rejection, rendered for the validator that verified `auth`: where it leaves the core. */
export function rejectionFor<E extends BearerGuardError>(auth: AuthInfo | undefined, error: E): E {
  const context = challengeContextOf(auth)
  return context === DEFAULT_CHALLENGE_CONTEXT ? error : error.render(context)
}
