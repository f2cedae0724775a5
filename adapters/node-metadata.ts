/**
 * The RFC 9728 metadata route for `node:http` and what passes Node's request and response on
 * unchanged (Express, NestJS, the MCP SDK's Express app): shared by the adapters that need it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Validator, ValidatorOptions } from '../src/index.js'
import * as core from '../src/index.js'

/** A Node request handler that answers the metadata paths and passes every other request on. */
export type NodeMetadataHandler = (
  req: IncomingMessage & { originalUrl?: string },
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void

/**
 * Creates the Node handler of a validator's RFC 9728 metadata.
 *
 * @example
 * ```ts
 * app.use(nodeMetadataHandler(validator))
 * ```
 */
export function nodeMetadataHandler(
  optionsOrValidator: ValidatorOptions | Validator,
): NodeMetadataHandler {
  const respond = core.createResourceMetadataResponder(core.toValidator(optionsOrValidator))
  return (req, res, next) => {
    // originalUrl: the target as sent, whatever a mounted Express router made of `url`.
    const answer = respond(req.method, req.originalUrl ?? req.url)
    if (answer === undefined) {
      next()
      return
    }
    res.writeHead(answer.status, answer.headers)
    res.end(answer.body)
  }
}
