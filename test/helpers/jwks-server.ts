/**
 * A real local JWKS endpoint (node:http on 127.0.0.1, ephemeral port) whose hit counters make
 * caching, cooldown, rotation, timeouts and bad responses assertable.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { attackerKey, ecKey, rsaKey, type TestKey, toJwks } from './keys.js'
import { ISSUER } from './tokens.js'

export type JwksMode =
  /** 200 with the current keys (after `setDelay`). */
  | 'ok'
  /** 500. */
  | 'down'
  /** Reads the request and never answers. */
  | 'hang'
  /** 200, `application/json`, a body that is not JSON. */
  | 'garbage'
  /** 200 with a valid JWKS padded to `HUGE_BODY_BYTES`, streamed chunked (no content-length). */
  | 'huge'
  /** 302 to `REDIRECT_PATH` on the same server, which serves the keys. */
  | 'redirect'
  /** 200 `{"keys":[]}`. */
  | 'empty'
  /** 404. */
  | 'not-found'
  /** The socket is destroyed as soon as the request arrives. */
  | 'refuse'
  /** 200 `{"foo":1}`. */
  | 'wrong-shape'

/** Size of the body served in `'huge'` mode, in bytes. */
export const HUGE_BODY_BYTES = 8 * 1024 * 1024
/** Where `'redirect'` mode sends the client. */
export const REDIRECT_PATH = '/keys-moved'
export const KEYS_PATH = '/keys'
export const DISCOVERY_PATH = '/.well-known/openid-configuration'

export interface RecordedRequest {
  path: string
  headers: Record<string, string | string[] | undefined>
}

export interface JwksServer {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string
  /** `origin + '/keys'` */
  readonly jwksUri: string
  /** `origin + '/.well-known/openid-configuration'`: `{ issuer, jwks_uri }`. */
  readonly discoveryUrl: string
  /** Requests to `/keys`, whatever the mode (the redirect target is not counted). */
  readonly hits: number
  /** Requests to the discovery document. */
  readonly discoveryHits: number
  /** Every request the server received, on any path, in arrival order. */
  readonly requests: RecordedRequest[]
  /** Replaces the served keys (rotation). Accepts a raw JWKS too. */
  setKeys(keys: TestKey[] | { keys: unknown[] }): void
  /** How `/keys` answers from the next request on. */
  setMode(mode: JwksMode): void
  /** How the discovery document answers (`'ok'` by default); same modes as `/keys`. */
  setDiscoveryMode(mode: JwksMode): void
  /** Milliseconds to wait before answering in `'ok'` mode (and at the redirect target). */
  setDelay(ms: number): void
  /** `Cache-Control` on every 200 response, or none when `undefined` (the default). */
  setCacheControl(value: string | undefined): void
  /** Zeroes `hits` and `discoveryHits` and empties `requests`. */
  resetHits(): void
  /** Stops listening and destroys every open socket, hanging requests included. */
  close(): Promise<void>
}

interface Listening {
  server: Server
  origin: string
  close(): Promise<void>
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  onClose: () => void = () => {},
): Promise<Listening> {
  const server = createServer(handler)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        onClose()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  cacheControl: string | undefined,
): void {
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  }
  if (status === 200 && cacheControl !== undefined) headers['cache-control'] = cacheControl
  res.writeHead(status, headers)
  res.end(body)
}

async function streamHuge(res: ServerResponse, jwks: string, cacheControl?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (cacheControl !== undefined) headers['cache-control'] = cacheControl
  res.writeHead(200, headers)
  const head = `${jwks.slice(0, -1)},"padding":"`
  const tail = '"}'
  const chunk = 'A'.repeat(64 * 1024)
  res.write(head)
  let remaining = HUGE_BODY_BYTES - head.length - tail.length
  while (remaining > 0 && !res.destroyed) {
    const piece = remaining >= chunk.length ? chunk : chunk.slice(0, remaining)
    remaining -= piece.length
    if (!res.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done)
          res.off('close', done)
          resolve()
        }
        res.on('drain', done)
        res.on('close', done)
      })
    }
  }
  if (!res.destroyed) res.end(tail)
}

/**
 * Starts a JWKS server serving `keys` (default `[rsaKey, ecKey]`) at `/keys`, with an OIDC
 * discovery document whose `issuer` is `options.issuer` (default `ISSUER`).
 *
 * @example
 * const server = await startJwksServer()
 * afterAll(() => server.close())
 * server.setMode('down')
 */
