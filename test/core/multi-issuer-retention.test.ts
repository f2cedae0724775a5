/**
 * The multi-issuer validator remembers an accepted token (with its decision) only while the
 * issuer's validator's cache holds it: a stream of one-off tokens, which that cache's doorkeeper
 * turns away, leaves no AuthInfo alive (checked with a WeakRef and a forced collection).
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { type AuthInfo, createMultiIssuerValidator, createValidator } from '../../src/index.js'
import { cacheProbeOf } from '../../src/validator.js'
import { ecKey, rsaKey } from '../helpers/keys.js'
import { signRaw } from '../helpers/tokens.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const ISSUER_A = 'https://a.example/'
const AUDIENCE = 'api://orders'
const now = Math.floor(Date.now() / 1000)
const header = JSON.stringify({ alg: 'ES256', kid: ecKey.kid, typ: 'JWT' })
const mint = (n: number) =>
  signRaw(
    header,
    JSON.stringify({ iss: ISSUER_A, aud: AUDIENCE, sub: `s${n}`, iat: now, exp: now + 3600 }),
    ecKey,
  )
const request = (token: string) => ({ rawHeaders: ['Authorization', `Bearer ${token}`] })
const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

/** Keys imported beforehand (warmUp), so that every decision is made at once. */
async function multi() {
  const validator = createMultiIssuerValidator({
    issuers: {
      a: {
        issuer: ISSUER_A,
        audience: AUDIENCE,
        keys: [ecKey.publicJwk],
        tokenCache: { maxEntries: 1 },
      },
      b: { issuer: 'https://b.example/', audience: AUDIENCE, keys: [rsaKey.publicJwk] },
    },
  })
  await validator.warmUp()
  return validator
}

/** Accepts `token` through `validator` and hands back a WeakRef to its AuthInfo. */
function acceptWeakly(
  validator: Awaited<ReturnType<typeof multi>>,
  token: string,
): WeakRef<AuthInfo> {
  const decision = validator.decide(request(token))
  if (decision instanceof Promise || decision.auth === undefined) throw new Error('not accepted')
  return new WeakRef(decision.auth)
}

describe('multi-issuer validator: what it remembers', () => {
  it('keeps no AuthInfo of a one-off token its issuer’s cache turned away', async () => {
    const validator = await multi()
    // A cache of one entry closes to one-off tokens after 2 × 1 + 1,000 stores without a hit.
    for (let n = 0; n < 1_003; n++) acceptWeakly(validator, mint(n))
    const oneOff = acceptWeakly(validator, mint(5_000))
    // ES256 signatures differ every time: a token seen twice is the same string sent twice.
    const heldToken = mint(5_001)
    acceptWeakly(validator, heldToken)
    const held = acceptWeakly(validator, heldToken)
    const control = new WeakRef({})
    await nextTurn()
    gc()
    expect(control.deref()).toBeUndefined()
    expect(oneOff.deref()).toBeUndefined()
    // The token its cache did take (on its second sight) is answered with the same AuthInfo.
    expect(held.deref()).toBeDefined()
    const again = validator.decide(request(heldToken))
    expect(again instanceof Promise ? undefined : again.auth).toBe(held.deref())
  })

  it('still answers a repeated token its issuer’s cache holds from what it remembered', async () => {
    const validator = await multi()
    const token = mint(1)
    const first = validator.decide(request(token))
    const second = validator.decide(request(token))
    expect(first instanceof Promise ? undefined : first.auth).toBeDefined()
    expect(second).toBe(first)
  })
})

describe('cacheProbeOf', () => {
  const options = { issuer: ISSUER_A, audience: AUDIENCE, keys: [ecKey.publicJwk] }

  it('tells whether the verified-token cache holds a token', async () => {
    const validator = createValidator(options)
    const holds = cacheProbeOf(validator)
    const token = mint(7)
    expect(holds(token)).toBe(false)
    await validator.verify(token)
    expect(holds(token)).toBe(true)
    expect(holds(mint(8))).toBe(false)
  })

  it('is false with the cache off, and for anything but a createValidator result', async () => {
    const validator = createValidator({ ...options, tokenCache: false })
    const token = mint(9)
    await validator.verify(token)
    expect(cacheProbeOf(validator)(token)).toBe(false)
    expect(cacheProbeOf({ ...validator })(token)).toBe(false)
  })
})
