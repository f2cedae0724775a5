import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { discoveryLocationOf, jwksUriOf } from '../../src/discovery.js'
import {
  type BearerGuardEvent,
  createValidator,
  inspectToken,
  KeysUnavailableError,
  type ValidatorOptions,
} from '../../src/index.js'
import { checkKeyUrl } from '../../src/options.js'
import { type JwksServer, startJwksServer } from '../helpers/jwks-server.js'
import { attackerKey, rsaKey } from '../helpers/keys.js'
import { AUDIENCE, mintToken, NOW } from '../helpers/tokens.js'
import { expectKeysUnavailable, rejectionOf } from './support.js'

const OIDC = '/.well-known/openid-configuration'
const OAUTH = '/.well-known/oauth-authorization-server'

describe('discoveryLocationOf', () => {
  it.each([
    ['https://id.example', `https://id.example${OIDC}`, `https://id.example${OAUTH}`],
    ['https://id.example/', `https://id.example${OIDC}`, `https://id.example${OAUTH}`],
    [
      'https://id.example/tenant-1/',
      `https://id.example/tenant-1${OIDC}`,
      `https://id.example${OAUTH}/tenant-1`,
    ],
    [
      'https://id.example:8443/a/b/v2.0',
      `https://id.example:8443/a/b/v2.0${OIDC}`,
      `https://id.example:8443${OAUTH}/a/b/v2.0`,
    ],
  ])('gives %s the OIDC URL %s, then the RFC 8414 URL %s', (issuer, oidc, oauth) => {
    const location = discoveryLocationOf(new URL(issuer))
    expect(location.url.href).toBe(oidc)
    expect(location.fallback?.href).toBe(oauth)
  })

  it('appends to the path (OIDC) and inserts between host and path (RFC 8414 §3.1), for any path', () => {
    const segment = fc
      .stringMatching(/^[a-zA-Z0-9._~-]{1,12}$/)
      .filter((s) => s !== '.' && s !== '..')
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 5 }), fc.boolean(), (segments, slash) => {
        const path = segments.length === 0 ? '' : `/${segments.join('/')}`
        const issuer = `https://id.example${path}${slash ? '/' : ''}`
        const { url, fallback } = discoveryLocationOf(new URL(issuer))
        expect(url.href).toBe(`https://id.example${path}${OIDC}`)
        expect(fallback?.href).toBe(`https://id.example${OAUTH}${path}`)
      }),
    )
  })
})

describe('jwksUriOf', () => {
  const ISSUER = 'https://id.example/t1'
  const where = new URL(`${ISSUER}${OIDC}`)

  it('gives a URL only for a document naming the issuer exactly and an https or loopback jwks_uri', () => {
    const issuerLike = fc.oneof(
      fc.constant(ISSUER),
      fc.constant(`${ISSUER}/`),
      fc.constant(ISSUER.toUpperCase()),
      fc.string(),
      fc.anything(),
    )
    const uriLike = fc.oneof(
      fc.webUrl(),
      fc.constant('http://127.0.0.1:9/keys'),
      fc.constant('http://evil.example/keys'),
      fc.constant('file:///etc/passwd'),
      fc.string(),
      fc.anything(),
    )
    const document = fc.oneof(
      fc.record({ issuer: issuerLike, jwks_uri: uriLike }, { requiredKeys: [] }),
      fc.anything(),
    )
    fc.assert(
      fc.property(document, (doc) => {
        let url: URL | undefined
        try {
          url = jwksUriOf(doc, where, new Set([ISSUER]), checkKeyUrl)
        } catch (error) {
          expect(error).toBeInstanceOf(Error)
          expect((error as Error).message.length).toBeLessThan(1000)
          return
        }
        const { issuer, jwks_uri } = doc as { issuer: unknown; jwks_uri: unknown }
        expect(issuer).toBe(ISSUER)
        expect(url.href).toBe(new URL(jwks_uri as string).href)
        expect(url.protocol === 'https:' || url.hostname === '127.0.0.1').toBe(true)
      }),
      { numRuns: 2000 },
    )
  })
})

/** What a discovery path answers: a document (object or raw text), or a status. */
type Answer =
  | { doc: unknown }
  | { raw: string }
  | { status: number }
  | { redirect: string }
  | { huge: true }
  | { hang: true }

