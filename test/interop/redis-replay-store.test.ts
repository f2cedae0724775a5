/**
 * The Redis replay store (bearer-guard/redis) against a real redis-server started here, with
 * node-redis and with ioredis as the application's client: two validators (two replicas) sharing one Redis refuse
 * a proof the other accepted, a proof is kept for its ttl only, and a Redis that is gone answers
 * 503. Skipped, with a message, where redis-server is not installed, unless CI=true.
 */
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createValidator, type ValidatorOptions } from '../../src/index.js'
import { createRedisReplayStore, type RedisClientLike } from '../../src/redis.js'
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

/** An application's connected client, as each library makes one, and how to ask Redis directly. */
interface Client {
  client: RedisClientLike
  ttl(key: string): Promise<number>
  expireNow(key: string): Promise<unknown>
  quit(): Promise<unknown>
}

const CLIENTS: Record<string, (socket: string) => Promise<Client>> = {
  'node-redis': async (socket) => {
    const client = createClient({ socket: { path: socket, reconnectStrategy: false } })
    await client.connect()
    return {
      client,
      ttl: (key) => client.ttl(key),
      expireNow: (key) => client.pExpire(key, 1),
      quit: () => (client.isOpen ? client.quit() : Promise.resolve()),
    }
  },
  ioredis: async (socket) => {
    const client = new Redis({ path: socket, lazyConnect: true, retryStrategy: () => null })
    await client.connect()
    return {
      client,
      ttl: (key) => client.ttl(key),
      expireNow: (key) => client.pexpire(key, 1),
      quit: () => (client.status === 'end' ? Promise.resolve() : client.quit()),
    }
  },
}

describe.skipIf(!available).each(Object.keys(CLIENTS))(
  'createRedisReplayStore with a real redis-server and %s',
  (library) => {
    const connect = CLIENTS[library] as (socket: string) => Promise<Client>
    let server: RedisServer
    let app: Client
    let client: RedisClientLike

    beforeAll(async () => {
      server = await startRedisServer()
      app = await connect(server.socket)
      client = app.client
    })

    afterAll(async () => {
      await app?.quit()
      await server?.stop()
    })

    it('answers true once per id, atomically, and lets the id expire after its ttl', async () => {
      const store = createRedisReplayStore({ client, prefix: 'test:' })
      const answers = await Promise.all(Array.from({ length: 5 }, () => store.add('a', 1)))
      expect(answers.filter(Boolean)).toHaveLength(1)
      expect(await app.ttl('test:a')).toBeGreaterThan(0)
      await app.expireNow('test:a')
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
      const closed = await connect(server.socket)
      await closed.quit()
      const gone = closed.client
      const key = await createDpopKey()
      const token = await mintBoundToken(key)
      const validator = createValidator({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: toJwks(rsaKey),
        dpop: {
          publicOrigin: PUBLIC_ORIGIN,
          replayStore: createRedisReplayStore({ client: gone }),
        },
      })
      const decision = await validator.decide({
        method: 'GET',
        url: '/dpop/me',
        rawHeaders: ['Authorization', `DPoP ${token}`, 'DPoP', await makeProof(key, { token })],
      })
      expect(decision.error?.status).toBe(503)
      // Because the connection is closed, not because the store called the client wrongly.
      expect(decision.error?.cause).toBeInstanceOf(Error)
      expect(decision.error?.cause).not.toBeInstanceOf(TypeError)
    })

    it('refuses a client that is neither node-redis nor ioredis', () => {
      expect(() => createRedisReplayStore({ client: {} as RedisClientLike })).toThrow(TypeError)
    })
  },
)
