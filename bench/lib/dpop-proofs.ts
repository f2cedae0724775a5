/**
 * DPoP proofs (RFC 9449 §4.2) for the benchmarks: ES256, signed with a bench key, each with its
 * own `jti`, all for one request (method and URI) and one access token (`ath`).
 */
import { createHash, randomUUID, sign } from 'node:crypto'
import type { BenchKey } from './keys.js'

/** A P-256 key pair (a bench key, or one of node:crypto's). */
export type ProofKey = Pick<BenchKey, 'privateKey' | 'publicKey'>

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url')

/** The RFC 7638 thumbprint of a P-256 key: the `cnf.jkt` of a token bound to it. */
export function thumbprintOf(key: ProofKey): string {
  const { crv, kty, x, y } = key.publicKey.export({ format: 'jwk' })
  return createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url')
}

/** `count` proofs for `htm` at `htu`, made with `key` (P-256) for `token`, issued now. */
export function mintProofs(
  key: ProofKey,
  token: string,
  count: number,
  htm: string,
  htu: string,
): string[] {
  const { crv, kty, x, y } = key.publicKey.export({ format: 'jwk' })
  const header = b64url(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }))
  const ath = createHash('sha256').update(token).digest('base64url')
  const iat = Math.floor(Date.now() / 1000)
  const proofs: string[] = []
  for (let i = 0; i < count; i++) {
    const payload = b64url(JSON.stringify({ htm, htu, iat, jti: randomUUID(), ath }))
    const input = `${header}.${payload}`
    const signature = sign('sha256', Buffer.from(input), {
      key: key.privateKey,
      dsaEncoding: 'ieee-p1363',
    })
    proofs.push(`${input}.${b64url(signature)}`)
  }
  return proofs
}
