import createError from 'http-errors'
import { describe, expect, it } from 'vitest'
import {
  BearerGuardError,
  DEFAULT_REALM,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  KeysUnavailableError,
  UnauthorizedError,
} from '../../src/index.js'

const options = { reason: 'expired', realm: 'api' } as const

describe('BearerGuardError', () => {
  const cases: [string, BearerGuardError, number][] = [
    ['UnauthorizedError', new UnauthorizedError({ reason: 'missing_token', realm: 'api' }), 401],
    ['InvalidRequestError', new InvalidRequestError('bad header', options), 400],
    ['InvalidTokenError', new InvalidTokenError('the token expired 2 min ago', options), 401],
    ['InsufficientScopeError', new InsufficientScopeError('missing scope', options), 403],
    ['KeysUnavailableError', new KeysUnavailableError(5, options), 503],
  ]

  it.each(cases)(
    '%s is an http-errors compatible error with status, statusCode and expose',
    (name, error, status) => {
      expect(error).toBeInstanceOf(Error)
      expect(error).toBeInstanceOf(BearerGuardError)
      // http-errors' own check, from the real package (a dev dependency only).
      expect(createError.isHttpError(error)).toBe(true)
      expect(error.name).toBe(name)
      expect(error.status).toBe(status)
      expect(error.statusCode).toBe(status)
      // Koa and finalhandler show the message of an exposed (4xx) error only.
      expect(error.expose).toBe(status < 500)
    },
  )

  it.each(cases)(
    '%s has a stack of one line, so no handler prints code locations',
    (name, error) => {
      expect(error.stack).toBe(`${name}: ${error.message}`)
      expect(error.stack).not.toContain('\n')
      expect(error.stack).not.toMatch(/\bat /)
    },
  )

  it('keeps the underlying error as cause', () => {
    const cause = new Error('jose said no')
    const error = new InvalidTokenError('the token signature is invalid', {
      reason: 'bad_signature',
      realm: 'api',
      cause,
    })
    expect(error.cause).toBe(cause)
    expect(error.message).toBe('the token signature is invalid')
    expect(new InvalidTokenError('x', options).cause).toBeUndefined()
    expect('cause' in new InvalidTokenError('x', options)).toBe(false)
  })

  it('exposes WWW-Authenticate under its canonical and lower-case names, sending it once', () => {
    const error = new InvalidTokenError('the token expired 2 min ago', options)
    const value =
      'Bearer realm="api", error="invalid_token", error_description="the token expired 2 min ago"'
    expect(error.headers['WWW-Authenticate']).toBe(value)
    expect(error.headers['www-authenticate']).toBe(value)
    expect(Object.keys(error.headers)).toEqual(['WWW-Authenticate'])
    expect(JSON.parse(JSON.stringify(error.headers))).toEqual({ 'WWW-Authenticate': value })
  })

  it('uses "api" as the default realm', () => {
    expect(DEFAULT_REALM).toBe('api')
  })
})

