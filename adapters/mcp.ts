/**
 * Model Context Protocol glue for `@modelcontextprotocol/sdk`: a token verifier for the SDK's
 * `requireBearerAuth` middleware, the options that middleware needs to answer as the MCP
 * authorization spec asks (`resource_metadata` in its challenges, the server's canonical URI as
 * the only accepted resource), and the RFC 9728 metadata route the spec requires. The audience
 * rule and the SDK's `AuthInfo` are built in the core (`src/mcp-auth.ts`); this file only turns
 * rejections into the SDK's error classes, whose kinds its middleware answers with 401 and 403.
 *
 * Nothing here imports the SDK's Express middleware or this package's Express adapter: both
 * declare `req.auth` (the SDK with its own `AuthInfo`), so a program may load only one of them.
 *
 * @module bearer-guard/mcp
 */
import {
  InsufficientScopeError,
  InvalidTokenError,
  ServerError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js'
import type { AuthInfo, McpAuthInfo, Validator, ValidatorOptions } from '../src/index.js'
import * as core from '../src/index.js'
import { type NodeMetadataHandler, nodeMetadataHandler } from './node-metadata.js'

export type { AuthInfo, McpAuthInfo, Validator, ValidatorOptions } from '../src/index.js'
export type { NodeMetadataHandler } from './node-metadata.js'

/** The SDK's `OAuthTokenVerifier`, as {@link createTokenVerifier} implements it. */
export interface McpTokenVerifier {
  /** Verifies a token; resolves to the SDK's `AuthInfo`, or rejects with one of the SDK's errors. */
  verifyAccessToken(token: string): Promise<McpAuthInfo>
}

/** The options of the SDK's `requireBearerAuth`, as {@link mcpBearerAuth} fills them in. */
export interface McpBearerAuthOptions {
  verifier: McpTokenVerifier
  requiredScopes: string[]
  resourceMetadataUrl: string
  expectedResource: URL
}

const SDK_ERRORS = {
  invalid_token: InvalidTokenError,
  insufficient_scope: InsufficientScopeError,
  server_error: ServerError,
} as const

function toSdkError(rejection: core.McpRejection, cause?: unknown): Error {
  const error = new SDK_ERRORS[rejection.kind](rejection.message)
  if (cause !== undefined) error.cause = cause
  return error
}

/**
 * Creates the verifier for the SDK's `requireBearerAuth({ verifier })`: it verifies the token
 * with the validator, accepts it only when its `aud` names the server's canonical URI
 * (`resourceMetadata.resource`, which must be one of the validator's audiences), and resolves to
 * the SDK's `AuthInfo` (`extra.bearerGuard` holds bearer-guard's own). A rejection is the SDK's
 * `InvalidTokenError` (401), or its `ServerError` when no key can be had (500: the SDK has no 503).
 *
 * @example
 * ```ts
 * const verifier = createTokenVerifier(validator)
 * app.post('/mcp', requireBearerAuth({ verifier, resourceMetadataUrl }), handler)
 * ```
 */
export function createTokenVerifier(
  optionsOrValidator: ValidatorOptions | Validator,
): McpTokenVerifier {
  const validator = core.toValidator(optionsOrValidator)
  const resource = core.mcpResourceOf(validator)
  return {
    async verifyAccessToken(token) {
      let auth: AuthInfo
      try {
        auth = await validator.verify(token)
      } catch (error) {
        throw toSdkError(core.mcpRejectionOf(error), error)
      }
      const info = core.toMcpAuthInfo(auth, resource)
      if ('kind' in info) throw toSdkError(info)
      return info
    },
  }
}

/**
 * The options of the SDK's `requireBearerAuth` for a validator: the verifier, the scopes every
 * call needs (its 403 `insufficient_scope`), the metadata URL its challenges name (RFC 9728 §5.1)
 * and the server's canonical URI as the expected resource.
 *
 * @example
 * ```ts
 * app.post('/mcp', requireBearerAuth(mcpBearerAuth(validator, { requiredScopes: ['mcp:tools'] })), handler)
 * ```
 */
export function mcpBearerAuth(
  optionsOrValidator: ValidatorOptions | Validator,
  options: { requiredScopes?: readonly string[] } = {},
): McpBearerAuthOptions {
  const validator = core.toValidator(optionsOrValidator)
  const settings = core.mcpSettingsOf(validator, options.requiredScopes)
  return {
    verifier: createTokenVerifier(validator),
    requiredScopes: settings.requiredScopes,
    resourceMetadataUrl: settings.resourceMetadataUrl,
    expectedResource: new URL(settings.resource),
  }
}

/**
 * bearer-guard's `AuthInfo` of a request the SDK's middleware let through (`req.auth`, or the
 * `authInfo` a tool handler gets), or `undefined` when it has none.
 *
 * @example
 * ```ts
 * server.registerTool('whoami', {}, async (_args, { authInfo }) => ({
 *   content: [{ type: 'text', text: bearerGuardAuth(authInfo)?.subject ?? 'anonymous' }],
 * }))
 * ```
 */
export function bearerGuardAuth(
  info: { extra?: Record<string, unknown> } | undefined,
): AuthInfo | undefined {
  return info?.extra?.bearerGuard as AuthInfo | undefined
}

/**
 * Express (or `node:http`) middleware that serves the MCP server's RFC 9728 metadata at
 * `/.well-known/oauth-protected-resource` followed by the server's path (and the root form), as
 * the MCP authorization spec requires. Register it before the bearer middleware.
 *
 * @example
 * ```ts
 * app.use(protectedResourceMetadata(validator))
 * ```
 */
export function protectedResourceMetadata(
  optionsOrValidator: ValidatorOptions | Validator,
): NodeMetadataHandler {
  return nodeMetadataHandler(optionsOrValidator)
}
