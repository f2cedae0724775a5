/**
 * DPoP end to end with real parts: panva's oidc-provider (a certified OpenID provider) issues
 * DPoP-bound JWT access tokens (RFC 9068, `cnf.jkt`) with the client-credentials grant, with and
 * without its own nonces; panva's oauth4webapi is the client, making every proof; the API is
 * Express with bearer-guard, with and without nonces of its own. Everything on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import * as oauth from 'oauth4webapi'
import Provider from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticate } from '../../adapters/express.js'
import { createValidator, type ValidatorOptions } from '../../src/index.js'
import { createTestKey } from '../helpers/keys.js'

const CLIENT_ID = 'dpop-client'
const CLIENT_SECRET = 'a client secret that is long enough for the test'
const AUDIENCE = 'api://orders'

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
  })
}

const close = (server: Server) => new Promise<void>((done) => server.close(() => done()))

let issuer: string
let api: string
let asNonces = false
const servers: Server[] = []

beforeAll(async () => {
  const signing = await createTestKey('ES256', 'as-es256')
  const asServer = createServer()
  issuer = await listen(asServer)
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [signing.privateJwk as never] },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      dPoP: {
        enabled: true,
        nonceSecret: Buffer.alloc(32, 1),
        requireNonce: () => asNonces,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'Files.Read',
          audience: AUDIENCE,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  })
  asServer.on('request', provider.callback())
  servers.push(asServer)

  const apiServer = createServer()
  api = await listen(apiServer)
  const options: ValidatorOptions = {
    issuer,
    audience: AUDIENCE,
    jwksUri: `${issuer}/jwks`,
  }
  const plain = createValidator({ ...options, dpop: { publicOrigin: api } })
  const nonces = createValidator({ ...options, dpop: { publicOrigin: api, nonce: true } })
  const app = express()
  const answer: express.RequestHandler = (req, res) => {
    res.json({ clientId: req.auth?.clientId, binding: req.auth?.binding })
  }
  app.get('/plain', authenticate(plain), answer)
  app.get('/nonce', authenticate(nonces), answer)
  apiServer.on('request', app)
  servers.push(apiServer)
})

afterAll(() => Promise.all(servers.map(close)))

const insecure = { [oauth.allowInsecureRequests]: true }

/** oauth4webapi's client-credentials grant with DPoP, retrying once for the AS's nonce. */
async function getToken(DPoP: oauth.DPoPHandle): Promise<string> {
  const as = await oauth.processDiscoveryResponse(
    new URL(issuer),
    await oauth.discoveryRequest(new URL(issuer), insecure),
  )
  const client: oauth.Client = { client_id: CLIENT_ID }
  const auth = oauth.ClientSecretBasic(CLIENT_SECRET)
  const grant = async () =>
    oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(
        as,
        client,
        auth,
        { scope: 'Files.Read' },
        {
          DPoP,
          ...insecure,
        },
      ),
    )
  let result: oauth.TokenEndpointResponse
  try {
    result = await grant()
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) {
      const { error: code, error_description } = error as oauth.ResponseBodyError
      throw new Error(`token request failed: ${code} ${error_description}`)
    }
    result = await grant()
  }
  expect(result.token_type.toLowerCase()).toBe('dpop')
  return result.access_token
}

/** oauth4webapi's protected resource request, retrying once for the API's nonce. */
async function callApi(DPoP: oauth.DPoPHandle, token: string, path: string): Promise<Response> {
  const call = () =>
    oauth.protectedResourceRequest(token, 'GET', new URL(`${api}${path}`), new Headers(), null, {
      DPoP,
      ...insecure,
    })
  try {
    return await call()
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error
    return call()
  }
}

describe.each([false, true])('oidc-provider DPoP tokens (AS nonces: %s)', (withAsNonces) => {
  let DPoP: oauth.DPoPHandle
  let keyPair: oauth.CryptoKeyPair
  let jkt: string
  let token: string

  beforeAll(async () => {
    asNonces = withAsNonces
    keyPair = await oauth.generateKeyPair('ES256')
    DPoP = oauth.DPoP({}, keyPair)
    jkt = await DPoP.calculateThumbprint()
    token = await getToken(DPoP)
  })

  it('accepts the bound token with oauth4webapi’s proofs, again and again', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await callApi(DPoP, token, '/plain')
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ clientId: CLIENT_ID, binding: { method: 'dpop', jkt } })
    }
  })

  it('hands out its own nonce with use_dpop_nonce, which oauth4webapi retries with', async () => {
    const fresh = oauth.DPoP({}, keyPair)
    const first = oauth.protectedResourceRequest(
      token,
      'GET',
      new URL(`${api}/nonce`),
      new Headers(),
      null,
      {
        DPoP: fresh,
        ...insecure,
      },
    )
    await expect(first.catch((error) => oauth.isDPoPNonceError(error))).resolves.toBe(true)
    const res = await callApi(fresh, token, '/nonce')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ clientId: CLIENT_ID, binding: { method: 'dpop', jkt } })
  })

  it('refuses the token as Bearer, and with another client’s proofs', async () => {
    const bearer = await fetch(`${api}/plain`, { headers: { authorization: `Bearer ${token}` } })
    expect(bearer.status).toBe(401)
    const other = oauth.DPoP({}, await oauth.generateKeyPair('ES256'))
    await expect(callApi(other, token, '/plain')).rejects.toMatchObject({
      name: 'WWWAuthenticateChallengeError',
    })
  })
})