describe('discovery from the issuer, over HTTP', () => {
  let keys: JwksServer
  let origin = ''
  let answers: Record<string, Answer> = {}
  let hits: Record<string, number> = {}
  const hanging = new Set<ServerResponse>()
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    hits[path] = (hits[path] ?? 0) + 1
    const answer = answers[path] ?? { status: 404 }
    if ('hang' in answer) {
      hanging.add(res)
      return
    }
    if ('status' in answer) {
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end('{}')
    } else if ('redirect' in answer) {
      res.writeHead(302, { location: answer.redirect }).end()
    } else if ('huge' in answer) {
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      for (let i = 0; i < 32; i++) res.write(chunk)
      res.end('{}')
    } else {
      const body = 'raw' in answer ? answer.raw : JSON.stringify(answer.doc)
      res.writeHead(200, { 'content-type': 'application/json' }).end(body)
    }
  })

  beforeAll(async () => {
    keys = await startJwksServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await keys.close()
    for (const res of hanging) res.destroy()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW * 1000)
    answers = {}
    hits = {}
    keys.resetHits()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  const issuerAt = (path: string) => `${origin}${path}`

  function validatorFor(issuer: string, extra: Partial<ValidatorOptions> = {}) {
    const events: BearerGuardEvent[] = []
    const validator = createValidator({
      issuer,
      audience: AUDIENCE,
      onEvent: (event) => events.push(event),
      ...extra,
    } as ValidatorOptions)
    const failure = () =>
      (events.find((event) => event.type === 'keys_refresh_failed') as { message: string })?.message
    return { validator, events, failure }
  }

  const tokenOf = (issuer: string) => mintToken({ claims: { iss: issuer } })

  it("verifies with the keys the issuer's OpenID Connect discovery document names", async () => {
    const issuer = issuerAt('/tenant-1')
    answers[`/tenant-1${OIDC}`] = { doc: { issuer, jwks_uri: keys.jwksUri } }
    const { validator } = validatorFor(issuer)
    const auth = await validator.verify(await tokenOf(issuer))
    expect(auth.issuer).toBe(issuer)
    await validator.verify(await tokenOf(issuer))
    expect(hits).toEqual({ [`/tenant-1${OIDC}`]: 1 })
    expect(keys.hits).toBe(1)
  })

  it('falls back to RFC 8414 metadata, inserted between host and path, when there is no OIDC document', async () => {
    const issuer = issuerAt('/tenant-1')
    answers[`${OAUTH}/tenant-1`] = { doc: { issuer, jwks_uri: keys.jwksUri } }
    const { validator } = validatorFor(issuer)
    await validator.verify(await tokenOf(issuer))
    expect(hits).toEqual({ [`/tenant-1${OIDC}`]: 1, [`${OAUTH}/tenant-1`]: 1 })
    expect(keys.hits).toBe(1)
  })

  it('is done by warmUp(), and tokens then wait for nothing', async () => {
    const issuer = issuerAt('')
    answers[OIDC] = { doc: { issuer, jwks_uri: keys.jwksUri } }
    const { validator } = validatorFor(issuer)
    await validator.warmUp()
    expect(hits).toEqual({ [OIDC]: 1 })
    expect(keys.hits).toBe(1)
    const header = `Bearer ${await tokenOf(issuer)}`
    const decision = validator.decide(
      new Request('http://api.test/', { headers: { authorization: header } }),
    )
    expect(decision).not.toBeInstanceOf(Promise)
    expect((decision as { auth?: unknown }).auth).toBeDefined()
  })

  it('uses the fetch option for discovery and keys alike', async () => {
    const issuer = issuerAt('/t')
    answers[`/t${OIDC}`] = { doc: { issuer, jwks_uri: keys.jwksUri } }
    const seen: string[] = []
    const { validator } = validatorFor(issuer, {
      fetch: (input, init) => {
        seen.push(String(input))
        return fetch(input, init)
      },
    })
    await validator.warmUp()
    expect(seen).toEqual([`${issuer}${OIDC}`, keys.jwksUri])
  })

  describe('refuses a document that does not name the configured issuer exactly', () => {
    it.each([
      ['a trailing slash added', (issuer: string) => `${issuer}/`],
      ['a trailing slash removed', (issuer: string) => issuer.slice(0, -1)],
      ['another tenant', (issuer: string) => issuer.replace('tenant-1', 'tenant-2')],
      ['another case', (issuer: string) => issuer.toUpperCase()],
      ['no issuer', () => undefined],
      ['an issuer that is not a string', () => ['x']],
    ])('%s: 503, no key fetch, the reason in onEvent', async (_, named) => {
      const issuer = issuerAt('/tenant-1/')
      const doc = { issuer: named(issuer), jwks_uri: keys.jwksUri }
      answers[`/tenant-1${OIDC}`] = { doc }
      answers[`${OAUTH}/tenant-1`] = { doc }
      const { validator, failure } = validatorFor(issuer)
      const error = await rejectionOf(validator.verify(await tokenOf(issuer)))
      expectKeysUnavailable(error, '5')
      expect(keys.hits).toBe(0)
      expect(failure()).toMatch(/^no usable discovery document for the issuer: /)
      expect(failure()).toMatch(/names (the issuer .*, not the configured|no "issuer")/)
      expect(failure()).toContain(`${origin}/tenant-1${OIDC}`)
      expect(failure()).toContain(`${origin}${OAUTH}/tenant-1`)
    })

    it('uses the RFC 8414 document when only the OIDC one names another issuer', async () => {
      const issuer = issuerAt('/tenant-1')
      answers[`/tenant-1${OIDC}`] = {
        doc: { issuer: issuerAt('/evil'), jwks_uri: `${origin}/evil-keys` },
      }
      answers[`${OAUTH}/tenant-1`] = { doc: { issuer, jwks_uri: keys.jwksUri } }
      const { validator } = validatorFor(issuer)
      await validator.verify(await tokenOf(issuer))
      expect(hits['/evil-keys']).toBeUndefined()
    })

    it('refuses a discoveryUrl document that names another issuer, quoting it bounded', async () => {
      answers['/d'] = {
        doc: { issuer: `https://evil.example/${'x'.repeat(5000)}`, jwks_uri: keys.jwksUri },
      }
      const { validator, failure } = validatorFor('https://issuer.example/', {
        discoveryUrl: `${origin}/d`,
      })
      expectKeysUnavailable(
        await rejectionOf(validator.verify(await tokenOf('https://issuer.example/'))),
        '5',
      )
      expect(keys.hits).toBe(0)
      expect(failure()).toContain('names the issuer "https://evil.example/xxx')
      expect(failure()).toContain('not the configured "https://issuer.example/"')
      expect((failure() as string).length).toBeLessThan(600)
    })

    it('accepts a discoveryUrl document naming any issuer of an issuer list', async () => {
      const listed = ['https://a.example/', 'https://b.example/']
      answers['/d'] = { doc: { issuer: 'https://b.example/', jwks_uri: keys.jwksUri } }
      const { validator } = validatorFor('', { issuer: listed, discoveryUrl: `${origin}/d` })
      await validator.verify(await tokenOf('https://a.example/'))
    })
  })

  describe('hostile documents', () => {
    it.each<[string, Answer, string]>([
      [
        'an http jwks_uri',
        { doc: { jwks_uri: 'http://issuer.example/keys' } },
        'jwks_uri is refused',
      ],
      ['a file jwks_uri', { doc: { jwks_uri: 'file:///etc/passwd' } }, 'jwks_uri is refused'],
      ['a huge document', { huge: true }, 'larger than 1024 bytes'],
      ['a document that is not JSON', { raw: '<html>' }, 'did not answer with JSON'],
      ['a redirect', { redirect: '/elsewhere' }, 'answered with a redirect (HTTP 302)'],
      ['a 500', { status: 500 }, 'answered HTTP 500'],
    ])('refuses %s with a 503 and a reason, fetching no keys', async (_, answer, reason) => {
      const issuer = issuerAt('/h')
      const shaped = 'doc' in answer ? { doc: { issuer, ...(answer.doc as object) } } : answer
      answers[`/h${OIDC}`] = shaped
      answers[`${OAUTH}/h`] = shaped
      answers['/elsewhere'] = { doc: { issuer, jwks_uri: keys.jwksUri } }
      const { validator, failure } = validatorFor(issuer, { maxResponseSize: 1024 })
      const error = await rejectionOf(validator.warmUp())
      expect(error).toBeInstanceOf(KeysUnavailableError)
      expect(keys.hits).toBe(0)
      expect(hits['/elsewhere']).toBeUndefined()
      expect(failure()).toContain(reason)
      expect(hits[`/h${OIDC}`]).toBe(1)
      expect(hits[`${OAUTH}/h`]).toBe(1)
    })

    it('gives up on a discovery server that never answers, within the timeout of each fetch', async () => {
      const issuer = issuerAt('/slow')
      answers[`/slow${OIDC}`] = { hang: true }
      answers[`${OAUTH}/slow`] = { hang: true }
      const { validator, failure } = validatorFor(issuer, { timeoutDuration: 100 })
      expect(await rejectionOf(validator.warmUp())).toBeInstanceOf(KeysUnavailableError)
      expect(failure()).toContain('did not answer within 100 ms')
      expect(keys.hits).toBe(0)
    })

    it('tries discovery again on the next token after a failure, and then recovers', async () => {
      const issuer = issuerAt('/later')
      const { validator } = validatorFor(issuer, { cooldownDuration: 0 })
      const token = await tokenOf(issuer)
      expectKeysUnavailable(await rejectionOf(validator.verify(token)), '5')
      answers[`/later${OIDC}`] = { doc: { issuer, jwks_uri: keys.jwksUri } }
      await validator.verify(token)
      expect(keys.hits).toBe(1)
    })
  })

  it("inspectToken reports the discovery failure's reason on the key check", async () => {
    const issuer = issuerAt('/i')
    answers[`/i${OIDC}`] = { doc: { issuer: `${issuer}/`, jwks_uri: keys.jwksUri } }
    const report = await inspectToken(
      await tokenOf(issuer),
      { issuer, audience: AUDIENCE },
      { now: NOW },
    )
    expect(report.verdict).toBe('rejected')
    const key = report.checks.find((check) => check.name === 'key')
    expect(key?.status).toBe('fail')
    expect(JSON.stringify(key)).toContain('names the issuer')
    expect(keys.hits).toBe(0)
  })

  it('refuses a token of the issuer signed by a key its discovered JWKS does not hold', async () => {
    const issuer = issuerAt('/k')
    answers[`/k${OIDC}`] = { doc: { issuer, jwks_uri: keys.jwksUri } }
    keys.setKeys([rsaKey])
    const { validator } = validatorFor(issuer)
    const forged = await mintToken({ key: attackerKey, claims: { iss: issuer } })
    expect((await rejectionOf(validator.verify(forged))).status).toBe(401)
  })
})
