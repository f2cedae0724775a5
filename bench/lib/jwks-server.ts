/**
 * The benchmarks' own JWKS endpoint: node:http on 127.0.0.1, an ephemeral port, a hit counter
 * and an optional delay (so that concurrent cold-start requests really overlap one fetch).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface BenchJwksServer {
  readonly jwksUri: string
  /** Requests to the JWKS path since the last reset. */
  readonly hits: number
  /** Requests to the JWKS path with this query string (`?client=3`), since the start. */
  hitsOf(query: string): number
  resetHits(): void
  setDelay(ms: number): void
  close(): Promise<void>
}

export async function startJwksServer(
  jwks: unknown,
  options: { delayMs?: number } = {},
): Promise<BenchJwksServer> {
  const body = JSON.stringify(jwks)
  let hits = 0
  const byQuery = new Map<string, number>()
  let delay = options.delayMs ?? 0
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (url.pathname !== '/keys') {
      res.writeHead(404).end()
      return
    }
    hits++
    byQuery.set(url.search, (byQuery.get(url.search) ?? 0) + 1)
    const answer = () =>
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        })
        .end(body)
    if (delay > 0) setTimeout(answer, delay)
    else answer()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    jwksUri: `http://127.0.0.1:${port}/keys`,
    get hits() {
      return hits
    },
    hitsOf(query) {
      return byQuery.get(query) ?? 0
    },
    resetHits() {
      hits = 0
    },
    setDelay(ms) {
      delay = ms
    },
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
