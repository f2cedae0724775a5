/**
 * Certificate-bound tokens (RFC 8705) over real mutual TLS: oidc-provider, on a `node:https`
 * server that asks for client certificates, issues a JWT access token bound to the certificate
 * the client presented (`cnf["x5t#S256"]`); Express, Koa, Fastify and NestJS APIs on `node:https`
 * with `requestCert` accept it only from a connection made with that certificate, read from the
 * TLS socket. Certificates are made here (src/testing/certificate.ts); everything on 127.0.0.1.
 */
import 'reflect-metadata'
import { X509Certificate } from 'node:crypto'
import { createServer, request, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import Router from '@koa/router'
import { Controller, Get, Module, UseGuards } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import Provider from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as expressAdapter from '../../adapters/express.js'
import * as fastifyAdapter from '../../adapters/fastify.js'
import * as koaAdapter from '../../adapters/koa.js'
import { Auth, BearerAuthGuard, BearerGuardModule } from '../../adapters/nestjs.js'
import { type AuthInfo, createValidator, type Validator } from '../../src/index.js'
import { type Certificate, createCertificate } from '../../src/testing/certificate.js'
import { createTestKey } from '../helpers/keys.js'

const CLIENT_ID = 'mtls-client'
const CLIENT_SECRET = 'a client secret that is long enough for the test'
const AUDIENCE = 'api://orders'

let ca: Certificate
let server: Certificate
let client: Certificate
let otherClient: Certificate
let issuer: string
const closers: Array<() => Promise<void>> = []

/** TLS settings of a server that asks for (but does not demand) a client certificate. */
const tls = () => ({
  key: server.privateKey,
  cert: server.certificate,
  ca: ca.certificate,
  requestCert: true,
  rejectUnauthorized: false,
})

function listen(https: Server): Promise<string> {
  return new Promise((resolve) => {
    https.listen(0, '127.0.0.1', () => {
      resolve(`https://127.0.0.1:${(https.address() as AddressInfo).port}`)
      closers.push(() => new Promise((done) => https.close(() => done())))
    })
  })
}

/** A request over TLS, with the client certificate `as` when given. */
function send(
  url: string,
  options: { as?: Certificate; method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: ca.certificate,
        cert: options.as?.certificate,
        key: options.as?.privateKey,
        agent: false,
        timeout: 5_000,
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
      },
    )
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    req.end(options.body)
  })
}

beforeAll(async () => {
  ca = await createCertificate({ commonName: 'test CA', certificateAuthority: true })
  ;[server, client, otherClient] = await Promise.all([
    createCertificate({ commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], issuer: ca }),
    createCertificate({ commonName: 'client', extendedKeyUsages: ['clientAuth'], issuer: ca }),
    createCertificate({ commonName: 'other', extendedKeyUsages: ['clientAuth'], issuer: ca }),
  ])
  const signing = await createTestKey('ES256', 'as-es256')
  const asServer = createServer(tls())
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
        tls_client_certificate_bound_access_tokens: true,
      },
    ],
    jwks: { keys: [signing.privateJwk as never] },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        // The certificate of the TLS connection, as PEM.
        getCertificate: (ctx) => {
          const socket = ctx.req.socket as import('node:tls').TLSSocket
          const raw = socket.getPeerCertificate().raw
          return raw === undefined ? undefined : new X509Certificate(raw).toString()
        },
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
})

afterAll(async () => {
  await Promise.all(closers.map((close) => close()))
})

/** A client-credentials token from oidc-provider, over a connection made with `as`. */
async function getToken(as: Certificate): Promise<string> {
  const res = await send(`${issuer}/token`, {
    as,
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=Files.Read',
  })
  expect(res.status).toBe(200)
  return (JSON.parse(res.text) as { access_token: string }).access_token
}

const body = (auth: AuthInfo | undefined) => ({ binding: auth?.binding ?? null })

/** Each adapter on node:https with requestCert, serving GET /me. */
const APIS: Record<string, (validator: Validator) => Promise<string>> = {
  express: async (validator) => {
    const app = express()
    app.get('/me', expressAdapter.authenticate(validator), (req, res) => {
      res.json(body(req.auth))
    })
    return listen(createServer(tls(), app))
  },
  koa: async (validator) => {
    const app = new Koa()
    const router = new Router()
    router.get('/me', koaAdapter.authenticate(validator), (ctx) => {
      ctx.body = body(ctx.state.auth)
    })
    app.use(router.routes())
    return listen(createServer(tls(), app.callback()))
  },
  fastify: async (validator) => {
    const app = Fastify({ https: tls() })
    app.get('/me', { onRequest: fastifyAdapter.authenticate(validator) }, async (request) =>
      body(request.auth),
    )
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    return `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  },
  nestjs: async (validator) => {
    @Controller('me')
    @UseGuards(BearerAuthGuard)
    class MeController {
      @Get()
      get(@Auth() auth: AuthInfo | undefined) {
        return body(auth)
      }
    }
    @Module({ imports: [BearerGuardModule.forRoot(validator)], controllers: [MeController] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false, httpsOptions: tls() })
    await app.listen(0, '127.0.0.1')
    closers.push(() => app.close())
    return `https://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
  },
}

describe.each(Object.keys(APIS))('certificate-bound tokens over mTLS through %s', (name) => {
  let api: string
  let token: string
  let thumbprint: string

  beforeAll(async () => {
    const validator = createValidator({
      issuer,
      audience: AUDIENCE,
      // The issuer's keys, fetched from its https JWKS with the test CA trusted.
      keys: JSON.parse((await send(`${issuer}/jwks`, {})).text),
      certificateBinding: true,
    })
    api = await (APIS[name] as (v: Validator) => Promise<string>)(validator)
    token = await getToken(client)
    thumbprint = Buffer.from(client.thumbprintSha256, 'hex').toString('base64url')
  })

  it('accepts the token from a connection with its certificate, as Bearer and as MTLS_POP', async () => {
    for (const scheme of ['Bearer', 'MTLS_POP', 'Bearer']) {
      const res = await send(`${api}/me`, {
        as: client,
        headers: { authorization: `${scheme} ${token}` },
      })
      expect(res.status).toBe(200)
      expect(JSON.parse(res.text)).toEqual({
        binding: { method: 'certificate', x5tS256: thumbprint },
      })
    }
  })

  it('refuses it without a client certificate, or with another one, cached or not', async () => {
    const none = await send(`${api}/me`, { headers: { authorization: `Bearer ${token}` } })
    expect(none.status).toBe(401)
    expect(none.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="invalid_token", error_description="the token is bound to a client certificate, and the request came without one"',
    )
    const other = await send(`${api}/me`, {
      as: otherClient,
      headers: { authorization: `Bearer ${token}` },
    })
    expect(other.status).toBe(401)
    expect(other.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="invalid_token", error_description="the token is bound to another client certificate than the one of this request"',
    )
  })

  it('refuses a token bound to another client’s certificate', async () => {
    const foreign = await getToken(otherClient)
    const res = await send(`${api}/me`, {
      as: client,
      headers: { authorization: `Bearer ${foreign}` },
    })
    expect(res.status).toBe(401)
  })
})
