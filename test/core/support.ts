/**
 * Small assertions shared by the core tests: how a rejection must look (RFC 6750 §3), and the
 * exact challenges bearer-guard sends.
 */
import { expect } from 'vitest'
import { BearerGuardError } from '../../src/index.js'
import { resolveOptions } from '../../src/options.js'
import { parseToken } from '../../src/token.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, b64url, ISSUER } from '../helpers/tokens.js'

const parserOptions = resolveOptions({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })

/** `Bearer realm="api"`: the challenge for a request without credentials (RFC 6750 §3.1). */
export const NO_CREDENTIALS = 'Bearer realm="api"'

/** The exact 401 `invalid_token` challenge for `description`. */
export function invalidToken(description: string, realm = 'api'): string {
  return `Bearer realm="${realm}", error="invalid_token", error_description="${description}"`
}

/** The exact 400 `invalid_request` challenge for `description`. */
export function invalidRequest(description: string, realm = 'api'): string {
  return `Bearer realm="${realm}", error="invalid_request", error_description="${description}"`
}

/** The exact 403 `insufficient_scope` challenge. */
export function insufficientScope(description: string, scope?: string, realm = 'api'): string {
  const scopePart = scope === undefined ? '' : `, scope="${scope}"`
  return `Bearer realm="${realm}", error="insufficient_scope", error_description="${description}"${scopePart}`
}

/**
 * Awaits `promise` and returns its rejection, failing the test when it resolves or when the
 * rejection is anything but a BearerGuardError (a raw TypeError, say).
 */
export async function rejectionOf(promise: Promise<unknown>): Promise<BearerGuardError> {
  const outcome = await promise.then(
    (value) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  )
  if (outcome.resolved) {
    throw new Error(`expected a rejection, but it resolved (subject ${summarize(outcome.value)})`)
  }
  expect(outcome.error).toBeInstanceOf(BearerGuardError)
  return outcome.error as BearerGuardError
}

/** Runs `fn` and returns what it threw, failing the test when it returns. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw')
}

function summarize(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'subject' in value) {
    return String((value as { subject: unknown }).subject)
  }
  return typeof value
}

/** Asserts the full shape of a 401 `invalid_token` rejection. */
export function expectInvalidToken(
  error: BearerGuardError,
  reason: string,
  description: string,
  realm = 'api',
): void {
  expect({
    status: error.status,
    code: error.code,
    reason: error.reason,
    message: error.message,
    challenge: error.headers['WWW-Authenticate'],
  }).toEqual({
    status: 401,
    code: 'invalid_token',
    reason,
    message: description,
    challenge: invalidToken(description, realm),
  })
  expect(error.expose).toBe(true)
}

/** Asserts the full shape of a 400 `invalid_request` rejection. */
export function expectInvalidRequest(
  error: unknown,
  reason: string,
  description: string,
  realm = 'api',
): void {
  expect(error).toBeInstanceOf(BearerGuardError)
  const e = error as BearerGuardError
  expect({
    status: e.status,
    code: e.code,
    reason: e.reason,
    message: e.message,
    challenge: e.headers['WWW-Authenticate'],
  }).toEqual({
    status: 400,
    code: 'invalid_request',
    reason,
    message: description,
    challenge: invalidRequest(description, realm),
  })
  expect(e.expose).toBe(true)
}

/** Asserts a 503 for unavailable keys: Retry-After, no challenge, not exposed. */
export function expectKeysUnavailable(error: BearerGuardError, retryAfter?: string): void {
  expect(error.status).toBe(503)
  expect(error.code).toBeUndefined()
  expect(error.reason).toBe('keys_unavailable')
  expect(error.expose).toBe(false)
  expect(error.headers['WWW-Authenticate']).toBeUndefined()
  expect(error.headers['www-authenticate']).toBeUndefined()
  if (retryAfter === undefined) expect(error.headers['Retry-After']).toMatch(/^[1-9][0-9]*$/)
  else expect(error.headers['Retry-After']).toBe(retryAfter)
}

/**
 * Whether the token parser accepts `segment` as a token's signature segment (between a valid
 * header and payload): exactly when it is canonical unpadded base64url.
 */
export function parsesAsSignature(segment: string): boolean {
  const token = `${b64url('{"alg":"RS256"}')}.${b64url('{"iss":"x"}')}.${segment}`
  try {
    parseToken(token, parserOptions)
    return true
  } catch {
    return false
  }
}
