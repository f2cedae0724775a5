/**
 * An HTTP client for MSAL (`system.networkClient`, MSAL's `INetworkModule` shape) that reaches
 * the emulator and nothing else: it trusts the emulator's CA for this client only (never
 * process-wide, and never by turning TLS verification off), refuses every other origin so a
 * misconfigured test cannot reach the internet, and bounds each request in time and size.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { Agent, request as httpsRequest } from 'node:https'

/** Request options as MSAL passes them. */
export interface NetworkRequestOptions {
  headers?: Record<string, string>
  body?: string
}

/** A response as MSAL expects it: headers, the parsed JSON body, and the status. */
export interface NetworkResponse<T> {
  headers: Record<string, string>
  body: T
  status: number
}

/** MSAL's `INetworkModule`: what `system.networkClient` takes. */
export interface EmulatorNetworkClient {
  /** A GET to one of the emulator's origins; any other origin is refused. */
  sendGetRequestAsync<T>(
    url: string,
    options?: NetworkRequestOptions,
    timeout?: number,
  ): Promise<NetworkResponse<T>>
  /** A POST to one of the emulator's origins; any other origin is refused. */
  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>>
}

/** Options of {@link createEmulatorNetworkClient}. */
export interface EmulatorNetworkClientOptions {
  /** The origins the client may reach (`https://127.0.0.1:PORT`...). */
  origins: readonly string[]
  /** PEM certificate(s) to trust for HTTPS. */
  ca: string
  /** Time limit of one request, in ms. Default 10,000. */
  timeoutDuration?: number
  /** Largest response body read, in bytes. Default 1,048,576. */
  maxResponseSize?: number
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return flat
}

/**
 * Makes an MSAL network client bound to the given origins and CA. `close()` releases its agent.
 *
 * @example
 * ```ts
 * const networkClient = createEmulatorNetworkClient({ origins: [emulator.instance], ca: emulator.caCertificate })
 * new ConfidentialClientApplication({ auth: { clientId, clientSecret, ...emulator.msalAuthority() }, system: { networkClient } })
 * ```
 */
export function createEmulatorNetworkClient(
  options: EmulatorNetworkClientOptions,
): EmulatorNetworkClient & {
  /** Releases the client's connections. */
  close(): void
} {
  const origins = new Set(options.origins.map((origin) => new URL(origin).origin))
  const timeoutDuration = options.timeoutDuration ?? 10_000
  const maxResponseSize = options.maxResponseSize ?? 1_048_576
  const agent = new Agent({ ca: options.ca, keepAlive: false, maxSockets: 16 })

  function send<T>(
    method: 'GET' | 'POST',
    url: string,
    requestOptions: NetworkRequestOptions | undefined,
    timeout: number | undefined,
  ): Promise<NetworkResponse<T>> {
    let target: URL
    try {
      target = new URL(url)
    } catch {
      return Promise.reject(new Error('the emulator network client got an invalid URL'))
    }
    if (!origins.has(target.origin)) {
      return Promise.reject(
        new Error(
          `the emulator network client reaches only the emulator, not ${target.origin}: check the MSAL authority and knownAuthorities`,
        ),
      )
    }
    const body = method === 'POST' ? (requestOptions?.body ?? '') : undefined
    const headers: Record<string, string> = { ...requestOptions?.headers }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
    const limit = Math.min(timeout ?? timeoutDuration, timeoutDuration)
    return new Promise((resolve, reject) => {
      const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
        target,
        {
          method,
          headers,
          ...(target.protocol === 'https:' ? { agent } : {}),
          signal: AbortSignal.timeout(limit),
        },
        (response) => {
          const chunks: Buffer[] = []
          let size = 0
          response.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size > maxResponseSize) {
              response.destroy(new Error(`the emulator response exceeds ${maxResponseSize} bytes`))
              return
            }
            chunks.push(chunk)
          })
          response.on('error', reject)
          response.on('end', () => {
            let parsed: T
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as T
            } catch {
              reject(
                new Error(
                  `the emulator answered ${response.statusCode} with a body that is not JSON`,
                ),
              )
              return
            }
            resolve({
              headers: flatten(response.headers),
              body: parsed,
              status: response.statusCode ?? 0,
            })
          })
        },
      )
      request.on('error', reject)
      request.end(body)
    })
  }

  return {
    sendGetRequestAsync: <T>(
      url: string,
      requestOptions?: NetworkRequestOptions,
      timeout?: number,
    ) => send<T>('GET', url, requestOptions, timeout),
    sendPostRequestAsync: <T>(url: string, requestOptions?: NetworkRequestOptions) =>
      send<T>('POST', url, requestOptions, undefined),
    close: () => agent.destroy(),
  }
}
