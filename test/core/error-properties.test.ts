/**
 * How a rejection looks to code that inspects or serialises it: `name` and `stack` are own,
 * non-enumerable, rewritable properties (so JSON logs and `{ ...err }` carry neither, and a
 * framework may still replace the stack), and the header aliases are not own keys. Every error
 * is made inside its test, so what is checked is the code as it runs now.
 */
import createError from 'http-errors'
import { describe, expect, it } from 'vitest'
import {
  type BearerGuardError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  KeysUnavailableError,
  UnauthorizedError,
} from '../../src/index.js'

const makers: [string, () => BearerGuardError][] = [
  ['UnauthorizedError', () => new UnauthorizedError({ reason: 'missing_token', realm: 'api' })],
  [
    'InvalidRequestError',
    () =>
      new InvalidRequestError('bad header', { reason: 'malformed_authorization', realm: 'api' }),
  ],
  [
    'InvalidTokenError',
    () => new InvalidTokenError('expired', { reason: 'expired', realm: 'api' }),
  ],
  [
    'InsufficientScopeError',
    () =>
      new InsufficientScopeError('needs a scope', {
        reason: 'missing_scope',
        realm: 'api',
        scopes: ['a'],
      }),
  ],
  [
    'KeysUnavailableError',
    () => new KeysUnavailableError(5, { reason: 'keys_unavailable', realm: 'api' }),
  ],
]

describe('BearerGuardError properties', () => {
  it.each(makers)('%s: name is an own, non-enumerable, configurable property', (name, make) => {
    const error = make()
    expect(error.name).toBe(name)
    expect(Object.getOwnPropertyDescriptor(error, 'name')).toEqual({
      value: name,
      enumerable: false,
      configurable: true,
      writable: false,
    })
  })

  it.each(makers)(
    '%s: stack is "name: message", own, non-enumerable and rewritable',
    (name, make) => {
      const error = make()
      expect(Object.getOwnPropertyDescriptor(error, 'stack')).toEqual({
        value: `${name}: ${error.message}`,
        enumerable: false,
        configurable: true,
        writable: true,
      })
      error.stack = 'replaced by a framework'
      expect(error.stack).toBe('replaced by a framework')
    },
  )

  it.each(makers)('%s: serialises without name, stack or lower-case header aliases', (_, make) => {
    const error = make()
    const json = JSON.parse(JSON.stringify(error)) as Record<string, unknown>
    expect(json).not.toHaveProperty('stack')
    expect(json).not.toHaveProperty('name')
    expect(Object.keys(error.headers)).toEqual(
      error.status === 503 ? ['Retry-After'] : ['WWW-Authenticate'],
    )
    expect({ ...error.headers }).toEqual(
      error.status === 503
        ? { 'Retry-After': '5' }
        : { 'WWW-Authenticate': error.headers['www-authenticate'] },
    )
    expect(createError.isHttpError(error)).toBe(true)
  })

  it("leaves the process's Error.stackTraceLimit as it found it", () => {
    const before = Error.stackTraceLimit
    for (const [, make] of makers) make()
    expect(Error.stackTraceLimit).toBe(before)
    expect(new Error('elsewhere').stack).toMatch(/\n\s+at /)
  })

  it('keeps the cause it was given, and has none otherwise', () => {
    const cause = new Error('jose said no')
    expect(new InvalidTokenError('x', { reason: 'expired', realm: 'api', cause }).cause).toBe(cause)
    expect(new InvalidTokenError('x', { reason: 'expired', realm: 'api' }).cause).toBeUndefined()
    expect('cause' in new InvalidTokenError('x', { reason: 'expired', realm: 'api' })).toBe(false)
  })
})
