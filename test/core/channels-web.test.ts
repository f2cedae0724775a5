/**
 * `#channels` on the WebCrypto build (src/channels-web.ts): the runtime's own tracing channels
 * when `process.getBuiltinModule` offers them (Node.js here, as workerd with nodejs_compat),
 * else silent channels, so the core publishes nothing and runs what it wraps.
 */
import * as diagnostics from 'node:diagnostics_channel'
import { afterEach, describe, expect, it, vi } from 'vitest'

const original = process.getBuiltinModule

afterEach(() => {
  process.getBuiltinModule = original
  vi.resetModules()
})

describe('channels-web', () => {
  it("uses the runtime's node:diagnostics_channel when getBuiltinModule has it", async () => {
    vi.resetModules()
    const { tracingChannel } = await import('../../src/channels-web.js')
    expect(tracingChannel).toBe(diagnostics.tracingChannel)
  })

  it('falls back to channels nobody can subscribe to, which still run what they wrap', async () => {
    process.getBuiltinModule = undefined as unknown as typeof process.getBuiltinModule
    vi.resetModules()
    const { tracingChannel } = await import('../../src/channels-web.js')
    expect(tracingChannel).not.toBe(diagnostics.tracingChannel)
    const channel = tracingChannel<unknown, { n: number }>('bearer-guard.test')
    const seen: unknown[] = []
    const record = (message: unknown) => {
      seen.push(message)
    }
    channel.subscribe({
      start: record,
      end: record,
      asyncStart: record,
      asyncEnd: record,
      error: record,
    })
    expect(channel.hasSubscribers).toBe(false)
    expect(channel.start.runStores({ n: 1 }, () => 42)).toBe(42)
    channel.start.publish({ n: 2 })
    expect(seen).toEqual([])
  })

  it('falls back when getBuiltinModule throws or returns something else', async () => {
    for (const stand of [
      () => {
        throw new Error('not allowed')
      },
      () => ({}),
    ]) {
      process.getBuiltinModule = stand as unknown as typeof process.getBuiltinModule
      vi.resetModules()
      const { tracingChannel } = await import('../../src/channels-web.js')
      expect(tracingChannel('x').hasSubscribers).toBe(false)
    }
  })
})
