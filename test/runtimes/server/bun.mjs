/** Bun: Bun.serve in front of the app. Prints `{"port":N}` once listening on 127.0.0.1. */
import { createApp } from './app.mjs'

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch: createApp(JSON.parse(Bun.argv[2] ?? '{}')),
})
console.log(JSON.stringify({ port: server.port }))
