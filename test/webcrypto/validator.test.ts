/**
 * What is the WebCrypto build's own (issue #13): run only in vitest's WebCrypto project, where
 * `#crypto` is src/crypto-web.ts, as it is for workerd and edge-light. The shared tables run
 * there too (vitest.config.ts); this file holds what differs from node:crypto: a cache miss is
 * decided with a promise (a hit still at once), Ed448 keys verify nothing, and the binding
 * checks, which need synchronous hashing, are refused when the validator is created.
 */
import { generateKeyPairSync, sign } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CRYPTO_BACKEND } from '#crypto'
import { createValidator, type Decision, type JWK } from '../../src/index.js'
import { invalidToken, rejectionOf } from '../core/support.js'
import { ecKey, rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, b64url, defaultClaims, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

const OPTIONS = { issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey, ecKey) }

function request(token: string): Request {
  return new Request('https://api.example/files', { headers: { authorization: `Bearer ${token}` } })
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('the WebCrypto build', () => {
  it('is what #crypto resolves to in this project', () => {
    expect(CRYPTO_BACKEND.name).toBe('WebCrypto')
  })

  it('decides a new token with a promise, and the same token again at once', async () => {
    const validator = createValidator(OPTIONS)
    await validator.warmUp()
    const token = await mintToken({ key: ecKey })
    const first = validator.decide(request(token))
    expect(first).toBeInstanceOf(Promise)
    expect((await first).auth?.subject).toBe('user-123')
    const again = validator.decide(request(token)) as Decision
    expect(again).not.toBeInstanceOf(Promise)
    expect(again.auth?.subject).toBe('user-123')
  })

  it('rejects a tampered signature with a promise of the same 401', async () => {
    const validator = createValidator(OPTIONS)
    await validator.warmUp()
    const token = await mintToken()
    const at = token.lastIndexOf('.') + 40
    const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`
    const decision = validator.decide(request(tampered))
    expect(decision).toBeInstanceOf(Promise)
    const { error } = await decision
    expect(error?.status).toBe(401)
    expect(error?.headers['www-authenticate']).toBe(invalidToken('the token signature is invalid'))
  })

  it('verifies nothing with an Ed448 key (WebCrypto has none): 401 unknown_key', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed448')
    const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'ed448', alg: 'EdDSA' }
    const header = b64url(JSON.stringify({ alg: 'EdDSA', kid: 'ed448', typ: 'JWT' }))
    const input = `${header}.${b64url(JSON.stringify(defaultClaims))}`
    const token = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`
    const validator = createValidator({ ...OPTIONS, keys: { keys: [jwk, rsaKey.publicJwk] } })
    const error = await rejectionOf(validator.verify(token))
    expect(error.status).toBe(401)
    expect(error.reason).toBe('unknown_key')
  })

  it.each([
    ['dpop', { dpop: { publicOrigin: 'https://api.example' } }],
    ['dpop', { dpop: { required: true, publicOrigin: 'https://api.example' } }],
    ['certificateBinding', { certificateBinding: true }],
    ['certificateBinding', { certificateBinding: { certificateHeader: 'client-cert' } }],
  ])('refuses %s when the validator is created, naming the option', (name, extra) => {
    expect(() => createValidator({ ...OPTIONS, ...extra })).toThrow(
      new TypeError(
        `"${name}" option is not available with the WebCrypto build of bearer-guard (workerd without nodejs_compat, edge-light, browsers): it needs node:crypto`,
      ),
    )
  })

  it('accepts the binding options switched off', async () => {
    const validator = createValidator({ ...OPTIONS, dpop: false, certificateBinding: false })
    expect((await validator.verify(await mintToken())).subject).toBe('user-123')
  })
})
