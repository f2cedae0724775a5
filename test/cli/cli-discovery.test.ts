/**
 * `bearer-guard inspect --issuer <url> --audience <aud>` with no key flag (#14: discovery from
 * the issuer): the command reads the issuer's own discovery document, as the validator does, and
 * refuses a document that names another issuer. A real discovery server and a real JWKS server on
 * 127.0.0.1 (http is allowed there).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/cli/run.js'
import { cli } from '../helpers/cli.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { AUDIENCE, mintToken, NOW } from '../helpers/tokens.js'

let jwks: JwksServer
let server: Server
let issuer: string
let named = ''

beforeAll(async () => {
  jwks = await startJwksServer()
  server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ issuer: named, jwks_uri: jwks.jwksUri }))
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await jwks.close()
  await new Promise((done) => server.close(done))
})

describe('bearer-guard inspect with --issuer alone', () => {
  it("checks the token against the keys the issuer's discovery document names", async () => {
    named = issuer
    const token = await mintToken({ claims: { iss: issuer } })
    const run = await cli([
      'inspect',
      token,
      '--issuer',
      issuer,
      '--audience',
      AUDIENCE,
      '--now',
      `${NOW}`,
    ])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(EXIT.accepted)
    expect(run.stdout).toMatch(/PASS\s+signature/)
  })

  it('does not use a document that names another issuer', async () => {
    named = 'https://someone-else.example/'
    const token = await mintToken({ claims: { iss: issuer } })
    const run = await cli([
      'inspect',
      token,
      '--issuer',
      issuer,
      '--audience',
      AUDIENCE,
      '--now',
      `${NOW}`,
    ])
    expect(run.code).toBe(EXIT.rejected)
    expect(run.stdout).toContain('someone-else.example')
  })

  it('still needs a key flag with several issuers', async () => {
    const run = await cli([
      'inspect',
      'x',
      '--issuer',
      issuer,
      '--issuer',
      'https://b.example/',
      '--audience',
      AUDIENCE,
    ])
    expect(run.code).toBe(EXIT.usage)
    expect(run.stderr).toContain('or one https --issuer alone')
  })
})
