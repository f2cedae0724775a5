import type { RejectionReason } from './errors.js'

/**
 * Structured events a validator reports through the `onEvent` option, for logs and metrics.
 * No event ever carries a token, a signature or key material.
 *
 * @example
 * ```ts
 * createValidator({ ...options, onEvent: (event) => logger.info(event, `bearer-guard ${event.type}`) })
 * ```
 */
export type BearerGuardEvent =
  | {
      type: 'keys_refreshed'
      /** Key ids now served. */
      keyIds: string[]
      /** Key ids that appeared since the previous fetch. */
      added: string[]
      /** Key ids that disappeared since the previous fetch. */
      removed: string[]
      /** What caused the fetch. */
      trigger: 'initial' | 'unknown_kid' | 'background' | 'expired'
    }
  | {
      /** A refresh found keys added or removed since the previous fetch (after keys_refreshed). */
      type: 'keys_rotated'
      added: string[]
      removed: string[]
    }
  | {
      type: 'keys_refresh_failed'
      /** A short explanation without any response body. */
      message: string
      /** The keys in use keep serving (last known good) when true. */
      servingStaleKeys: boolean
      trigger: 'initial' | 'unknown_kid' | 'background' | 'expired'
    }
  | {
      type: 'token_rejected'
      status: number
      reason: RejectionReason
      /** The public description sent to the client. */
      description: string
      /**
       * The full description, when the public one leaves details out: a token whose signature
       * was not verified is told no clock offset and no configuration value (`expired 3 min ago`
       * becomes `the token has expired`); for a 503, why the keys could not be had (`ENOTFOUND`,
       * `ECONNREFUSED`, a TLS failure, an HTTP status, the size cap, the timeout). For logs; never
       * sent to the client.
       */
      detail?: string
    }

/** Delivers an event without letting a throwing listener break a request. */
export function emitEvent(
  listener: ((event: BearerGuardEvent) => void) | undefined,
  event: BearerGuardEvent,
): void {
  if (listener === undefined) return
  try {
    listener(event)
  } catch {
    // A faulty logger must not turn into a failed request.
  }
}
