/**
 * The request as the core sees it: what an adapter knows of an HTTP request, without any
 * framework's types. A resource server judges a request, not a token string (DESIGN.md, "The
 * request pipeline"): the method and URL (for DPoP's `htm` and `htu`), every header line as sent
 * (all Authorization values, so that credentials sent twice are refused; a `DPoP` proof header),
 * and the TLS client certificate where the framework has a socket (RFC 8705).
 *
 * Two shapes are read without copying: Node's `IncomingMessage` (Express's `req`, Koa's
 * `ctx.req`, Fastify's `request.raw`, NestJS on Express) and the Fetch API's `Request` (Hono,
 * Next.js, Bun, Deno, Workers), where repeated header lines arrive joined with `, `.
 */
import type { AuthorizationInput } from './authorization.js'

/** A TLS socket as Node's `tls.TLSSocket` exposes the peer certificate. */
interface PeerCertificateSource {
  getPeerCertificate?(detailed?: boolean): { raw?: Uint8Array } | null | undefined
}

/** A request from `node:http` or a framework built on it (`req.rawHeaders` as sent). */
export interface NodeRequestLike {
  readonly method?: string | undefined
  /** The request target as received: path and query. */
  readonly url?: string | undefined
  /** Header names and values as sent, one after the other (`IncomingMessage.rawHeaders`). */
  readonly rawHeaders: readonly string[]
  /** The connection (a `tls.TLSSocket` under HTTPS); its peer certificate is read only when a step needs it. */
  readonly socket?: object | null | undefined
}

/** A request of the Fetch API (`Request`), or anything with its `method`, `url` and `headers.get`. */
export interface FetchRequestLike {
  readonly method?: string | undefined
  readonly url?: string | undefined
  readonly headers: {
    /** The value of a header, repeated lines joined with `, `; `null` when absent. */
    get(name: string): string | null
  }
}

/**
 * What the core takes from an adapter: a Node request or a Fetch-API request, as they are.
 *
 * @example
 * ```ts
 * const decision = await validator.judge(req) // Express: req; Koa: ctx.req; Hono: c.req.raw
 * ```
 */
export type RequestLike = NodeRequestLike | FetchRequestLike

/** Whether the request is a Node one (header lines as sent) rather than a Fetch one. */
function isNodeRequest(request: RequestLike): request is NodeRequestLike {
  return Array.isArray((request as NodeRequestLike).rawHeaders)
}

/**
 * Every value of a header (name in lower case) from Node's `rawHeaders` list: `undefined`, the
 * one value, or all of them when it was sent more than once.
 */
export function readHeaderLines(
  rawHeaders: readonly string[],
  lowerCaseName: string,
): AuthorizationInput {
  let found: string | string[] | undefined
  const length = lowerCaseName.length
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    if (name.length !== length || name.toLowerCase() !== lowerCaseName) continue
    const value = rawHeaders[i + 1] as string
    if (found === undefined) found = value
    else if (typeof found === 'string') found = [found, value]
    else found.push(value)
  }
  return found
}

/**
 * Every value of a request header, whatever the request's shape: `undefined`, one value, or a
 * list when a Node request sent the header more than once (a Fetch request joins them).
 *
 * @example
 * ```ts
 * readHeader(req, 'authorization') // 'Bearer eyJ...' or ['Bearer a', 'Bearer b']
 * ```
 */
export function readHeader(request: RequestLike, lowerCaseName: string): AuthorizationInput {
  if (isNodeRequest(request)) return readHeaderLines(request.rawHeaders, lowerCaseName)
  const headers = (request as FetchRequestLike).headers
  return typeof headers?.get === 'function' ? (headers.get(lowerCaseName) ?? undefined) : undefined
}

/**
 * The DER bytes of the TLS client certificate of a Node request, when the connection has one
 * (RFC 8705 §3); `undefined` for plain HTTP, a Fetch request, or no certificate sent.
 */
export function readClientCertificate(request: RequestLike): Uint8Array | undefined {
  if (!isNodeRequest(request)) return undefined
  const socket = request.socket as PeerCertificateSource | null | undefined
  const certificate =
    typeof socket?.getPeerCertificate === 'function' ? socket.getPeerCertificate(false) : undefined
  const raw = certificate?.raw
  return raw instanceof Uint8Array && raw.length > 0 ? raw : undefined
}
