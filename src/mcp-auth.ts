/**
 * The Model Context Protocol's rules for a resource server (MCP authorization, "Token Audience
 * Binding and Validation"): an MCP server accepts only tokens issued for its canonical URI, the
 * resource indicator clients send (RFC 8707 §2), and names its RFC 9728 metadata in challenges.
 * What the SDK's bearer middleware expects (its `AuthInfo`, its error kinds) is built here as plain
 * data, so that `bearer-guard/mcp` only translates.
 */
import { sanitizeDescription } from './challenge.js'
import { BearerGuardError } from './errors.js'
import { checkGuardNames } from './options.js'
import type { AuthInfo } from './types.js'
import type { Validator } from './validator.js'

/** The shape of the MCP SDK's `AuthInfo` (`@modelcontextprotocol/sdk/server/auth/types.js`). */
export interface McpAuthInfo {
  /** The access token. */
  token: string
  /** The calling client (`azp`, `appid`, `client_id`); empty when the token names none. */
  clientId: string
  /** Delegated scopes (`scp` or `scope`); app roles are in `extra.bearerGuard.roles`. */
  scopes: string[]
  /** `exp`, in seconds since the epoch. */
  expiresAt: number
  /** The MCP server's canonical URI: the token was issued for it (its `aud` names it). */
  resource: URL
  /** `bearerGuard`: bearer-guard's own `AuthInfo` of the token. */
  extra: { bearerGuard: AuthInfo }
}

/** How the MCP SDK's bearer middleware is to answer a rejection: which error, with what text. */
export interface McpRejection {
  readonly kind: 'invalid_token' | 'insufficient_scope' | 'server_error'
  /** A description safe inside a quoted `error_description` (RFC 6750 §3). */
  readonly message: string
}

/**
 * The canonical URI of the MCP server a validator protects: its `resourceMetadata.resource`,
 * which must be among its accepted audiences. Throws a `TypeError` naming what is missing, once,
 * when the verifier is created.
 *
 * @example
 * ```ts
 * mcpResourceOf(createValidator({ ...options, audience: url, resourceMetadata: { resource: url } }))
 * ```
 */
export function mcpResourceOf(validator: Validator): string {
  const metadata = validator.options.resourceMetadata
  if (metadata === undefined) {
    throw new TypeError(
      'an MCP server needs the "resourceMetadata" option: its "resource" is the server\'s canonical URI (MCP authorization, RFC 9728)',
    )
  }
  if (validator.options.dpop?.required === true) {
    throw new TypeError(
      'an MCP server cannot require DPoP ("dpop.required"): the MCP SDK\'s bearer middleware hands over Bearer tokens only',
    )
  }
  const servers = metadata.document.authorization_servers
  if (!Array.isArray(servers) || servers.length === 0) {
    throw new TypeError(
      'an MCP server\'s metadata must name its authorization server (MCP authorization): set "resourceMetadata.authorizationServers"',
    )
  }
  if (!validator.options.audiences.has(metadata.resource)) {
    throw new TypeError(
      `"audience" option must include "resourceMetadata.resource" (${metadata.resource}): MCP clients ask for tokens with it as the resource indicator (RFC 8707)`,
    )
  }
  return metadata.resource
}

/**
 * The SDK's `AuthInfo` of a verified token, or a rejection when the token was issued for another
 * audience of the validator than the MCP server's canonical URI.
 *
 * @example
 * ```ts
 * const info = toMcpAuthInfo(await validator.verify(token), 'https://mcp.example.com/mcp')
 * ```
 */
export function toMcpAuthInfo(auth: AuthInfo, resource: string): McpAuthInfo | McpRejection {
  const { aud } = auth.claims
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
  if (!audiences.includes(resource)) {
    return {
      kind: 'invalid_token',
      message: sanitizeDescription(
        `the token audience (aud) is not this MCP server: request a token for the resource ${resource}`,
      ),
    }
  }
  return {
    token: auth.token,
    clientId: auth.clientId ?? '',
    scopes: [...auth.scopes],
    expiresAt: Math.floor(auth.expiresAt.getTime() / 1000),
    resource: new URL(resource),
    extra: { bearerGuard: auth },
  }
}

/**
 * What the SDK's middleware should answer for an error of `validator.verify`: a 401 becomes its
 * `invalid_token`, a 403 its `insufficient_scope`, anything else (no keys to be had, 503) its
 * `server_error`, without the cause's text. Any other error is a server error too.
 *
 * @example
 * ```ts
 * mcpRejectionOf(error) // { kind: 'invalid_token', message: 'the token has expired' }
 * ```
 */
export function mcpRejectionOf(error: unknown): McpRejection {
  if (error instanceof BearerGuardError && error.expose) {
    const kind = error.status === 403 ? 'insufficient_scope' : 'invalid_token'
    return { kind, message: sanitizeDescription(error.message) }
  }
  return { kind: 'server_error', message: 'the token cannot be verified now' }
}

/** What the SDK's bearer middleware is configured with, for a validator. */
export interface McpSettings {
  /** The MCP server's canonical URI (see {@link mcpResourceOf}). */
  readonly resource: string
  /** The RFC 9728 metadata URL its challenges name (§5.1). */
  readonly resourceMetadataUrl: string
  /** Scopes every call needs, checked as scope tokens. */
  readonly requiredScopes: string[]
}

/**
 * The settings of the SDK's bearer middleware for a validator; throws a `TypeError` when the
 * validator is not set up for MCP or a scope is not a scope token.
 *
 * @example
 * ```ts
 * mcpSettingsOf(validator, ['mcp:tools']).resourceMetadataUrl
 * ```
 */
export function mcpSettingsOf(
  validator: Validator,
  requiredScopes: readonly string[] = [],
): McpSettings {
  const resource = mcpResourceOf(validator)
  return {
    resource,
    resourceMetadataUrl: (validator.options.resourceMetadata as { url: string }).url,
    requiredScopes:
      requiredScopes.length === 0 ? [] : [...checkGuardNames('requiredScopes', requiredScopes)],
  }
}
