/**
 * The Redis replay store (bearer-guard/redis) against a real redis-server started here, with
 * node-redis as the application's client: two validators (two replicas) sharing one Redis refuse
 * a proof the other accepted, a proof is kept for its ttl only, and a Redis that is gone answers
 * 503. Skipped, with a message, where redis-server is not installed, unless CI=true.
 */
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createValidator, type ValidatorOptions } from '../../src/index.js'
import { createRedisReplayStore } from '../../src/redis.js'
import { createDpopKey, makeProof, mintBoundToken, PUBLIC_ORIGIN } from '../helpers/dpop.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { hasRedisServer, type RedisServer, startRedisServer } from '../helpers/redis-server.js'
import { AUDIENCE, ISSUER } from '../helpers/tokens.js'

const available = hasRedisServer()
if (!available) {
  if (process.env.CI === 'true') throw new Error('redis-server is missing: .ci/run installs it')
  console.warn(
    'redis-server is not installed: skipping the Redis replay store tests (apt-get install redis-server)',
  )
}

describe.skipIf(!available)('createRedisReplayStore with a real redis-server', () => {
  let server: RedisServer
  let client: ReturnType<typeof createClient>

  beforeAll(async () => {
    server = await startRedisServer()
    client = createClient({ socket: { path: server.socket, reconnectStrategy: false } })
    await client.connect()
  })

  afterAll(async () => {
    if (client?.isOpen) await client.quit()
    await server?.stop()
  })

  it('answers true once per id, atomically, and lets the id expire after its ttl', async () => {
    const store = createRedisReplayStore({ client, prefix: 'test:' })
    const answers = await Promise.all(Array.from({ length: 5 }, () => store.add('a', 1)))
    expect(answers.filter(Boolean)).toHaveLength(1)
    expect(await client.ttl('test:a')).toBeGreaterThan(0)
    await client.pExpire('test:a', 1)
    await new Promise((done) => setTimeout(done, 20))
    expect(await store.add('a', 60)).toBe(true)
  })

  it('shares replays between two validators, as two replicas behind one load balancer', async () => {
    const key = await createDpopKey()
    const token = await mintBoundToken(key)
    const options: ValidatorOptions = {
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: toJwks(rsaKey),
      dpop: { publicOrigin: PUBLIC_ORIGIN, replayStore: createRedisReplayStore({ client }) },
    }
    const [first, second] = [createValidator(options), createValidator(options)]
    const proof = await makeProof(key, { token })
    const request = {
      method: 'GET',
      url: '/dpop/me',
      rawHeaders: ['Authorization', `DPoP ${token}`, 'DPoP', proof],
    }
    expect((await first.decide(request)).error).toBeUndefined()
    const replayed = await second.decide(request)
    expect(replayed.error?.reason).toBe('replayed_proof')
  })

  it('answers 503 when Redis cannot be asked', async () => {
    const gone = createClient({ socket: { path: server.socket, reconnectStrategy: false } })
    await gone.connect()
    await gone.quit()
    const key = await createDpopKey()
    const token = await mintBoundToken(key)
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: toJwks(rsaKey),
      dpop: { publicOrigin: PUBLIC_ORIGIN, replayStore: createRedisReplayStore({ client: gone }) },
    })
    const decision = await validator.decide({
      method: 'GET',
      url: '/dpop/me',
      rawHeaders: ['Authorization', `DPoP ${token}`, 'DPoP', await makeProof(key, { token })],
    })
    expect(decision.error?.status).toBe(503)
  })

  it('refuses a client that is neither node-redis nor ioredis', () => {
    expect(() => createRedisReplayStore({ client: {} })).toThrow(TypeError)
  })
})
