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
import { normalizeHtuCached } from './dpop.js'
import { normalizeOrigin, targetPath } from './htu.js'
import type { TrustedProxyHeaders } from './options.js'

/** A TLS socket as Node's `tls.TLSSocket` exposes the peer certificate. */
interface PeerCertificateSource {
  getPeerCertificate?(detailed?: boolean): { raw?: Uint8Array } | null | undefined
}

/** A request from `node:http` or a framework built on it (`req.rawHeaders` as sent). */
export interface NodeRequestLike {
  readonly method?: string | undefined
  /** The request target as received: path and query. */
  readonly url?: string | undefined
  /** The request target before a framework rewrote `url` for a mounted router (Express sets it). */
  readonly originalUrl?: string | undefined
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

/**
 * The path of the request, without query and fragment: from `target` when the adapter gives
 * the request target as the client sent it (Koa's `ctx.originalUrl`), else from the request
 * (`originalUrl` or `url` of a Node request, the path of a Fetch request's URL).
 */
export function readRequestPath(request: RequestLike, target?: string): string | undefined {
  if (target !== undefined) return targetPath(target)
  const node = request as NodeRequestLike
  return targetPath(node.originalUrl ?? node.url)
}

/** The last element of a header's values, list-separated by commas (the nearest proxy's). */
function lastElement(request: RequestLike, name: string): string | undefined {
  const value = readHeader(request, name)
  const line = typeof value === 'string' ? value : value?.[value.length - 1]
  if (line === undefined) return undefined
  const element = line.slice(line.lastIndexOf(',') + 1).trim()
  return element === '' ? undefined : element
}

/** `proto` and `host` of the last element of RFC 7239's `Forwarded`, unquoted. */
function forwardedOrigin(request: RequestLike): string | undefined {
  const element = lastElement(request, 'forwarded')
  if (element === undefined) return undefined
  let proto: string | undefined
  let host: string | undefined
  for (const pair of element.split(';')) {
    const equals = pair.indexOf('=')
    if (equals === -1) continue
    const name = pair.slice(0, equals).trim().toLowerCase()
    let value = pair.slice(equals + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1)
    if (name === 'proto') proto = value
    else if (name === 'host') host = value
  }
  return proto === undefined || host === undefined ? undefined : `${proto}://${host}`
}

/**
 * The public origin of a request as a trusted reverse proxy states it (see
 * {@link TrustedProxyHeaders}), normalised; `undefined` when the headers are missing or do not
 * make an http(s) origin.
 */
export function readProxyOrigin(
  request: RequestLike,
  headers: TrustedProxyHeaders,
): string | undefined {
  if (headers === 'forwarded') return normalizeOrigin(forwardedOrigin(request))
  const proto = lastElement(request, 'x-forwarded-proto')
  const host = lastElement(request, 'x-forwarded-host')
  return proto === undefined || host === undefined
    ? undefined
    : normalizeOrigin(`${proto}://${host}`)
}

/**
 * The URI of the request in `htu` form (RFC 9449 §4.3): the public origin and the request
 * path, normalised; `undefined` when either cannot be known.
 */
export function readRequestUri(
  request: RequestLike,
  origin: string | undefined,
  target?: string,
): string | undefined {
  const path = readRequestPath(request, target)
  if (origin === undefined || path === undefined) return undefined
  return normalizeHtuCached(origin + path)
}