describe('UnauthorizedError', () => {
  it('is a 401 without error code whose challenge names only the realm (RFC 6750 §3.1)', () => {
    const error = new UnauthorizedError({ reason: 'missing_token', realm: 'orders' })
    expect(error.code).toBeUndefined()
    expect(error.reason).toBe('missing_token')
    expect(error.message).toBe('Authentication required')
    expect(error.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="orders"' })
  })

  it('takes a custom message without putting it in the challenge', () => {
    const error = new UnauthorizedError({ reason: 'not_authenticated', realm: 'api' }, 'log in')
    expect(error.message).toBe('log in')
    expect(error.headers['WWW-Authenticate']).toBe('Bearer realm="api"')
  })
})

describe('InvalidRequestError', () => {
  it('is a 400 invalid_request whose challenge carries the description', () => {
    const error = new InvalidRequestError('more than one Authorization header was sent', {
      reason: 'multiple_authorization',
      realm: 'api',
    })
    expect(error.code).toBe('invalid_request')
    expect(error.reason).toBe('multiple_authorization')
    expect(error.headers['WWW-Authenticate']).toBe(
      'Bearer realm="api", error="invalid_request", error_description="more than one Authorization header was sent"',
    )
  })
})

describe('InvalidTokenError', () => {
  it('is a 401 invalid_token whose challenge description is sanitised', () => {
    const error = new InvalidTokenError('iss "x"\n\\', { reason: 'wrong_issuer', realm: 'api' })
    expect(error.code).toBe('invalid_token')
    expect(error.headers['WWW-Authenticate']).toBe(
      `Bearer realm="api", error="invalid_token", error_description="iss 'x'??"`,
    )
  })
})

describe('InsufficientScopeError', () => {
  it('is a 403 insufficient_scope naming the scopes space-separated', () => {
    const error = new InsufficientScopeError('the token lacks a scope this resource requires', {
      reason: 'missing_scope',
      realm: 'api',
      scopes: ['a', 'b'],
    })
    expect(error.status).toBe(403)
    expect(error.code).toBe('insufficient_scope')
    expect(error.scopes).toEqual(['a', 'b'])
    expect(error.headers['WWW-Authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="the token lacks a scope this resource requires", scope="a b"',
    )
  })

  it('has no scope parameter when no scopes are given', () => {
    const error = new InsufficientScopeError('role missing', {
      reason: 'missing_role',
      realm: 'api',
    })
    expect(error.scopes).toEqual([])
    expect(error.headers['WWW-Authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="role missing"',
    )
  })
})

describe('KeysUnavailableError', () => {
  it('is a 503 without WWW-Authenticate and with Retry-After', () => {
    const error = new KeysUnavailableError(5, { reason: 'keys_unavailable', realm: 'api' })
    expect(error.code).toBeUndefined()
    expect(error.reason).toBe('keys_unavailable')
    expect(error.message).toBe('Signing keys are temporarily unavailable')
    expect(error.headers).toEqual({ 'Retry-After': '5' })
    expect(error.headers['retry-after']).toBe('5')
    expect(error.headers['WWW-Authenticate']).toBeUndefined()
  })

  it.each([
    [0, '1'],
    [-3, '1'],
    [0.3, '1'],
    [1, '1'],
    [1.01, '2'],
    [5.2, '6'],
    [120, '120'],
  ])('rounds a Retry-After of %d seconds up to a positive integer: %s', (seconds, header) => {
    const error = new KeysUnavailableError(seconds, { reason: 'keys_unavailable', realm: 'api' })
    expect(error.headers['Retry-After']).toBe(header)
  })
})

describe('instanceof across builds (Symbol.hasInstance)', () => {
  it('keeps instanceof exact within one build', () => {
    const scope = new InsufficientScopeError('missing', { reason: 'missing_scope' })
    expect(scope).toBeInstanceOf(BearerGuardError)
    expect(scope).toBeInstanceOf(InsufficientScopeError)
    expect(scope instanceof InvalidTokenError).toBe(false)
    expect({ status: 401, reason: 'expired' } instanceof BearerGuardError).toBe(false)
    expect(new Error('x') instanceof BearerGuardError).toBe(false)
    expect((null as unknown) instanceof BearerGuardError).toBe(false)
  })

  it('recognises an error of another copy of the classes by its registered brand and class name', () => {
    // What the other build's copy looks like: its own classes, the same registered symbol.
    const brand = Symbol.for('bearer-guard.error')
    class OtherBase extends Error {}
    Object.defineProperty(OtherBase.prototype, brand, { value: true })
    class InvalidTokenError2 extends OtherBase {}
    Object.defineProperty(InvalidTokenError2, 'name', { value: 'InvalidTokenError' })
    const foreign = new InvalidTokenError2('x')
    expect(foreign instanceof BearerGuardError).toBe(true)
    expect(foreign instanceof InvalidTokenError).toBe(true)
    expect(foreign instanceof InsufficientScopeError).toBe(false)
  })
})
