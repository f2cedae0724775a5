/**
 * What every runnable example answers (the same routes and bodies as examples/express.ts and
 * examples/koa.ts): `/me` for any valid token, `/files` with the Files.Read scope, and the RFC 6750
 * challenges otherwise. The fake clock of the adapter suites is at `NOW`, so the tokens are too.
 */
import { expect } from 'vitest'
import { mintToken } from '../helpers/tokens.js'

/** Calls the example listening at `origin` with real fetches and checks each answer. */
export async function checkExample(origin: string): Promise<void> {
  const token = await mintToken()
  const me = await fetch(`${origin}/me`, { headers: { authorization: `Bearer ${token}` } })
  expect(me.status).toBe(200)
  expect(await me.json()).toEqual({
    subject: 'user-123',
    scopes: ['Files.Read', 'Files.Write'],
    appOnly: false,
  })
  const anonymous = await fetch(`${origin}/me`)
  expect(anonymous.status).toBe(401)
  expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="api"')
  const files = await fetch(`${origin}/files`, { headers: { authorization: `Bearer ${token}` } })
  expect(await files.json()).toEqual({ files: ['q3-report.xlsx'] })
  const profileOnly = await mintToken({ claims: { scp: 'Profile.Read' } })
  const denied = await fetch(`${origin}/files`, {
    headers: { authorization: `Bearer ${profileOnly}` },
  })
  expect(denied.status).toBe(403)
  expect(denied.headers.get('www-authenticate')).toBe(
    'Bearer realm="api", error="insufficient_scope", error_description="the token lacks a scope this resource requires", scope="Files.Read"',
  )
}
