/**
 * `errorHandler()` for Fastify 5 (issue #13, point 2, "any framework whose default handler logs
 * rejections"): with the logger on, Fastify's own handler logs every rejection; ours answers with
 * the status, the headers and a small JSON body and logs nothing, and rethrows any other error to
 * Fastify's default handler. Real Fastify on 127.0.0.1, a real JWKS server, real logger output.
 */
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticate, errorHandler, requireScopes } from '../../adapters/fastify.js'
import { createValidator, type Validator } from '../../src/index.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, ISSUER, mintToken } from '../helpers/tokens.js'

const HOUR = 3600
const ROUTINE = /^(Server listening|incoming request$|request completed$)/

interface Served {
  origin: string
  logs: () => Array<Record<string, unknown>>
  close: () => Promise<void>
}

async function serve(validator: Validator, withHandler: boolean): Promise<Served> {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk))
      callback()
    },
  })
  const app: FastifyInstance = Fastify({ logger: { level: 'info', stream } })
  if (withHandler) app.setErrorHandler(errorHandler())
  app.get(
    '/files',
    { onRequest: authenticate(validator), preHandler: requireScopes('Files.Read') },
    async () => ({ ok: true }),
  )
  app.get('/boom', { onRequest: authenticate(validator) }, async () => {
    throw new Error('not a rejection')
  })
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    origin,
    logs: () =>
      lines
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        // Fastify's own lines for the server and each request, not for an error.
        .filter((record) => !ROUTINE.test(String(record.msg))),
    close: () => app.close(),
  }
}

const now = () => Math.floor(Date.now() / 1000)

let jwks: JwksServer
let validator: Validator
beforeAll(async () => {
  jwks = await startJwksServer()
  validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri })
})
afterAll(async () => {
  await jwks.close()
})

async function get(origin: string, path: string, token?: string): Promise<Response> {
  return fetch(`${origin}${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  })
}

describe('Fastify without errorHandler()', () => {
  it('logs a rejection (why the handler exists)', async () => {
    const server = await serve(validator, false)
    try {
      const expired = await mintToken({ claims: { iat: now() - 2 * HOUR, exp: now() - HOUR } })
      const res = await get(server.origin, '/files', expired)
      expect(res.status).toBe(401)
      await res.text()
      expect(server.logs().some((record) => record.level === 30 && record.err !== undefined)).toBe(
        true,
      )
    } finally {
      await server.close()
    }
  })
})

describe('errorHandler() (Fastify 5)', () => {
  let server: Served
  beforeAll(async () => {
    server = await serve(validator, true)
  })
  afterAll(async () => {
    await server.close()
  })

  it('answers an expired token with its challenge and a JSON body, logging nothing', async () => {
    const expired = await mintToken({ claims: { iat: now() - 2 * HOUR, exp: now() - HOUR } })
    const before = server.logs().length
    const res = await get(server.origin, '/files', expired)
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="api", error="invalid_token", error_description="/,
    )
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      error: 'invalid_token',
      error_description: expect.any(String),
    })
    expect(text).not.toContain(expired.split('.')[1])
    expect(server.logs().slice(before)).toEqual([])
  })

  it('answers no credentials and a missing scope', async () => {
    const none = await get(server.origin, '/files')
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    expect(await none.json()).toEqual({
      error: 'unauthorized',
      error_description: 'Authentication required',
    })
    const token = await mintToken({ claims: { iat: now(), exp: now() + HOUR, scp: 'Other' } })
    const denied = await get(server.origin, '/files', token)
    expect(denied.status).toBe(403)
    expect(denied.headers.get('www-authenticate')).toContain('scope="Files.Read"')
    expect(((await denied.json()) as { error: string }).error).toBe('insufficient_scope')
    expect(server.logs()).toEqual([])
  })

  it('answers a 503 with Retry-After and no description when the keys cannot be fetched', async () => {
    const down = await startJwksServer()
    down.setMode('down')
    const cold = await serve(
      createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: down.jwksUri }),
      true,
    )
    try {
      const token = await mintToken({ claims: { iat: now(), exp: now() + HOUR } })
      const res = await get(cold.origin, '/files', token)
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
      expect(res.headers.get('www-authenticate')).toBeNull()
      expect(await res.json()).toEqual({ error: 'temporarily_unavailable' })
      expect(cold.logs()).toEqual([])
    } finally {
      await cold.close()
      await down.close()
    }
  })

  it('passes a valid token through', async () => {
    const token = await mintToken({ claims: { iat: now(), exp: now() + HOUR, scp: 'Files.Read' } })
    const res = await get(server.origin, '/files', token)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true })
  })

  it("rethrows any other error to Fastify's default handler, which answers and logs it", async () => {
    const token = await mintToken({ claims: { iat: now(), exp: now() + HOUR } })
    const res = await get(server.origin, '/boom', token)
    expect(res.status).toBe(500)
    expect(((await res.json()) as { message: string }).message).toBe('not a rejection')
    const logged = server.logs()
    expect(
      logged.some(
        (record) =>
          record.level === 50 && String(JSON.stringify(record.err)).includes('not a rejection'),
      ),
    ).toBe(true)
  })
})
