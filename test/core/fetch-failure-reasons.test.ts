/**
 * When keys cannot be fetched, the reason (ECONNREFUSED, a TLS verification failure, ...) reaches
 * onEvent, the 503's token_rejected event (as detail) and inspect, instead of fetch's bare
 * "fetch failed"; never the response (issue #13, point 3).
 */
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type BearerGuardEvent,
  createValidator,
  inspectToken,
  KeysUnavailableError,
} from '../../src/index.js'
import { createCertificate } from '../../src/testing/certificate.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

let closedPort = 0
let tlsServer: ReturnType<typeof createHttpsServer>
let tlsUrl = ''

beforeAll(async () => {
  // A port that was just free: connecting to it is refused.
  const probe: Server = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  closedPort = (probe.address() as AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
  const { certificate, privateKey } = await createCertificate({ ipAddresses: ['127.0.0.1'] })
  tlsServer = createHttpsServer({ cert: certificate, key: privateKey }, (_req, res) => {
    res.end('{"keys":[]}')
  })
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve))
  tlsUrl = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}/keys`
  // After the certificate: TLS checks its dates against the real clock.
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
})
afterAll(async () => {
  vi.useRealTimers()
  tlsServer.closeAllConnections()
  await new Promise((resolve) => tlsServer.close(resolve))
})

async function failureOf(jwksUri: string) {
  const events: BearerGuardEvent[] = []
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri,
    timeoutDuration: 2_000,
    onEvent: (event) => events.push(event),
  })
  const token = await mintToken()
  const error = await validator.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeysUnavailableError)
  const report = await inspectToken(
    token,
    { issuer: ISSUER, audience: AUDIENCE, jwksUri },
    { now: NOW },
  )
  return { error: error as KeysUnavailableError, events, report }
}

describe('why keys could not be fetched', () => {
  it('names a refused connection', async () => {
    const url = `http://127.0.0.1:${closedPort}/keys`
    const { error, events, report } = await failureOf(url)
    const reason = new RegExp(`${url} could not be fetched: connect ECONNREFUSED`)
    expect((error.cause as Error).message).toMatch(reason)
    expect(events[0]).toMatchObject({ type: 'keys_refresh_failed' })
    expect((events[0] as { message: string }).message).toMatch(reason)
    expect(events.at(-1)).toMatchObject({ type: 'token_rejected', status: 503 })
    expect((events.at(-1) as { detail?: string }).detail).toMatch(reason)
    expect(report.checks.find((check) => check.name === 'key')?.detail).toMatch(reason)
    // The response says nothing of it.
    expect(error.message).toBe('Signing keys are temporarily unavailable')
    expect(error.expose).toBe(false)
  })

  it('names a TLS verification failure', async () => {
    const { error } = await failureOf(tlsUrl)
    const message = (error.cause as Error).message
    expect(message).toContain(`${tlsUrl} could not be fetched: `)
    expect(message).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|self.signed/i)
  })
})
