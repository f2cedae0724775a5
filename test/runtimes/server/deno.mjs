/** Deno: Deno.serve in front of the app. Prints `{"port":N}` once listening on 127.0.0.1. */
import { createApp } from './app.mjs'

Deno.serve(
  {
    hostname: '127.0.0.1',
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ port })),
  },
  createApp(JSON.parse(Deno.args[0] ?? '{}')),
)
