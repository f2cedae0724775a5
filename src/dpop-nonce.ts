/**
 * Server-provided DPoP nonces (RFC 9449 §8, §9): a nonce names a time slot and carries an HMAC
 * of it, so any replica that shares the secret can check it without storing anything. A nonce
 * is good in its own slot and the next one (rotation: the answer then carries the new nonce in
 * `DPoP-Nonce`); an older one, or one made with another secret, is refused with
 * `use_dpop_nonce` and the current nonce.
 */
import { decodeBase64url, encodeBase64url, hmacSha256, randomBytes, timingSafeEqual } from '#crypto'

/** Makes and checks the nonces of one validator. */
export interface NonceSource {
  /** The nonce to hand out at time `now` (seconds). */
  current(now: number): string
  /** `current` or `previous` for a nonce of this slot or the one before, else `invalid`. */
  check(nonce: string, now: number): 'current' | 'previous' | 'invalid'
}

const MAC_BYTES = 16
const NONCE = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})$/

/**
 * Creates the nonce source: `secret` (at least 32 bytes; random per process when not given, so
 * replicas behind one load balancer must share one) and `lifetime`, the length of a slot in
 * seconds.
 *
 * @example
 * ```ts
 * const nonces = createNonceSource(undefined, 300)
 * nonces.check(nonces.current(now), now) // 'current'
 * ```
 */
export function createNonceSource(secret: Uint8Array | undefined, lifetime: number): NonceSource {
  const key = secret ?? randomBytes(32)
  const mac = (slot: number) => hmacSha256(key, String(slot)).subarray(0, MAC_BYTES)
  let cachedSlot = Number.NaN
  let cachedNonce = ''
  const slotOf = (now: number) => Math.floor(now / lifetime)
  function current(now: number): string {
    const slot = slotOf(now)
    if (slot !== cachedSlot) {
      cachedSlot = slot
      cachedNonce = `${slot.toString(36)}.${encodeBase64url(mac(slot))}`
    }
    return cachedNonce
  }
  return {
    current,
    check(nonce, now) {
      if (nonce === current(now)) return 'current'
      const match = NONCE.exec(nonce)
      if (match === null) return 'invalid'
      const slot = Number.parseInt(match[1] as string, 36)
      const slotNow = slotOf(now)
      if (slot !== slotNow && slot !== slotNow - 1) return 'invalid'
      const given = decodeBase64url(match[2] as string)
      if (given.length !== MAC_BYTES || !timingSafeEqual(given, mac(slot))) return 'invalid'
      return slot === slotNow ? 'current' : 'previous'
    },
  }
}
