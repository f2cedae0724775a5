/**
 * The API that the client tests call with the tokens each client gets from the emulator: Express
 * with bearer-guard's `azureAd()` profile pointed at the emulator. `/orders` needs the app role
 * `Data.Read.All` (a daemon's app-only token), `/profile` the delegated scope `Data.Read` (a
 * user's token, On-Behalf-Of).
 */
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express, { type ErrorRequestHandler } from 'express'
import { authenticate, requireRoles, requireScopes } from '../../adapters/express.js'
import { azureAd, createValidator } from '../../src/index.js'
import type { AppRegistration, EntraEmulator } from '../../src/testing/index.js'

/** What the API answered: the status and the `WWW-Authenticate` challenge, if any. */
export interface ApiAnswer {
  status: number
  challenge: string | null
}

/** A running API; `call()` sends a token as `Authorization: Bearer`. */
export interface ProtectedApi {
  call(path: '/orders' | '/profile', token: string): Promise<ApiAnswer>
  close(): Promise<void>
}

// The README's pattern for a custom error handler: copy err.headers, expose 4xx messages only.
const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  res.set(err.headers ?? {})
  res.status(err.status ?? 500).json({ error: err.code ?? 'server_error' })
}

/** Starts the API on 127.0.0.1 for tokens whose audience is `api`. */
export async function startProtectedApi(
  emulator: EntraEmulator,
  api: AppRegistration,
): Promise<ProtectedApi> {
  const validator = createValidator(
    azureAd({ ...emulator.azureAdOptions(), clientId: api.clientId }),
  )
  const app = express()
  app.use(authenticate(validator))
  app.get('/orders', requireRoles('Data.Read.All'), (_req, res) => {
    res.json({ orders: [] })
  })
  app.get('/profile', requireScopes('Data.Read'), (req, res) => {
    res.json({ subject: req.auth?.subject })
  })
  app.use(errorHandler)
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    async call(path, token) {
      const response = await fetch(`${origin}${path}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5_000),
      })
      await response.arrayBuffer()
      return { status: response.status, challenge: response.headers.get('www-authenticate') }
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    },
  }
}
