/**
 * A `fetch` for validators that trusts the emulator's CA (for this function only: never
 * process-wide, never by turning TLS verification off) and reaches the emulator's origins and
 * nothing else. What `azureAd()`'s `fetch` option takes, so that a validator fetches the keys, and
 * resolves a domain tenant through discovery, over HTTPS from the emulator (issue #13).
 */
import { request as httpRequest } from 'node:http'
import { Agent, request as httpsRequest } from 'node:https'
import { Readable } from 'node:stream'

/** Options of {@link createEmulatorFetch}. */
export interface EmulatorFetchOptions {
  /** The origins it may reach (`https://127.0.0.1:PORT`...). */
  readonly origins: readonly string[]
  /** PEM certificate(s) to trust for HTTPS. */
  readonly ca: string
}

/**
 * A GET-only `fetch` over node:http(s): redirects are returned as they are (the validator refuses
 * them), `signal` aborts the request, and any other origin or method is refused.
 *
 * @example
 * ```ts
 * const fetchFromEmulator = createEmulatorFetch({ origins: [emulator.instance], ca: emulator.ca })
 * createValidator(azureAd({ ...emulator.azureAdOptions(), clientId, fetch: fetchFromEmulator }))
 * ```
 */
export function createEmulatorFetch(options: EmulatorFetchOptions): typeof fetch {
  const agent = new Agent({ ca: options.ca, keepAlive: false })
  const origins = new Set(options.origins)
  return ((input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
    const method = (init.method ?? 'GET').toUpperCase()
    if (!origins.has(url.origin) || method !== 'GET') {
      return Promise.reject(
        new TypeError(`the emulator's fetch does not reach ${method} ${url.origin}`),
      )
    }
    const headers: Record<string, string> = {}
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value
    })
    return new Promise<Response>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest
      const request = send(
        url,
        {
          method,
          headers,
          ...(url.protocol === 'https:' ? { agent } : {}),
          signal: init.signal ?? undefined,
        },
        (response) => {
          const responseHeaders = new Headers()
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === 'string') responseHeaders.set(name, value)
            else if (Array.isArray(value))
              for (const item of value) responseHeaders.append(name, item)
          }
          const status = response.statusCode ?? 502
          const body =
            status === 204 || status === 304 ? null : (Readable.toWeb(response) as ReadableStream)
          resolve(new Response(body, { status, headers: responseHeaders }))
        },
      )
      request.once('error', reject)
      request.end()
    })
  }) as typeof fetch
}
