/**
 * A domain tenant (`contoso.onmicrosoft.com`) with the emulator, over HTTPS only (issue #13,
 * point 4): `azureAdOptions(domain)` brings a `fetch` that trusts the emulator's CA, so the
 * validator resolves the domain through the emulator's discovery and fetches its keys, and
 * `warmUp()` does both before the first token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { azureAd, createValidator } from '../../src/index.js'
import {
  type AppRegistration,
  type EntraEmulator,
  startEntraEmulator,
} from '../../src/testing/index.js'

let emulator: EntraEmulator
let api: AppRegistration

beforeAll(async () => {
  emulator = await startEntraEmulator() // no plain-HTTP listener: HTTPS only
  api = emulator.registerApp({
    name: 'Orders API',
    appIdUri: 'api://orders',
    scopes: ['Orders.Read'],
  })
})
afterAll(() => emulator.close())

describe('azureAd() with an emulator domain tenant', () => {
  it('resolves the domain in warmUp(), then verifies tokens synchronously', async () => {
    const domain = emulator.tenants[0]?.domain as string
    expect(domain).toBe('contoso.onmicrosoft.com')
    const validator = createValidator(
      azureAd({
        ...emulator.azureAdOptions(domain),
        clientId: api.clientId,
        appIdUri: 'api://orders',
      }),
    )
    await validator.warmUp()
    const token = emulator.mint({ resource: api, scopes: ['Orders.Read'] })
    const decision = validator.decide({ rawHeaders: ['Authorization', `Bearer ${token}`] })
    expect(decision).not.toBeInstanceOf(Promise)
    expect((decision as { auth?: { scopes: readonly string[] } }).auth?.scopes).toEqual([
      'Orders.Read',
    ])
  })

  it('refuses a token of another tenant of the emulator', async () => {
    const other = await startEntraEmulator({ tenants: [{}, {}] })
    try {
      const otherApi = other.registerApp({
        name: 'Orders',
        appIdUri: 'api://orders',
        scopes: ['Orders.Read'],
      })
      const [home, foreign] = other.tenants
      const validator = createValidator(
        azureAd({ ...other.azureAdOptions(home?.domain), clientId: otherApi.clientId }),
      )
      await validator.warmUp()
      const token = other.mint({ resource: otherApi, scopes: ['Orders.Read'], tenant: foreign?.id })
      await expect(validator.verify(token)).rejects.toMatchObject({
        status: 401,
        reason: 'wrong_issuer',
      })
    } finally {
      await other.close()
    }
  })

  it('reaches nothing but the emulator', async () => {
    await expect(emulator.fetch('https://127.0.0.1:1/keys')).rejects.toThrow(/does not reach/)
  })
})
