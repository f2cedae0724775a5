/**
 * `errorHandler()` for Express 4 and 5 (issue #13, point 2): rejections answered with their status,
 * headers and a small JSON body, nothing logged, HTML never rendered; other errors go on to the
 * next handler untouched.
 */
import { createRequire } from 'node:module'
import express from 'express'
import supertest from 'supertest'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { authenticate, errorHandler, requireScopes } from '../../adapters/express.js'
import { createValidator } from '../../src/index.js'
import { rsaKey, toJwks } from '../helpers/keys.js'
import { AUDIENCE, ISSUER, mintToken, NOW } from '../helpers/tokens.js'

// Express 4 has no types of its own here; it is called as Express 5 is.
const express4 = createRequire(import.meta.url)('express4') as typeof express
const validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, keys: toJwks(rsaKey) })
let savedEnv: string | undefined

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW * 1000)
  // Development mode: where Express's own handler prints stacks and renders HTML.
  savedEnv = process.env.NODE_ENV
  process.env.NODE_ENV = 'development'
})
afterAll(() => {
  vi.useRealTimers()
  process.env.NODE_ENV = savedEnv
})

const FRAMEWORKS = [
  ['Express 5', express],
  ['Express 4', express4],
] as const

function appOf(make: typeof express) {
  const app = make()
  app.use(authenticate(validator))
  app.get('/files', requireScopes('Files.Read'), (_req, res) => {
    res.json({ ok: true })
  })
  app.get('/boom', () => {
    throw new Error('not a rejection')
  })
  app.use(errorHandler())
  return app
}

for (const [name, make] of FRAMEWORKS) {
  describe(`errorHandler (${name})`, () => {
    const app = () => appOf(make as typeof express)

    it('answers a 401 with its challenge and a JSON body, and logs nothing', async () => {
      const stderr = vi.spyOn(process.stderr, 'write')
      const logged = vi.spyOn(console, 'error')
      try {
        const expired = await mintToken({ claims: { exp: NOW - 3600 } })
        const res = await supertest(app()).get('/files').set('Authorization', `Bearer ${expired}`)
        expect(res.status).toBe(401)
        expect(res.headers['content-type']).toMatch(/^application\/json/)
        expect(res.body).toEqual({ error: 'invalid_token', error_description: expect.any(String) })
        expect(res.headers['www-authenticate']).toMatch(
          /^Bearer realm="api", error="invalid_token"/,
        )
        expect(res.text).not.toContain(expired.split('.')[1])
        expect(stderr).not.toHaveBeenCalled()
        expect(logged).not.toHaveBeenCalled()
      } finally {
        stderr.mockRestore()
        logged.mockRestore()
      }
    })

    it('answers a request without credentials and a missing scope', async () => {
      const none = await supertest(app()).get('/files')
      expect(none.status).toBe(401)
      expect(none.body).toEqual({
        error: 'unauthorized',
        error_description: 'Authentication required',
      })
      expect(none.headers['www-authenticate']).toBe('Bearer realm="api"')
      const token = await mintToken({ claims: { scp: 'Other.Scope' } })
      const denied = await supertest(app()).get('/files').set('Authorization', `Bearer ${token}`)
      expect(denied.status).toBe(403)
      expect(denied.body.error).toBe('insufficient_scope')
      expect(denied.headers['www-authenticate']).toContain('scope="Files.Read"')
    })
  })
}

// Last: Express's own handler logs these errors (after the response), as it should.
for (const [name, make] of FRAMEWORKS) {
  describe(`errorHandler (${name}), other errors`, () => {
    const app = () => appOf(make as typeof express)
    it('leaves other errors to the next handler', async () => {
      const token = await mintToken()
      const res = await supertest(app()).get('/boom').set('Authorization', `Bearer ${token}`)
      expect(res.status).toBe(500)
      expect(res.headers['content-type']).toMatch(/^text\/html/)
    })
  })
}
