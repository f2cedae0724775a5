/**
 * A token parsed once for two readers: a multi-issuer validator parses a token to read its
 * `iss`, then hands the request to the configuration of that issuer, which would parse the same
 * string again. The parse is handed over through this one slot instead, for the synchronous
 * call in between only (nothing else can run there), and only for the very string parsed.
 */
import type { ResolvedOptions } from './options.js'
import { type ParsedToken, parseAccessToken } from './token.js'

let handedToken: string | undefined
let handedParse: ParsedToken | undefined

/**
 * Runs `run` with `parsed` waiting for the validator that parses `token` next.
 *
 * @example
 * ```ts
 * const decision = handOver(token, parseToken(token, options), () => chosen.decide(request))
 * ```
 */
export function handOver<T>(token: string, parsed: ParsedToken, run: () => T): T {
  handedToken = token
  handedParse = parsed
  try {
    return run()
  } finally {
    handedToken = undefined
    handedParse = undefined
  }
}

/**
 * The parse of `token`: the one handed over for this very string when there is one (and the
 * token is within this validator's `maxTokenLength`), else {@link parseAccessToken}'s.
 *
 * @example
 * ```ts
 * const parsed = parsedToken(token, options)
 * ```
 */
export function parsedToken(token: string, options: ResolvedOptions): ParsedToken {
  if (handedToken === undefined || handedToken !== token) return parseAccessToken(token, options)
  const parsed = handedParse as ParsedToken
  handedToken = undefined
  handedParse = undefined
  return token.length <= options.maxTokenLength ? parsed : parseAccessToken(token, options)
}
