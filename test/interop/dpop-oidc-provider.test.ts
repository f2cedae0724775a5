/**
 * DPoP end to end with real parts: panva's oidc-provider (a certified OpenID provider) issues
 * DPoP-bound JWT access tokens (RFC 9068, `cnf.jkt`) with the client-credentials grant, with and
 * without its own nonces; panva's oauth4webapi is the client, making every proof; the API is
 * Express with bearer-guard, with and without nonces of its own. Everything on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http'
import express from 'express'
import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticate } from '../../adapters/express.js'
import { createValidator, type ValidatorOptions } from '../../src/index.js'
import { CLIENT_SECRET, close, listen, startProvider } from '../helpers/oidc-provider.js'

const CLIENT_ID = 'dpop-client'
const AUDIENCE = 'api://orders'

let issuer: string
let api: string
let asNonces = false
const servers: Server[] = []

beforeAll(async () => {
  const provider = await startProvider({
    clientId: CLIENT_ID,
    audience: AUDIENCE,
    features: {
      dPoP: {
        enabled: true,
        nonceSecret: Buffer.alloc(32, 1),
        requireNonce: () => asNonces,
      },
    },
  })
  issuer = provider.issuer
  servers.push(provider.server)

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