export async function startJwksServer(
  options: { keys?: TestKey[]; issuer?: string } = {},
): Promise<JwksServer> {
  const issuer = options.issuer ?? ISSUER
  let body = JSON.stringify(toJwks(...(options.keys ?? [rsaKey, ecKey])))
  let mode: JwksMode = 'ok'
  let discoveryMode: JwksMode = 'ok'
  let delay = 0
  let cacheControl: string | undefined
  let hits = 0
  let discoveryHits = 0
  const requests: RecordedRequest[] = []
  const timers = new Set<NodeJS.Timeout>()
  let origin = ''

  const later = (ms: number, fn: () => void) => {
    if (ms <= 0) return fn()
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timers.add(timer)
  }

  const answer = (res: ServerResponse, req: IncomingMessage, current: JwksMode, doc: string) => {
    switch (current) {
      case 'ok':
        return later(delay, () => {
          if (!res.destroyed) sendJson(res, 200, doc, cacheControl)
        })
      case 'down':
        return sendJson(res, 500, '{"error":"server_error"}', cacheControl)
      case 'hang':
        return
      case 'garbage':
        return sendJson(res, 200, '{"keys": [ this is not json', cacheControl)
      case 'huge':
        void streamHuge(res, doc, cacheControl)
        return
      case 'redirect':
        res.writeHead(302, { location: `${origin}${REDIRECT_PATH}`, 'content-length': 0 })
        res.end()
        return
      case 'empty':
        return sendJson(res, 200, '{"keys":[]}', cacheControl)
      case 'not-found':
        return sendJson(res, 404, '{"error":"not_found"}', cacheControl)
      case 'refuse':
        req.socket.destroy()
        return
      case 'wrong-shape':
        return sendJson(res, 200, '{"foo":1}', cacheControl)
    }
  }

  const discoveryDoc = () => JSON.stringify({ issuer, jwks_uri: `${origin}${KEYS_PATH}` })

  const listening = await listen(
    (req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname
      requests.push({ path, headers: { ...req.headers } })
      if (path === KEYS_PATH) {
        hits++
        answer(res, req, mode, body)
      } else if (path === REDIRECT_PATH) {
        answer(res, req, 'ok', body)
      } else if (path === DISCOVERY_PATH) {
        discoveryHits++
        answer(res, req, discoveryMode, discoveryDoc())
      } else {
        sendJson(res, 404, '{"error":"not_found"}', undefined)
      }
    },
    () => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    },
  )
  origin = listening.origin

  return {
    origin,
    jwksUri: `${origin}${KEYS_PATH}`,
    discoveryUrl: `${origin}${DISCOVERY_PATH}`,
    get hits() {
      return hits
    },
    get discoveryHits() {
      return discoveryHits
    },
    requests,
    setKeys(keys) {
      body = JSON.stringify(Array.isArray(keys) ? toJwks(...keys) : keys)
    },
    setMode(next) {
      mode = next
    },
    setDiscoveryMode(next) {
      discoveryMode = next
    },
    setDelay(ms) {
      delay = ms
    },
    setCacheControl(value) {
      cacheControl = value
    },
    resetHits() {
      hits = 0
      discoveryHits = 0
      requests.length = 0
    },
    close: listening.close,
  }
}

export interface CountingServer {
  /** A URL on the server; any path on it counts and answers the same. */
  readonly url: string
  readonly hits: number
  close(): Promise<void>
}

/**
 * A server that answers any path with a JWKS holding `attackerKey` and counts requests: point a
 * token's `jku` or `x5u` at `url`, then assert `hits` stays 0.
 *
 * @example
 * const trap = await startCountingServer()
 * const token = await mintToken({ key: attackerKey, header: { jku: trap.url } })
 * expect(trap.hits).toBe(0)
 */
export async function startCountingServer(): Promise<CountingServer> {
  let hits = 0
  const body = JSON.stringify(toJwks(attackerKey))
  const { origin, close } = await listen((_req, res) => {
    hits++
    sendJson(res, 200, body, undefined)
  })
  return {
    url: `${origin}/attacker/jwks.json`,
    get hits() {
      return hits
    },
    close,
  }
}
