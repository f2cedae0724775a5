/**
 * Immutability of what a validator hands out. A verified token's `AuthInfo` is shared by every
 * request that repeats the token (the verified-token cache), so nothing reachable from it may be
 * changeable by one request and seen by the next (DESIGN.md, non-negotiables).
 */

/**
 * Freezes a decoded JSON value all the way down: the object itself and every object and array
 * it holds. Iterative, so a deeply nested claim (as deep as `maxTokenLength` allows) cannot
 * exhaust the stack.
 *
 * @example
 * ```ts
 * const claims = deepFreeze(JSON.parse('{"roles":["a"],"x":{"y":[1]}}'))
 * Object.isFrozen(claims.x.y) // true
 * ```
 */
export function deepFreeze<T extends object>(value: T): T {
  const pending: object[] = [value]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    Object.freeze(next)
    if (Array.isArray(next)) {
      for (let i = 0; i < next.length; i++) {
        const item: unknown = next[i]
        if (typeof item === 'object' && item !== null && !Object.isFrozen(item)) pending.push(item)
      }
    } else {
      for (const name in next) {
        const item: unknown = (next as Record<string, unknown>)[name]
        if (typeof item === 'object' && item !== null && !Object.isFrozen(item)) pending.push(item)
      }
    }
  }
  return value
}

const refuse = (): never => {
  throw new TypeError('a date of a verified token cannot be changed')
}

/**
 * A `Date` whose setters throw: `Object.freeze` does not protect a Date's time, and `expiresAt` /
 * `issuedAt` of a cached `AuthInfo` are shared between requests. It is a `Date` in every other
 * respect (`instanceof Date`, `getTime()`, `toISOString()`, JSON).
 */
export class ImmutableDate extends Date {}
for (const name of Object.getOwnPropertyNames(Date.prototype)) {
  if (name.startsWith('set')) {
    Object.defineProperty(ImmutableDate.prototype, name, {
      value: refuse,
      writable: false,
      enumerable: false,
      configurable: false,
    })
  }
}
Object.freeze(ImmutableDate.prototype)
