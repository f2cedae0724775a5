/**
 * panva's oidc-provider as a real issuer for interop tests: one confidential client with the
 * client-credentials grant, RFC 9068 JWT access tokens for one audience (resource indicators),
 * signed ES256. Tests add the features they exercise (DPoP, mTLS).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider, { type Configuration } from 'oidc-provider'
import { createTestKey } from './keys.js'

export const CLIENT_SECRET = 'a client secret that is long enough for the test'

/** Listens on 127.0.0.1, an ephemeral port; resolves to `http://127.0.0.1:PORT`. */
export function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
  })
}

export const close = (server: Server) => new Promise<void>((done) => server.close(() => done()))

/**
 * Starts an oidc-provider on its own server; its issuer is the server's origin (no trailing
 * slash). `features` are added to client credentials and resource indicators.
 */
export async function startProvider(options: {
  clientId: string
  audience: string
  features?: Configuration['features']
  onRequest?: (url: string) => void
}): Promise<{ issuer: string; server: Server }> {
  const signing = await createTestKey('ES256', 'as-es256')
  const server = createServer()
  const issuer = await listen(server)
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
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
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'Files.Read',
          audience: options.audience,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
      ...options.features,
    },
  })
  const callback = provider.callback()
  server.on('request', (req, res) => {
    options.onRequest?.(req.url ?? '')
    callback(req, res)
  })
  return { issuer, server }
}
