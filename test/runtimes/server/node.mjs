/** Node.js: node:http in front of the app. Prints `{"port":N}` once listening on 127.0.0.1. */
import { createServer } from 'node:http'
import { createApp } from './app.mjs'

const app = createApp(JSON.parse(process.argv[2] ?? '{}'))
const server = createServer(async (req, res) => {
  try {
    const headers = new Headers()
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      headers.append(req.rawHeaders[i], req.rawHeaders[i + 1])
    }
    const response = await app(new Request(`http://127.0.0.1${req.url}`, { headers }))
    res.writeHead(response.status, [...response.headers].flat())
    res.end(Buffer.from(await response.arrayBuffer()))
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' })
    res.end(`uncaught: ${error instanceof Error ? error.message : String(error)}`)
  }
})
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }))
})
