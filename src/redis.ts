/**
 * A DPoP replay store on Redis, for APIs with several replicas (RFC 9449 §11.1: a proof accepted
 * by one replica must be refused by every other). The application brings its own client,
 * node-redis (v4, v5) or ioredis; bearer-guard depends on neither.
 *
 * Each proof is one key, written with `SET key 1 EX ttl NX`: atomic, so of two replicas that see
 * one proof at once only one accepts it, and Redis drops the key when the proof can no longer be
 * accepted anyway.
 *
 * @module bearer-guard/redis
 */
import type { ReplayStore } from './replay-store.js'

export type { ReplayStore } from './replay-store.js'

/**
 * A connected Redis client: ioredis's (`call(command, ...args)`) or node-redis's
 * (`sendCommand([...])`). A union, not one interface with both methods optional: ioredis also
 * has a `sendCommand`, of another shape, and its clients must type-check as they are.
 */
export type RedisClientLike =
  | {
      /** ioredis: sends one command, its name and then its arguments. */
      call(command: string, ...args: string[]): Promise<unknown>
    }
  | {
      /** node-redis: sends one command, given as its words. */
      sendCommand(args: string[]): Promise<unknown>
    }

/** Options of {@link createRedisReplayStore}. */
export interface RedisReplayStoreOptions {
  /** The client, connected; the application owns it (connects, reconnects, quits). */
  client: RedisClientLike
  /** Prefix of every key. Default `bearer-guard:dpop:`. */
  prefix?: string
}

/**
 * A replay store that keeps proof identifiers in Redis. A Redis error rejects the check, and
 * the request is answered 503 (never accepted).
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * import { createRedisReplayStore } from 'bearer-guard/redis'
 *
 * const client = await createClient({ url: process.env.REDIS_URL }).connect()
 * const validator = createValidator({
 *   ...options,
 *   dpop: { publicOrigin: 'https://api.example.com', replayStore: createRedisReplayStore({ client }) },
 * })
 * ```
 */
export function createRedisReplayStore(options: RedisReplayStoreOptions): ReplayStore {
  const { client } = options
  const prefix = options.prefix ?? 'bearer-guard:dpop:'
  if (typeof prefix !== 'string') throw new TypeError('"prefix" option must be a string')
  let send: (args: string[]) => Promise<unknown>
  // `call` first: ioredis has a `sendCommand` too, which takes one of its Command objects, not
  // the words of a command; node-redis has no `call`.
  const loose = client as { call?: unknown; sendCommand?: unknown } | undefined
  if (typeof loose?.call === 'function') {
    const call = loose.call.bind(client) as (command: string, ...args: string[]) => Promise<unknown>
    send = ([command, ...args]) => call(command as string, ...args)
  } else if (typeof loose?.sendCommand === 'function') {
    const sendCommand = loose.sendCommand.bind(client) as (args: string[]) => Promise<unknown>
    send = (args) => sendCommand(args)
  } else {
    throw new TypeError(
      '"client" option must be a node-redis client (sendCommand) or an ioredis client (call)',
    )
  }
  return {
    async add(id, ttlSeconds) {
      const ttl = String(Math.max(1, Math.ceil(ttlSeconds)))
      const answer = await send(['SET', prefix + id, '1', 'EX', ttl, 'NX'])
      // "OK" when the key was set, null when it existed.
      return answer === 'OK'
    },
  }
}
