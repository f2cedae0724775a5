/**
 * The tracing channels on Node.js, Bun and Deno: `node:diagnostics_channel`. The core imports
 * them as `#channels` (package.json `imports`); the WebCrypto build gets channels-web.ts, with the
 * same export, which names no Node.js built-in (issue #13).
 */
export { tracingChannel } from 'node:diagnostics_channel'
